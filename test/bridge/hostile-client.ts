/**
 * A misbehaving client for robustness tests against a running relayd: each
 * probe opens its own connection, breaks the protocol in one way, and
 * reports what relayd did about it. Every wait is bounded.
 *
 *   garbage-tcp         random bytes instead of TLS          → connection closed
 *   garbage-tls         a circuit cell instead of VERSIONS    → connection closed
 *   garbage-open        a CERTS cell on an open channel       → channel closed
 *   truncated-create2   CREATE2 whose HLEN overruns the cell  → DESTROY(PROTOCOL)
 *   truncated-eof       half a cell, then end of stream       → connection closed
 *   unknown-commands    unknown fixed and variable commands   → ignored; CREATE_FAST still answered
 *   bad-ntor            CREATE2 ntor for an onion key relayd does not have → DESTROY(PROTOCOL)
 *   unknown-htype       CREATE2 with handshake type 0x0005    → DESTROY(PROTOCOL)
 *   extend-nowhere      EXTEND2 to a port where nothing listens → DESTROY(CHANNEL_CLOSED)
 *   extend-wrong-id     EXTEND2 to a real relay under another identity → DESTROY(CHANNEL_CLOSED)
 */
import { type Socket, connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import {
  ChannelCommand,
  encodeChannelMessageCell,
  HandshakeType,
  type Ipv4Address,
  parseIpAddress,
} from '@relayd/cells';
import { secureRandom } from '@relayd/crypto';
import { ntorClientCreate } from '@relayd/handshakes';
import { linkClientTlsOptions } from '@relayd/net';
import { LinkClient, type RelayTarget } from '../support/link-client.js';

/** What relayd did. */
export type ProbeOutcome =
  | { readonly kind: 'closed'; readonly afterMs: number }
  | { readonly kind: 'destroy'; readonly reason: number }
  | { readonly kind: 'answered' }
  | { readonly kind: 'open' }
  | { readonly kind: 'error'; readonly message: string };

const WAIT_MS = 10_000;

function waitForClose(socket: Socket, timeoutMs: number): Promise<ProbeOutcome> {
  const started = Date.now();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ kind: 'open' });
    }, timeoutMs);
    socket.on('error', () => {});
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ kind: 'closed', afterMs: Date.now() - started });
    });
  });
}

async function guard(probe: () => Promise<ProbeOutcome>): Promise<ProbeOutcome> {
  try {
    return await probe();
  } catch (error) {
    return { kind: 'error', message: error instanceof Error ? error.message : String(error) };
  }
}

async function closedWithin(client: LinkClient, timeoutMs: number): Promise<ProbeOutcome> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const result = await Promise.race([
    client.closed.then(() => 'closed' as const),
    new Promise<'open'>((resolve) => {
      timer = setTimeout(() => resolve('open'), timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  if (result === 'open') client.close();
  return result === 'closed' ? { kind: 'closed', afterMs: Date.now() - started } : { kind: 'open' };
}

async function destroyReason(client: LinkClient, circId: number): Promise<ProbeOutcome> {
  const cell = await client.waitForCircuitCell(
    circId,
    [ChannelCommand.DESTROY, ChannelCommand.CREATED2, ChannelCommand.CREATED_FAST],
    WAIT_MS,
  );
  return cell.command === ChannelCommand.DESTROY
    ? { kind: 'destroy', reason: cell.body[0]! }
    : { kind: 'answered' };
}

export interface HostileTargets {
  readonly relayd: RelayTarget;
  /** A loopback port where nothing listens. */
  readonly deadPort: number;
  /** A real relay's address and port (for an EXTEND2 under a wrong identity). */
  readonly realRelay: { readonly address: string; readonly port: number };
}

export async function runHostileProbes(targets: HostileTargets): Promise<Record<string, ProbeOutcome>> {
  const { relayd } = targets;
  const probes: Record<string, () => Promise<ProbeOutcome>> = {
    'garbage-tcp': async () => {
      const socket = tcpConnect(relayd.port, relayd.address);
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
      socket.write(secureRandom.bytes(600));
      return waitForClose(socket, WAIT_MS);
    },
    'garbage-tls': async () => {
      const socket = tlsConnect({ host: relayd.address, port: relayd.port, ...linkClientTlsOptions() });
      await new Promise<void>((resolve, reject) => {
        socket.once('secureConnect', resolve);
        socket.once('error', reject);
      });
      // A fixed-size RELAY cell (2-byte circuit ID while negotiating) where VERSIONS must come first.
      const cell = secureRandom.bytes(512);
      cell[2] = ChannelCommand.RELAY;
      socket.write(cell);
      return waitForClose(socket, WAIT_MS);
    },
    'garbage-open': async () => {
      const client = await LinkClient.open(relayd);
      client.sendRawCell(0, ChannelCommand.CERTS, secureRandom.bytes(100));
      return closedWithin(client, WAIT_MS);
    },
    'truncated-create2': async () => {
      const client = await LinkClient.open(relayd);
      try {
        const circId = client.freshCircId();
        const body = new Uint8Array(509);
        body.set([0x00, HandshakeType.NTOR, 0x02, 0x00]); // HLEN 512: more than the cell can hold
        body.set(secureRandom.bytes(505), 4);
        client.sendRawCell(circId, ChannelCommand.CREATE2, body);
        return await destroyReason(client, circId);
      } finally {
        client.close();
      }
    },
    'truncated-eof': async () => {
      const client = await LinkClient.open(relayd);
      const cell = encodeChannelMessageCell(
        client.freshCircId(),
        { type: 'create-fast', keyMaterial: secureRandom.bytes(20) },
        client.linkVersion,
      );
      client.sendBytes(cell.subarray(0, 100));
      client.close();
      return closedWithin(client, WAIT_MS);
    },
    'unknown-commands': async () => {
      const client = await LinkClient.open(relayd);
      try {
        client.sendRawCell(client.freshCircId(), 50, secureRandom.bytes(509));
        client.sendRawCell(0, 200, secureRandom.bytes(64));
        await client.createFast(WAIT_MS);
        return client.isClosed ? { kind: 'closed', afterMs: 0 } : { kind: 'answered' };
      } finally {
        client.close();
      }
    },
    'bad-ntor': async () => {
      const client = await LinkClient.open(relayd);
      try {
        const circId = client.freshCircId();
        const start = ntorClientCreate(
          { rsaIdentityDigest: relayd.rsaIdentity, ntorOnionKey: secureRandom.bytes(32) },
          secureRandom,
        );
        client.sendCell(circId, {
          type: 'create2',
          handshakeType: HandshakeType.NTOR,
          handshakeData: start.onionskin,
        });
        return await destroyReason(client, circId);
      } finally {
        client.close();
      }
    },
    'unknown-htype': async () => {
      const client = await LinkClient.open(relayd);
      try {
        const circId = client.freshCircId();
        client.sendCell(circId, {
          type: 'create2',
          handshakeType: 0x0005,
          handshakeData: secureRandom.bytes(84),
        });
        return await destroyReason(client, circId);
      } finally {
        client.close();
      }
    },
    'extend-nowhere': () => extendProbe(relayd, '127.0.0.1', targets.deadPort, secureRandom.bytes(20)),
    'extend-wrong-id': () =>
      extendProbe(relayd, targets.realRelay.address, targets.realRelay.port, secureRandom.bytes(20)),
  };
  const names = Object.keys(probes);
  const outcomes = await Promise.all(names.map((name) => guard(probes[name]!)));
  return Object.fromEntries(names.map((name, i) => [name, outcomes[i]!]));
}

/** A CREATE_FAST circuit, then EXTEND2 (in RELAY_EARLY) to `address:port` named by `rsaIdentity`. */
async function extendProbe(
  relayd: RelayTarget,
  address: string,
  port: number,
  rsaIdentity: Uint8Array,
): Promise<ProbeOutcome> {
  const client = await LinkClient.open(relayd);
  try {
    const circuit = await client.createFast(WAIT_MS);
    client.sendRelay(
      circuit,
      0,
      {
        type: 'extend2',
        linkSpecifiers: [
          { kind: 'ipv4', address: parseIpAddress(address) as Ipv4Address, port },
          { kind: 'legacy-id', rsaIdentity },
        ],
        handshakeType: HandshakeType.NTOR,
        handshakeData: secureRandom.bytes(84),
      },
      true,
    );
    // The circuit's CREATED_FAST is already in; only a DESTROY (or nothing) may follow.
    const cell = await client.waitForCircuitCell(circuit.circId, [ChannelCommand.DESTROY], WAIT_MS);
    return { kind: 'destroy', reason: cell.body[0]! };
  } finally {
    client.close();
  }
}
