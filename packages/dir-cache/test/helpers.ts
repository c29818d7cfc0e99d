/**
 * Test support: netdoc's real fixtures (documents fetched from a private
 * network of tor 0.4.9.11 authorities, and tor-gencert authority keys),
 * consensuses signed with those keys around synthetic microdescriptors, a
 * fake clock and scheduler, deterministic randomness, and HTTP helpers.
 */
import { readFileSync } from 'node:fs';
import { type Clock, type Random, toBase64Unpadded, toHex, unwrap, utf8 } from '@relayd/common';
import { RsaPrivateKey, sha1, sha256 } from '@relayd/crypto';
import {
  type DirectoryRequest,
  parseHttpRequestHead,
  type Scheduler,
  type TimerHandle,
} from '@relayd/engine';
import { type AuthorityCertificate, parseAuthorityCertificate, parseIsoTime } from '@relayd/netdoc';

const NETDOC_FIXTURES = new URL('../../../netdoc/test/fixtures/', import.meta.url);

export function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(name, NETDOC_FIXTURES)));
}

export function fixtureText(name: string): string {
  return readFileSync(new URL(name, NETDOC_FIXTURES), 'utf8');
}

/** The real testnet documents: three authorities' consensus, their certificates, the one microdescriptor. */
export const TESTNET = {
  consensus: () => fixture('testnet-consensus-microdesc.txt'),
  certificates: () => fixture('testnet-authority-certs.txt'),
  microdescriptors: () => fixture('testnet-microdescs.txt'),
  /** The three authorities' v3 identities (dir-source lines). */
  authorities: [
    '4605D7453A9447D1C33267D8B067B3530B9BE13A',
    '730E652B6BC4EAFCE4884DC78F0F122491530F43',
    '9A2DE69D2588746AAA4492C4BF10DE15D0F60E1B',
  ],
  /** Inside the consensus's validity: between valid-after 14:21:20 and fresh-until 14:21:40. */
  nowMs: parseIsoTime('2026-11-21 14:21:30')! * 1000,
  microdescDigest: 'C4nN4xntuho/bzXEi31G13e556fYQnTTmD0K6r82J/c',
} as const;

export function hexId(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

// ---- authorities whose signing keys we hold ----------------------------------

export interface TestAuthority {
  readonly nickname: string;
  readonly cert: AuthorityCertificate;
  readonly signingKey: RsaPrivateKey;
  readonly v3Identity: string;
}

/** tor-gencert's five authorities (certificates valid 2026-11-21 to 2027-11-21). */
export function gencertAuthorities(): TestAuthority[] {
  return [1, 2, 3, 4, 5].map((i) => {
    const cert = unwrap(parseAuthorityCertificate(fixture(`gencert-authority-cert-${i}.txt`)));
    return {
      nickname: `gencert${i}`,
      cert,
      signingKey: RsaPrivateKey.fromPem(fixtureText(`gencert-authority-signkey-${i}.pem`))!,
      v3Identity: toHex(cert.fingerprint).toUpperCase(),
    };
  });
}

/** A time inside the gencert certificates' validity. */
export const GENCERT_NOW_MS = Date.UTC(2026, 11, 1);

// ---- synthetic microdescriptors and consensuses -------------------------------

export interface TestMicrodescriptor {
  readonly raw: Uint8Array;
  readonly digestBase64: string;
}

/** A well-formed microdescriptor (tor 0.4.9 style: "onion-key" without a key object). */
export function makeMicrodescriptor(i: number): TestMicrodescriptor {
  const ntor = sha256(utf8(`ntor ${i}`));
  const ed = sha256(utf8(`ed ${i}`));
  const raw = utf8(
    `onion-key\nntor-onion-key ${toBase64Unpadded(ntor)}\nfamily $${toHex(sha1(utf8(`fam ${i}`))).toUpperCase()}\n` +
      `p accept 80,443\nid ed25519 ${toBase64Unpadded(ed)}\n`,
  );
  return { raw, digestBase64: toBase64Unpadded(sha256(raw)) };
}

function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('T', ' ').slice(0, 19);
}

function pemObject(label: string, data: Uint8Array): string {
  const b64 = Buffer.from(data).toString('base64');
  let body = '';
  for (let i = 0; i < b64.length; i += 64) body += `${b64.slice(i, i + 64)}\n`;
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}

export interface ConsensusSpec {
  readonly listed: readonly TestAuthority[];
  readonly signers: readonly TestAuthority[];
  /** Seconds since the epoch. */
  readonly validAfter: number;
  /** fresh-until − valid-after (default 1 hour). */
  readonly intervalSeconds?: number;
  /** valid-until − valid-after (default 3 intervals). */
  readonly lifetimeSeconds?: number;
  readonly microdescriptors: readonly TestMicrodescriptor[];
}

/** Writes a microdesc consensus listing one router per microdescriptor, signed by `signers`. */
export function makeConsensus(spec: ConsensusSpec): Uint8Array {
  const interval = spec.intervalSeconds ?? 3600;
  const lifetime = spec.lifetimeSeconds ?? 3 * interval;
  let text =
    'network-status-version 3 microdesc\nvote-status consensus\nconsensus-method 35\n' +
    `valid-after ${isoTime(spec.validAfter)}\nfresh-until ${isoTime(spec.validAfter + interval)}\n` +
    `valid-until ${isoTime(spec.validAfter + lifetime)}\nvoting-delay 300 300\n` +
    'known-flags Fast Guard Running Stable V2Dir Valid\n' +
    'params bwweightscale=10000\n';
  for (const a of spec.listed) {
    text += `dir-source ${a.nickname} ${a.v3Identity} 127.0.0.1 127.0.0.1 80 443\n`;
    text += `contact ${a.nickname}@example.org\nvote-digest ${toHex(sha1(utf8(a.nickname))).toUpperCase()}\n`;
  }
  const routers = spec.microdescriptors
    .map((md, i) => ({ md, identity: sha1(utf8(`router ${i}`)), i }))
    .sort((a, b) => Buffer.compare(Buffer.from(a.identity), Buffer.from(b.identity)));
  for (const r of routers) {
    text += `r relay${r.i} ${toBase64Unpadded(r.identity)} 2038-01-01 00:00:00 10.0.0.1 9001 0\n`;
    text += `m ${r.md.digestBase64}\ns Fast Running Stable V2Dir Valid\nv Tor 0.4.9.11\n`;
    text += 'pr Cons=1-2 Desc=1-4 Link=3-5 Microdesc=1-3 Relay=2-4\nw Bandwidth=20\n';
  }
  text += 'directory-footer\nbandwidth-weights Wbd=3333 Wgg=10000 Wmm=10000\n';
  const signed = utf8(`${text}directory-signature `);
  for (const a of spec.signers) {
    const sig = a.signingKey.signDigest(sha256(signed));
    text += `directory-signature sha256 ${a.v3Identity} ${toHex(a.cert.signingKeyDigest).toUpperCase()}\n`;
    text += pemObject('SIGNATURE', sig);
  }
  return utf8(text);
}

/** All five gencert certificates, concatenated as `/tor/keys/all` serves them. */
export function gencertCertificates(authorities: readonly TestAuthority[]): Uint8Array {
  return Buffer.concat(authorities.map((a) => Buffer.from(a.cert.raw)));
}

/** Replaces the base64 character at `index` with another one, so the object still decodes. */
export function alterBase64At(bytes: Uint8Array, index: number): Uint8Array {
  const out = bytes.slice();
  out[index] = out[index] === 0x41 ? 0x42 : 0x41;
  return out;
}

// ---- time, timers, randomness ------------------------------------------------

export class FakeClock implements Clock {
  constructor(public now: number) {}
  nowMs(): number {
    return this.now;
  }
  monotonicMs(): number {
    return this.now;
  }
}

interface Timer {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

/** Timers that fire only when the test advances the clock. */
export class FakeScheduler implements Scheduler {
  private timers: Timer[] = [];
  private nextId = 1;

  constructor(private readonly clock: FakeClock) {}

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const timer = { id: this.nextId++, at: this.clock.now + delayMs, callback };
    this.timers.push(timer);
    return timer.id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  defer(callback: () => void): void {
    this.setTimeout(callback, 0);
  }

  /** Due times of pending timers, soonest first. */
  pending(): number[] {
    return this.timers.map((t) => t.at).sort((a, b) => a - b);
  }

  /** Moves the clock to the next timer and fires it; returns false if none is pending. */
  fireNext(): boolean {
    this.timers.sort((a, b) => a.at - b.at);
    const t = this.timers.shift();
    if (!t) return false;
    if (t.at > this.clock.now) this.clock.now = t.at;
    t.callback();
    return true;
  }
}

/** Deterministic bytes (xorshift32), for reproducible jitter. */
export class SeededRandom implements Random {
  constructor(private state: number) {}
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      this.state ^= this.state << 13;
      this.state ^= this.state >>> 17;
      this.state ^= this.state << 5;
      out[i] = this.state & 0xff;
    }
    return out;
  }
}

/** Resolves after pending promise callbacks (and the I/O they start) have run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

// ---- HTTP ----------------------------------------------------------------------

/** A request as the engine hands it over. */
export function request(
  target: string,
  headers: Record<string, string> = {},
  method = 'GET',
): DirectoryRequest {
  let text = `${method} ${target} HTTP/1.0\r\n`;
  for (const [k, v] of Object.entries(headers)) text += `${k}: ${v}\r\n`;
  text += '\r\n';
  const head = utf8(text);
  return { head, parsed: parseHttpRequestHead(head) };
}

export interface ParsedResponse {
  readonly status: number;
  readonly reason: string;
  /** Header lines in order, as written. */
  readonly headerLines: readonly string[];
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Uint8Array;
}

/** Splits a complete response into status, headers and body. */
export function parseResponse(bytes: Uint8Array): ParsedResponse {
  const text = Buffer.from(bytes).toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) throw new Error('response has no end of head');
  const lines = text.slice(0, end).split('\r\n');
  const m = /^HTTP\/1\.0 (\d{3}) (.*)$/.exec(lines[0]!);
  if (!m) throw new Error(`bad status line ${JSON.stringify(lines[0])}`);
  const headerLines = lines.slice(1);
  const headers = new Map<string, string>();
  for (const l of headerLines) {
    const colon = l.indexOf(': ');
    headers.set(l.slice(0, colon), l.slice(colon + 2));
  }
  return { status: Number(m[1]), reason: m[2]!, headerLines, headers, body: bytes.subarray(end + 4) };
}
