/**
 * The certificate logic of @relayd/certs against a real C tor (Debian tor
 * 0.4.9.x, /usr/bin/tor) over a real TLS link on loopback:
 * - the CERTS cell tor sends as responder verifies with checkResponderCerts,
 *   against the TLS certificate tor presented, to the identities tor wrote
 *   in its DataDirectory;
 * - tor accepts the initiator CERTS cell and the AUTH0003 AUTHENTICATE cell
 *   relayd builds (X.509 identity certificate, Ed25519 chain, RSA->Ed25519
 *   cross-certificate, RFC 5705 exporter with CID as context).
 *
 * tor's one directory authority is a fake one at 127.0.0.1:9, so it never
 * contacts the public network. The tor process is stopped by its PID, also
 * when a test fails.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, type TLSSocket } from 'node:tls';
import {
  AUTH0003_EXPORTER_LABEL,
  AUTH0003_EXPORTER_LENGTH,
  auth0003ExporterContext,
  type CertsCellEntry,
  checkResponderCerts,
  createEd25519Authenticator,
  createEd25519Cert,
  createRsaEd25519Crosscert,
  Ed25519CertType,
  expirationHoursAfter,
  initiatorCertsEntries,
  LinkAuthMethod,
  selectLinkAuthMethod,
} from '@relayd/certs';
import { fromBase64, toHex } from '@relayd/common';
import { createRelayTlsCertificates, Ed25519SigningKey, RsaPrivateKey, sha256 } from '@relayd/crypto';
import { LoopbackAllocator, ProcessRegistry, type StandaloneTor, startStandaloneTor } from '@relayd/testnet';

const NICKNAME = 'relaydCertsInterop';
const START_TIMEOUT_MS = 60_000;
const IO_TIMEOUT_MS = 15_000;

const CMD_VERSIONS = 7;
const CMD_NETINFO = 8;
const CMD_CERTS = 129;
const CMD_AUTH_CHALLENGE = 130;
const CMD_AUTHENTICATE = 131;
const PAYLOAD_LEN = 509;

const root = mkdtempSync(join(tmpdir(), 'relayd-certs-interop-'));
const registry = new ProcessRegistry();
let tor: StandaloneTor | undefined;
let orPort = 0;
const dataDir = join(root, 'data');

before(async () => {
  orPort = await new LoopbackAllocator().allocatePort('127.0.0.1');
  mkdirSync(dataDir, { mode: 0o700 });
  tor = startStandaloneTor({
    registry,
    dir: root,
    torrcLines: [
      `DataDirectory ${dataDir}`,
      'BridgeRelay 1',
      `ORPort 127.0.0.1:${orPort}`,
      'SocksPort 0',
      'PublishServerDescriptor 0',
      `Nickname ${NICKNAME}`,
      'AssumeReachable 1',
      'ProtocolWarnings 1',
      // The AUTHENTICATE verdict is logged in the handshake domain at debug level.
      'Log [handshake]debug [*]notice stdout',
    ],
  });
  await tor.waitForLog(/Opened OR listener connection \(ready\)/, START_TIMEOUT_MS, 'an open ORPort');
});

after(async () => {
  await registry.stopAll();
  rmSync(root, { recursive: true, force: true });
});

/** Reads cells off a link: the first VERSIONS with a 2-byte circuit ID, then 4-byte IDs (link protocol 4+). */
class CellReader {
  private buffered = new Uint8Array(0);
  private waiters: (() => void)[] = [];
  private versionsDone = false;
  private closed = false;

  constructor(socket: TLSSocket) {
    socket.on('data', (chunk: Buffer) => {
      const next = new Uint8Array(this.buffered.length + chunk.length);
      next.set(this.buffered, 0);
      next.set(chunk, this.buffered.length);
      this.buffered = next;
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Resolves with the next cell's command, payload and exact wire bytes. */
  async next(): Promise<{ command: number; payload: Uint8Array; wire: Uint8Array }> {
    const deadline = Date.now() + IO_TIMEOUT_MS;
    for (;;) {
      const cell = this.tryTake();
      if (cell) return cell;
      if (this.closed) throw new Error('link closed');
      if (Date.now() > deadline) throw new Error('timed out waiting for a cell');
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }

  private tryTake(): { command: number; payload: Uint8Array; wire: Uint8Array } | undefined {
    const idLength = this.versionsDone ? 4 : 2;
    const b = this.buffered;
    if (b.length < idLength + 1) return undefined;
    const command = b[idLength]!;
    let headerLength: number;
    let payloadLength: number;
    if (command === CMD_VERSIONS || command >= 128) {
      if (b.length < idLength + 3) return undefined;
      headerLength = idLength + 3;
      payloadLength = (b[idLength + 1]! << 8) | b[idLength + 2]!;
    } else {
      headerLength = idLength + 1;
      payloadLength = PAYLOAD_LEN;
    }
    if (b.length < headerLength + payloadLength) return undefined;
    const wire = b.slice(0, headerLength + payloadLength);
    this.buffered = b.slice(wire.length);
    if (command === CMD_VERSIONS) this.versionsDone = true;
    return { command, payload: wire.subarray(headerLength), wire };
  }
}

function varCell(command: number, payload: Uint8Array, idLength: 2 | 4): Uint8Array {
  const out = new Uint8Array(idLength + 3 + payload.length);
  out[idLength] = command;
  out[idLength + 1] = payload.length >> 8;
  out[idLength + 2] = payload.length & 0xff;
  out.set(payload, idLength + 3);
  return out;
}

function certsPayload(entries: readonly CertsCellEntry[]): Uint8Array {
  const parts: number[] = [entries.length];
  for (const e of entries) parts.push(e.certType, e.body.length >> 8, e.body.length & 0xff, ...e.body);
  return Uint8Array.from(parts);
}

function parseCertsPayload(payload: Uint8Array): CertsCellEntry[] {
  const out: CertsCellEntry[] = [];
  let at = 1;
  for (let i = 0; i < payload[0]!; i++) {
    const certType = payload[at]!;
    const length = (payload[at + 1]! << 8) | payload[at + 2]!;
    out.push({ certType, body: payload.slice(at + 3, at + 3 + length) });
    at += 3 + length;
  }
  return out;
}

async function openLink(): Promise<{ socket: TLSSocket; reader: CellReader }> {
  const socket = connect({ host: '127.0.0.1', port: orPort, rejectUnauthorized: false });
  const reader = new CellReader(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', () => resolve());
    socket.once('error', reject);
  });
  return { socket, reader };
}

/** Sends VERSIONS (3, 4, 5) and reads the responder's cells through NETINFO. */
async function handshakeAsInitiator(socket: TLSSocket, reader: CellReader) {
  const versions = varCell(CMD_VERSIONS, Uint8Array.of(0, 3, 0, 4, 0, 5), 2);
  socket.write(versions);
  const received: { command: number; payload: Uint8Array; wire: Uint8Array }[] = [];
  for (;;) {
    const cell = await reader.next();
    received.push(cell);
    if (cell.command === CMD_NETINFO) break;
  }
  return { sentVersions: versions, received };
}

function torFileValue(name: string): string {
  return readFileSync(join(dataDir, name), 'latin1').trim().split(' ')[1]!;
}

describe('@relayd/certs against C tor', { timeout: 120_000 }, () => {
  it("verifies tor's responder CERTS cell against its TLS certificate", async () => {
    const { socket, reader } = await openLink();
    try {
      const peerCertificate = new Uint8Array(socket.getPeerCertificate(true).raw);
      const { received } = await handshakeAsInitiator(socket, reader);
      const certs = received.find((c) => c.command === CMD_CERTS);
      assert.ok(certs, 'tor sent a CERTS cell');
      const entries = parseCertsPayload(certs.payload);
      assert.deepEqual(
        entries.map((e) => e.certType),
        [1, 2, 4, 5, 7],
      );
      const verified = checkResponderCerts(entries, peerCertificate, Date.now());
      assert.ok(verified.ok, verified.ok ? '' : verified.error.message);
      assert.equal(toHex(verified.value.rsaIdentity).toUpperCase(), torFileValue('fingerprint'));
      const edFile = fromBase64(torFileValue('fingerprint-ed25519'));
      assert.deepEqual(verified.value.ed25519Identity, edFile);
      // A different TLS certificate does not pass.
      const other = createRelayTlsCertificates({
        identityKey: RsaPrivateKey.generate(1024),
        nowMs: Date.now(),
      });
      const wrong = checkResponderCerts(entries, other.linkCertificate, Date.now());
      assert.ok(!wrong.ok && wrong.error.code === 'KEY_MISMATCH');

      const challenge = received.find((c) => c.command === CMD_AUTH_CHALLENGE);
      assert.ok(challenge, 'tor sent an AUTH_CHALLENGE cell');
      const n = (challenge.payload[32]! << 8) | challenge.payload[33]!;
      const methods = Array.from(
        { length: n },
        (_, i) => (challenge.payload[34 + 2 * i]! << 8) | challenge.payload[35 + 2 * i]!,
      );
      assert.equal(selectLinkAuthMethod(methods), LinkAuthMethod.ED25519_SHA256_RFC5705);
    } finally {
      socket.destroy();
    }
  });

  it('authenticates to tor as an initiator with CERTS + AUTH0003 AUTHENTICATE', async () => {
    const nowMs = Date.now();
    const rsaIdentity = RsaPrivateKey.generate(1024);
    const edIdentity = Ed25519SigningKey.generate();
    const edSigning = Ed25519SigningKey.generate();
    const edAuth = Ed25519SigningKey.generate();
    const x509 = createRelayTlsCertificates({
      identityKey: rsaIdentity,
      nowMs,
      linkKey: RsaPrivateKey.generate(1024),
    });
    const ours = initiatorCertsEntries({
      rsaAuthenticateCertificate: x509.linkCertificate,
      rsaIdentityCertificate: x509.identityCertificate,
      signingKeyCertificate: createEd25519Cert({
        certType: Ed25519CertType.IDENTITY_V_SIGNING,
        certifiedKey: edSigning.publicKey,
        expirationHours: expirationHoursAfter(nowMs, 30 * 86400),
        signer: edIdentity,
        includeSigningKey: true,
      }),
      authenticateKeyCertificate: createEd25519Cert({
        certType: Ed25519CertType.SIGNING_V_LINK_AUTH,
        certifiedKey: edAuth.publicKey,
        expirationHours: expirationHoursAfter(nowMs, 2 * 86400),
        signer: edSigning,
        includeSigningKey: false,
      }),
      rsaEd25519Crosscert: createRsaEd25519Crosscert({
        ed25519Identity: edIdentity.publicKey,
        expirationHours: expirationHoursAfter(nowMs, 365 * 86400),
        rsaIdentity,
      }),
    });

    const { socket, reader } = await openLink();
    try {
      const peerCertificate = new Uint8Array(socket.getPeerCertificate(true).raw);
      const { sentVersions, received } = await handshakeAsInitiator(socket, reader);
      const certs = received.find((c) => c.command === CMD_CERTS)!;
      const responder = checkResponderCerts(parseCertsPayload(certs.payload), peerCertificate, nowMs);
      assert.ok(responder.ok);

      // SLOG: every byte tor sent through its AUTH_CHALLENGE; CLOG: our VERSIONS and CERTS.
      const upToChallenge = received.slice(
        0,
        received.findIndex((c) => c.command === CMD_AUTH_CHALLENGE) + 1,
      );
      const ourCerts = varCell(CMD_CERTS, certsPayload(ours), 4);
      const exporter = new Uint8Array(
        socket.exportKeyingMaterial(
          AUTH0003_EXPORTER_LENGTH,
          AUTH0003_EXPORTER_LABEL,
          Buffer.from(auth0003ExporterContext(rsaIdentity.publicKey)),
        ),
      );
      const authentication = createEd25519Authenticator({
        responderLogDigest: sha256(...upToChallenge.map((c) => c.wire)),
        initiatorLogDigest: sha256(sentVersions, ourCerts),
        responderTlsCertificateDigest: sha256(peerCertificate),
        tlsExporterOutput: exporter,
        initiatorRsaIdentity: rsaIdentity.publicKey,
        responderRsaIdentity: responder.value.rsaIdentityKey,
        initiatorEd25519Identity: edIdentity.publicKey,
        responderEd25519Identity: responder.value.ed25519Identity,
        nonce: new Uint8Array(24).fill(7),
        authenticationKey: edAuth,
      });
      const authPayload = new Uint8Array(4 + authentication.length);
      authPayload.set([
        0,
        LinkAuthMethod.ED25519_SHA256_RFC5705,
        authentication.length >> 8,
        authentication.length & 0xff,
      ]);
      authPayload.set(authentication, 4);
      socket.write(ourCerts);
      socket.write(varCell(CMD_AUTHENTICATE, authPayload, 4));

      await tor!.waitForLog(
        /Got an AUTHENTICATE cell on .*type 3: Looks good|Received a bad (CERTS|AUTHENTICATE) cell/,
        IO_TIMEOUT_MS,
        'its AUTHENTICATE verdict',
      );
      const log = tor!.output;
      assert.ok(!/Received a bad (CERTS|AUTHENTICATE) cell/.test(log), log);
      assert.match(log, /Got an AUTHENTICATE cell on .*type 3: Looks good/);
    } finally {
      socket.destroy();
    }
  });
});
