/**
 * Which port each transport listened on last time, so that a relaunched
 * transport (after a crash, or a restart of relayd) asks for the same port
 * and the bridge lines already handed out keep working. C tor keeps the
 * same thing in its state file (`TransportProxy obfs4 [::]:43521`,
 * statefile.c `save_transport_to_state`); relayd keeps it in
 * `DataDirectory/transport-addresses` with the same line format.
 *
 * Only used for a transport without ServerTransportListenAddr. Losing the
 * file costs a new port (and new bridge lines), never a start: read and
 * write failures are logged and otherwise ignored.
 */
import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeError, type Logger } from '@relayd/common';
import { type AddressPort, formatAddressPort, parseAddressPort } from '@relayd/ext-orport';

/** The file's name in the DataDirectory. */
export const TRANSPORT_ADDRESSES_FILE = 'transport-addresses';
/** The keyword of each line, as in tor's state file. */
const LINE_KEYWORD = 'TransportProxy';

export interface TransportAddressMemory {
  /** The port `transport` listened on last, if known. */
  recall(transport: string): number | undefined;
  /** Records where `transport` listens now. */
  remember(transport: string, address: AddressPort): void;
  /** Forgets `transport` (its port could not be had again). */
  forget(transport: string): void;
}

/** A memory that lasts as long as the process. */
export function inMemoryTransportAddresses(): TransportAddressMemory {
  const ports = new Map<string, number>();
  return {
    recall: (transport) => ports.get(transport),
    remember: (transport, address) => {
      ports.set(transport, address.port);
    },
    forget: (transport) => {
      ports.delete(transport);
    },
  };
}

/** Parses the file's text: `TransportProxy <name> <address:port>` lines; anything else is skipped. */
export function parseTransportAddresses(text: string): Map<string, AddressPort> {
  const out = new Map<string, AddressPort>();
  for (const line of text.split('\n')) {
    const [keyword, name, addressText, ...rest] = line.trim().split(/\s+/);
    if (keyword !== LINE_KEYWORD || name === undefined || addressText === undefined || rest.length > 0)
      continue;
    const address = parseAddressPort(addressText, 'transport address');
    if (address.ok && !out.has(name)) out.set(name, address.value);
  }
  return out;
}

/** Writes the file's text, one line per transport, in name order. */
export function formatTransportAddresses(addresses: ReadonlyMap<string, AddressPort>): string {
  return [...addresses.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, address]) => `${LINE_KEYWORD} ${name} ${formatAddressPort(address)}\n`)
    .join('');
}

/** `DataDirectory/transport-addresses`, replaced atomically (mode 0600) on each change. */
export class FileTransportAddressMemory implements TransportAddressMemory {
  private addresses: Map<string, AddressPort> | undefined;

  constructor(
    readonly path: string,
    private readonly logger: Logger,
  ) {}

  /** The memory kept in `dataDirectory`. */
  static inDataDirectory(dataDirectory: string, logger: Logger): FileTransportAddressMemory {
    return new FileTransportAddressMemory(join(dataDirectory, TRANSPORT_ADDRESSES_FILE), logger);
  }

  recall(transport: string): number | undefined {
    return this.load().get(transport)?.port;
  }

  remember(transport: string, address: AddressPort): void {
    const addresses = this.load();
    const known = addresses.get(transport);
    if (known && formatAddressPort(known) === formatAddressPort(address)) return;
    addresses.set(transport, address);
    this.save(addresses);
  }

  forget(transport: string): void {
    const addresses = this.load();
    if (addresses.delete(transport)) this.save(addresses);
  }

  private load(): Map<string, AddressPort> {
    if (this.addresses) return this.addresses;
    let text = '';
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.logger.warn(
          { file: this.path },
          `could not read the transport addresses: ${describeError(error)}; transports may get new ports`,
        );
      }
    }
    this.addresses = parseTransportAddresses(text);
    return this.addresses;
  }

  private save(addresses: ReadonlyMap<string, AddressPort>): void {
    const temporary = `${this.path}.tmp`;
    try {
      writeFileSync(temporary, formatTransportAddresses(addresses), { mode: 0o600 });
      chmodSync(temporary, 0o600);
      renameSync(temporary, this.path);
    } catch (error) {
      this.logger.warn(
        { file: this.path },
        `could not write the transport addresses: ${describeError(error)}; after a restart transports may get new ports`,
      );
    }
  }
}
