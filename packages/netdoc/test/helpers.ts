/**
 * Shared test support: fixture loading and a consensus writer that signs
 * with real authority signing keys (tor-gencert's and C tor's test keys), so
 * threshold and tamper tests run on documents signed exactly as authorities
 * sign them.
 */
import { readFileSync } from 'node:fs';
import { toBase64Unpadded, unwrap, utf8 } from '@relayd/common';
import { RsaPrivateKey, sha1, sha256 } from '@relayd/crypto';
import { type AuthorityCertificate, parseAuthorityCertificate } from '../src/authority-cert.js';
import { formatObject, toHexUpper } from '../src/values.js';

const FIXTURES = new URL('../../test/fixtures/', import.meta.url);

export function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(name, FIXTURES)));
}

export function fixtureText(name: string): string {
  return readFileSync(new URL(name, FIXTURES), 'utf8');
}

/** An authority whose signing key we hold. */
export interface TestAuthority {
  readonly nickname: string;
  readonly cert: AuthorityCertificate;
  readonly signingKey: RsaPrivateKey;
}

/** The five authorities made with tor-gencert (certificates valid 2026-11-21 to 2027-11-21). */
export function gencertAuthorities(): TestAuthority[] {
  return [1, 2, 3, 4, 5].map((i) => ({
    nickname: `gencert${i}`,
    cert: unwrap(parseAuthorityCertificate(fixture(`gencert-authority-cert-${i}.txt`))),
    signingKey: RsaPrivateKey.fromPem(fixtureText(`gencert-authority-signkey-${i}.pem`))!,
  }));
}

/** A time inside every gencert certificate's validity window. */
export const GENCERT_NOW = Date.UTC(2026, 11, 1) / 1000;

export interface TestRouter {
  readonly nickname: string;
  readonly identity: Uint8Array;
  readonly microdescDigest: Uint8Array;
  readonly flags?: string;
}

/** Makes `n` routers with identities in ascending order. */
export function testRouters(n: number): TestRouter[] {
  const out: TestRouter[] = [];
  for (let i = 0; i < n; i++) {
    const identity = sha1(utf8(`router ${i}`));
    out.push({ nickname: `relay${i}`, identity, microdescDigest: sha256(utf8(`md ${i}`)) });
  }
  return out.sort((a, b) => Buffer.compare(Buffer.from(a.identity), Buffer.from(b.identity)));
}

export interface ConsensusSpec {
  /** Authorities listed as dir-sources (in this order). */
  readonly listed: readonly TestAuthority[];
  /** Who signs, and with what digest. */
  readonly signers: readonly { readonly authority: TestAuthority; readonly algorithm?: 'sha1' | 'sha256' }[];
  readonly routers?: readonly TestRouter[];
  readonly validAfter?: string;
  /** Applied to the text before it is signed (to build malformed documents). */
  readonly edit?: (unsigned: string) => string;
}

/** Writes and signs a microdesc-flavoured consensus. */
export function makeConsensus(spec: ConsensusSpec): string {
  const va = spec.validAfter ?? '2026-12-01 00:00:00';
  const hour = (h: number) =>
    va.replace(/ (\d\d):/, ` ${String(Number(va.slice(11, 13)) + h).padStart(2, '0')}:`);
  let text = [
    'network-status-version 3 microdesc',
    'vote-status consensus',
    'consensus-method 35',
    `valid-after ${va}`,
    `fresh-until ${hour(1)}`,
    `valid-until ${hour(3)}`,
    'voting-delay 300 300',
    'client-versions 0.4.8.1,0.4.9.11',
    'server-versions 0.4.9.11',
    'known-flags Authority Exit Fast Guard HSDir Running Stable V2Dir Valid',
    'recommended-client-protocols Cons=2 Desc=2 Link=4-5 Microdesc=2 Relay=2-4',
    'required-client-protocols Cons=2 Desc=2 Link=4 Microdesc=2 Relay=2',
    'params CircuitPriorityHalflifeMsec=30000 bwweightscale=10000 cc_alg=2',
    `shared-rand-current-value 9 ${Buffer.alloc(32, 7).toString('base64')}`,
  ].join('\n');
  text += '\n';
  for (const a of spec.listed) {
    text += `dir-source ${a.nickname} ${toHexUpper(a.cert.fingerprint)} 127.0.0.1 127.0.0.1 80 443\n`;
    text += `contact ${a.nickname}@example.org\n`;
    text += `vote-digest ${toHexUpper(sha1(utf8(a.nickname)))}\n`;
  }
  for (const r of spec.routers ?? testRouters(3)) {
    text += `r ${r.nickname} ${toBase64Unpadded(r.identity)} 2038-01-01 00:00:00 10.0.0.1 9001 0\n`;
    text += `m ${toBase64Unpadded(r.microdescDigest)}\n`;
    text += `s ${r.flags ?? 'Fast Guard Running Stable V2Dir Valid'}\n`;
    text += 'v Tor 0.4.9.11\n';
    text += 'pr Cons=1-2 Desc=1-4 DirCache=2 FlowCtrl=1-2 Link=3-5 LinkAuth=3 Microdesc=1-3 Relay=2-6\n';
    text += 'w Bandwidth=20\n';
  }
  text += 'directory-footer\n';
  text += 'bandwidth-weights Wbd=3333 Wbe=0 Wbg=0 Wbm=10000 Wgg=10000 Wmm=10000\n';
  if (spec.edit) text = spec.edit(text);
  // Every authority signs the same bytes: through the space after the first "directory-signature".
  const signed = utf8(`${text}directory-signature `);
  for (const { authority, algorithm = 'sha256' } of spec.signers) {
    const digest = algorithm === 'sha1' ? sha1(signed) : sha256(signed);
    const sig = authority.signingKey.signDigest(digest);
    text += `directory-signature ${algorithm} ${toHexUpper(authority.cert.fingerprint)} ${toHexUpper(
      authority.cert.signingKeyDigest,
    )}\n${formatObject('SIGNATURE', sig)}`;
  }
  return text;
}

/** Flips the lowest bit of the byte at `index`. */
export function flipByte(bytes: Uint8Array, index: number): Uint8Array {
  const out = bytes.slice();
  out[index]! ^= 1;
  return out;
}
