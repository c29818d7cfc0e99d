/**
 * Interop with a real pluggable transport: Debian's obfs4proxy, run as a
 * managed server transport (pt-spec 3.2.3) pointed at a small Extended
 * ORPort listener built from @relayd/ext-orport's ExtOrServer, and a second
 * obfs4proxy as the managed client transport, reached over SOCKS5 with the
 * server's cert as per-connection arguments (pt-spec 3.5).
 *
 *   test SOCKS5 client -> obfs4proxy (client) =obfs4=> obfs4proxy (server)
 *       -> ExtORPort (SAFE_COOKIE, USERADDR, TRANSPORT, DONE/OKAY) -> test link echo
 *
 * Everything listens on 127.0.0.1; each wait is bounded; both obfs4proxy
 * processes are stopped by PID (stdin closed first) even when a test fails.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { concatBytes } from '@relayd/common';
import { secureRandom } from '@relayd/crypto';
import {
  type AddressPort,
  createCookieFile,
  type ExtOrMetadata,
  ExtOrServer,
  type ExtOrServerPhase,
  encodeSocksArgs,
  findPtArg,
  type PtMessage,
  parseAddressPort,
  ptClientEnvironment,
  ptServerEnvironment,
  socks5CredentialsForArgs,
} from '@relayd/ext-orport';
import { ManagedPt } from './managed-pt.js';

const WAIT_MS = 15_000;

type Mode = 'okay' | 'deny' | 'wrong-cookie';

/** What the Extended ORPort listener saw on one connection. */
interface ExtOrConnection {
  readonly mode: Mode;
  /** The machine's phase after each receive, in order. */
  readonly phases: ExtOrServerPhase[];
  metadata: ExtOrMetadata | undefined;
  /** Link bytes after DONE (leftover first), as received. */
  link: Uint8Array;
  closed: boolean;
  /** The phase the machine was in when the socket closed. */
  closedInPhase: ExtOrServerPhase | undefined;
}

function loopback(port: number): AddressPort {
  const parsed = parseAddressPort(`127.0.0.1:${port}`, 'loopback', { allowZeroPort: true });
  if (!parsed.ok) throw parsed.error;
  return parsed.value;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (typeof address === 'object' && address) resolve(address.port);
      else reject(new Error('no port'));
    });
  });
}

async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => T | undefined,
  context = () => '',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`no ${what} within ${timeoutMs} ms\n${context()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Bytes from a socket, read in exact amounts with a deadline. */
class SocketReader {
  private buffered: Uint8Array = new Uint8Array(0);
  ended = false;

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = concatBytes(this.buffered, new Uint8Array(chunk));
    });
    socket.on('close', () => {
      this.ended = true;
    });
    socket.on('error', () => {
      this.ended = true;
    });
  }

  get available(): number {
    return this.buffered.length;
  }

  async read(n: number, what: string, timeoutMs = WAIT_MS): Promise<Uint8Array> {
    await waitFor(what, timeoutMs, () => {
      if (this.buffered.length >= n) return true;
      if (this.ended)
        assert.fail(`connection closed while reading ${what} (${this.buffered.length}/${n} bytes)`);
      return undefined;
    });
    const out = this.buffered.slice(0, n);
    this.buffered = this.buffered.slice(n);
    return out;
  }
}

function xorFF(bytes: Uint8Array): Uint8Array {
  return bytes.map((b) => b ^ 0xff);
}

describe('obfs4proxy (Debian, real) against the ExtORPort server state machine', { timeout: 120_000 }, () => {
  let root = '';
  let cookie: Uint8Array = new Uint8Array(0);
  let nextMode: Mode = 'okay';
  const connections: ExtOrConnection[] = [];
  let extOrListener: Server | undefined;
  let orPortTrap: Server | undefined;
  let orPortTrapConnections = 0;
  let serverPt: ManagedPt | undefined;
  let clientPt: ManagedPt | undefined;
  let serverMethods: PtMessage[] = [];
  let obfs4Address: AddressPort | undefined;
  let cert = '';
  let iatMode = '';
  let socksPort = 0;
  const openSockets = new Set<Socket>();

  const diagnostics = () =>
    `connections: ${JSON.stringify(connections.map((c) => ({ ...c, link: c.link.length })))}\n${serverPt?.diagnostics() ?? ''}\n${clientPt?.diagnostics() ?? ''}`;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'relayd-obfs4-'));
    // The cookie file as the supervisor will write it: fresh per start, mode 0600.
    const created = createCookieFile(secureRandom);
    cookie = created.cookie;
    const cookiePath = join(root, 'extended_orport_auth_cookie');
    writeFileSync(cookiePath, created.fileBytes, { mode: 0o600 });
    assert.equal(statSync(cookiePath).mode & 0o777, 0o600);

    extOrListener = createServer((socket) => {
      openSockets.add(socket);
      socket.on('close', () => openSockets.delete(socket));
      socket.on('error', () => {});
      const mode = nextMode;
      const record: ExtOrConnection = {
        mode,
        phases: [],
        metadata: undefined,
        link: new Uint8Array(0),
        closed: false,
        closedInPhase: undefined,
      };
      connections.push(record);
      const machine = new ExtOrServer({
        // 'wrong-cookie' plays a server that does not hold the transport's cookie.
        cookie: mode === 'wrong-cookie' ? secureRandom.bytes(32) : cookie,
        random: secureRandom,
        admit: () => (mode === 'deny' ? 'deny' : 'okay'),
      });
      let linked = false;
      socket.on('close', () => {
        record.closed = true;
        record.closedInPhase = machine.phase;
      });
      socket.write(machine.start());
      socket.on('data', (chunk: Buffer) => {
        const bytes = new Uint8Array(chunk);
        if (linked) {
          // The Tor link: keep what arrives and answer each chunk with its complement.
          record.link = concatBytes(record.link, bytes);
          socket.write(xorFF(bytes));
          return;
        }
        const step = machine.receive(bytes);
        record.phases.push(machine.phase);
        if (step.status === 'running') {
          if (step.output.length > 0) socket.write(step.output);
        } else if (step.status === 'accepted') {
          record.metadata = step.outcome;
          linked = true;
          socket.write(step.output);
          if (step.outcome.leftover.length > 0) {
            record.link = step.outcome.leftover;
            socket.write(xorFF(step.outcome.leftover));
          }
        } else if (step.status === 'denied') {
          record.metadata = step.metadata;
          socket.end(step.output);
        } else {
          socket.end(step.output);
        }
      });
    });
    const extOrPort = await listen(extOrListener);

    // TOR_PT_ORPORT, as C tor sets it: a transport that speaks ExtORPort must never use it.
    orPortTrap = createServer((socket) => {
      orPortTrapConnections++;
      socket.destroy();
    });
    const orPort = await listen(orPortTrap);

    serverPt = new ManagedPt(
      'obfs4proxy server',
      join(root, 'server-state'),
      ptServerEnvironment({
        stateLocation: join(root, 'server-state'),
        transports: ['obfs4'],
        // Port 0: obfs4proxy binds a free port and reports it in SMETHOD.
        bindAddresses: [{ transport: 'obfs4', address: loopback(0) }],
        orPort: loopback(orPort),
        extendedServerPort: { address: loopback(extOrPort), authCookieFile: cookiePath },
      }),
    );
    serverMethods = await serverPt.waitForMethods('smethods-done', WAIT_MS);
    const smethod = serverMethods.find((m) => m.type === 'smethod');
    assert.ok(smethod && smethod.type === 'smethod', `no SMETHOD\n${serverPt.diagnostics()}`);
    assert.equal(smethod.transport, 'obfs4');
    obfs4Address = smethod.address;
    cert = findPtArg(smethod.args, 'cert') ?? '';
    iatMode = findPtArg(smethod.args, 'iat-mode') ?? '';

    clientPt = new ManagedPt(
      'obfs4proxy client',
      join(root, 'client-state'),
      ptClientEnvironment({ stateLocation: join(root, 'client-state'), transports: ['obfs4'] }),
    );
    const clientMethods = await clientPt.waitForMethods('cmethods-done', WAIT_MS);
    const cmethod = clientMethods.find((m) => m.type === 'cmethod');
    assert.ok(cmethod && cmethod.type === 'cmethod', `no CMETHOD\n${clientPt.diagnostics()}`);
    assert.equal(cmethod.transport, 'obfs4');
    assert.equal(cmethod.socksVersion, 'socks5');
    assert.equal(cmethod.address.address, '127.0.0.1');
    socksPort = cmethod.address.port;
  });

  after(async () => {
    for (const socket of openSockets) socket.destroy();
    const exits = await Promise.all([clientPt?.stop(), serverPt?.stop()]);
    await Promise.all(
      [extOrListener, orPortTrap].map(
        (s) => new Promise<void>((resolve) => (s ? s.close(() => resolve()) : resolve())),
      ),
    );
    if (root) rmSync(root, { recursive: true, force: true });
    // Managed PTs exit cleanly when stdin closes (TOR_PT_EXIT_ON_STDIN_CLOSE=1).
    assert.deepEqual(exits, [0, 0]);
  });

  /** Opens a SOCKS5 connection through the obfs4 client to the obfs4 server, authenticating with the obfs4 args. */
  async function connectThroughObfs4(): Promise<SocketReader> {
    const socket = createConnection({ host: '127.0.0.1', port: socksPort });
    openSockets.add(socket);
    socket.on('close', () => openSockets.delete(socket));
    const reader = new SocketReader(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    // RFC 1928: version 5, one method, 0x02 username/password (pt-spec 3.5).
    socket.write(Uint8Array.of(5, 1, 2));
    assert.deepEqual([...(await reader.read(2, 'SOCKS method choice'))], [5, 2]);
    const credentials = socks5CredentialsForArgs(
      encodeSocksArgs([
        { key: 'cert', value: cert },
        { key: 'iat-mode', value: iatMode },
      ]),
    );
    assert.ok(credentials);
    // RFC 1929 sub-negotiation.
    socket.write(
      concatBytes(
        Uint8Array.of(1, credentials.username.length),
        credentials.username,
        Uint8Array.of(credentials.password.length),
        credentials.password,
      ),
    );
    assert.deepEqual([...(await reader.read(2, 'SOCKS auth status'))], [1, 0]);
    const target = obfs4Address!;
    socket.write(Uint8Array.of(5, 1, 0, 1, ...target.bytes, target.port >>> 8, target.port & 0xff));
    const reply = await reader.read(10, 'SOCKS CONNECT reply');
    assert.equal(reply[1], 0, `SOCKS CONNECT failed with reply ${reply[1]}\n${diagnostics()}`);
    return reader;
  }

  it('SMETHOD carries the cert and iat-mode a Bridge line needs', () => {
    assert.equal(obfs4Address?.address, '127.0.0.1');
    assert.ok((obfs4Address?.port ?? 0) > 0);
    // obfs4 cert: 52 bytes (node ID + public key), base64 without padding.
    assert.match(cert, /^[A-Za-z0-9+/]{70}$/);
    assert.equal(iatMode, '0');
    assert.equal(serverMethods[0]?.type, 'version');
  });

  it('authenticates with SAFE_COOKIE, receives USERADDR 127.0.0.1 and TRANSPORT obfs4, answers OKAY, and relays bytes both ways', async () => {
    nextMode = 'okay';
    const before = connections.length;
    const reader = await connectThroughObfs4();
    const payload = secureRandom.bytes(48 * 1024);
    reader.socket.write(payload);
    const echoed = await reader.read(payload.length, 'bytes back through obfs4');
    assert.deepEqual(echoed, xorFF(payload));

    const record = await waitFor('an ExtORPort connection', WAIT_MS, () => connections[before], diagnostics);
    assert.equal(connections.length, before + 1);
    // The machine only reaches 'metadata' after a right ClientHash, and 'accepted' after DONE.
    assert.ok(record.phases.includes('client-hash'), `phases ${record.phases}`);
    assert.equal(record.phases.at(-1), 'accepted');
    assert.equal(record.metadata?.clientAddress?.family, 'ipv4');
    assert.equal(record.metadata?.clientAddress?.address, '127.0.0.1');
    assert.ok((record.metadata?.clientAddress?.port ?? 0) > 0);
    assert.equal(record.metadata?.transportName, 'obfs4');
    assert.equal(record.metadata?.ignoredCommands, 0);
    assert.deepEqual(record.link, payload);
    reader.socket.destroy();
  });

  it('DENY: obfs4proxy drops the client without relaying anything', async () => {
    nextMode = 'deny';
    const before = connections.length;
    const reader = await connectThroughObfs4();
    reader.socket.write(secureRandom.bytes(100));
    const record = await waitFor('an ExtORPort connection', WAIT_MS, () => connections[before], diagnostics);
    await waitFor(
      'the denied ExtORPort connection to close',
      WAIT_MS,
      () => (record.closed ? true : undefined),
      diagnostics,
    );
    assert.equal(record.phases.at(-1), 'denied');
    assert.equal(record.metadata?.transportName, 'obfs4');
    assert.equal(record.link.length, 0);
    await waitFor(
      'obfs4proxy to close the client connection',
      WAIT_MS,
      () => (reader.ended ? true : undefined),
      diagnostics,
    );
    assert.equal(reader.available, 0);
  });

  it('obfs4proxy refuses an ExtORPort that does not hold its cookie (ServerHash check) and never proves itself', async () => {
    nextMode = 'wrong-cookie';
    const before = connections.length;
    const reader = await connectThroughObfs4();
    reader.socket.write(secureRandom.bytes(100));
    const record = await waitFor('an ExtORPort connection', WAIT_MS, () => connections[before], diagnostics);
    await waitFor('obfs4proxy to hang up', WAIT_MS, () => (record.closed ? true : undefined), diagnostics);
    // It sent AuthType and ClientNonce, got our (wrong) ServerHash, and left without a ClientHash.
    assert.equal(record.closedInPhase, 'client-hash');
    assert.equal(record.metadata, undefined);
    await waitFor(
      'obfs4proxy to close the client connection',
      WAIT_MS,
      () => (reader.ended ? true : undefined),
      diagnostics,
    );
    assert.equal(reader.available, 0);
  });

  it('never used TOR_PT_ORPORT', () => {
    assert.equal(orPortTrapConnections, 0);
  });
});
