/**
 * The kinds of node a test talks to, beyond what every TorNode has: relays
 * (authorities, middles, exits) with their identities, the bridge with its
 * bridge line, and the client with its SocksPort and downloads.
 */

import type { ManagedProcess } from './process-registry.js';
import { type DownloadResult, downloadViaSocks5 } from './socks5-client.js';
import { type NodeLayout, TorNode, type TorRole } from './tor-node.js';

/** A relay of the network: authority, middle or exit. */
export class RelayNode extends TorNode {
  readonly orPort: number;
  /** Upper-case hex RSA identity fingerprint. */
  readonly fingerprint: string;

  constructor(
    role: TorRole,
    address: string,
    layout: NodeLayout,
    process: ManagedProcess,
    orPort: number,
    fingerprint: string,
  ) {
    super(role, address, layout, process);
    this.orPort = orPort;
    this.fingerprint = fingerprint;
  }
}

export class AuthorityNode extends RelayNode {
  readonly dirPort: number;
  /** Upper-case hex v3 identity (the `v3ident=` of its DirAuthority line). */
  readonly v3Identity: string;
  /** Its full `DirAuthority ...` torrc line. */
  readonly dirAuthorityLine: string;

  constructor(
    address: string,
    layout: NodeLayout,
    process: ManagedProcess,
    ids: {
      readonly orPort: number;
      readonly dirPort: number;
      readonly fingerprint: string;
      readonly v3Identity: string;
      readonly dirAuthorityLine: string;
    },
  ) {
    super('authority', address, layout, process, ids.orPort, ids.fingerprint);
    this.dirPort = ids.dirPort;
    this.v3Identity = ids.v3Identity;
    this.dirAuthorityLine = ids.dirAuthorityLine;
  }
}

export class BridgeNode extends RelayNode {
  /** `Bridge <address>:<orPort> <FINGERPRINT>`, ready for a client's torrc. */
  readonly bridgeLine: string;

  constructor(
    address: string,
    layout: NodeLayout,
    process: ManagedProcess,
    orPort: number,
    fingerprint: string,
    bridgeLine: string,
  ) {
    super('bridge', address, layout, process, orPort, fingerprint);
    this.bridgeLine = bridgeLine;
  }
}

export class ClientNode extends TorNode {
  readonly socksPort: number;
  /** The Bridge lines it was started with. */
  readonly bridgeLines: readonly string[];
  private readonly defaultUrl: string;

  constructor(
    address: string,
    layout: NodeLayout,
    process: ManagedProcess,
    socksPort: number,
    bridgeLines: readonly string[],
    defaultUrl: string,
  ) {
    super('client', address, layout, process);
    this.socksPort = socksPort;
    this.bridgeLines = bridgeLines;
    this.defaultUrl = defaultUrl;
  }

  /**
   * Fetches `url` (default: the network's payload) through this client's
   * SocksPort; resolves with the body and its SHA-256. Bounded by `timeoutMs`.
   */
  download(url: string = this.defaultUrl, timeoutMs = 60_000): Promise<DownloadResult> {
    return downloadViaSocks5({ host: this.address, port: this.socksPort }, url, timeoutMs);
  }
}
