/**
 * Microdescriptors (dir-spec 3.3), as `/tor/micro/d/...` returns them:
 * a plain concatenation with no header, footer or signature.
 *
 * A microdescriptor is identified by the SHA-256 of its exact bytes, from
 * its "onion-key" line up to the start of the next one; the consensus "m"
 * line names it by that digest in unpadded base64. Since tor 0.4.9 the
 * "onion-key" item may carry no key object (proposal 350), but it still
 * opens every microdescriptor.
 *
 * The concatenation is first split on lines, as C tor does
 * (microdesc_parse.c find_start_of_next_microdesc), so one malformed
 * microdescriptor does not hide the others: it is reported, with its digest,
 * in `invalid`, and a cache can stop asking for that digest.
 */
import { err, ok, type Result, toBase64Unpadded } from '@relayd/common';
import { type RsaPublicKey, sha256 } from '@relayd/crypto';
import { ItemSection, parseDocument } from './document.js';
import { NetDocError } from './errors.js';
import { type PortPolicySummary, parsePortPolicySummary } from './port-policy.js';
import { type ProtocolVersions, parseProtocols } from './protocols.js';
import { latin1, tokenizeOrThrow } from './tokenizer.js';
import { type AddressPort, parseBase64Exact } from './values.js';

const OBJECT = 'microdescriptor';

/** A parsed microdescriptor. */
export interface Microdescriptor {
  /** The exact bytes the digest covers. */
  readonly raw: Uint8Array;
  /** SHA-256 of `raw`. */
  readonly digest: Uint8Array;
  /** `digest` in unpadded base64, as the consensus "m" line writes it. */
  readonly digestBase64: string;
  /** The legacy TAP key, when the "onion-key" item still carries one. */
  readonly tapOnionKey: RsaPublicKey | undefined;
  readonly ntorOnionKey: Uint8Array;
  /** The first IPv6 "a" line, the only one tor uses. */
  readonly ipv6OrPort: AddressPort | undefined;
  /** "family" entries as written. */
  readonly family: readonly string[];
  /** "family-ids" entries as written (tor 0.4.9 happy families). */
  readonly familyIds: readonly string[];
  /** "p"; undefined when absent or unparseable (tor then treats the relay as non-exit). */
  readonly exitPolicy: PortPolicySummary | undefined;
  /** "p6"; undefined when absent or unparseable. */
  readonly exitPolicyV6: PortPolicySummary | undefined;
  /** "id rsa1024". */
  readonly rsaIdentity: Uint8Array | undefined;
  /** "id ed25519". */
  readonly ed25519Identity: Uint8Array | undefined;
  /** "pr", when present. */
  readonly protocols: ProtocolVersions | undefined;
}

/** A microdescriptor that did not parse, with the digest a cache would know it by. */
export interface InvalidMicrodescriptor {
  readonly digest: Uint8Array;
  readonly digestBase64: string;
  readonly error: NetDocError;
}

/** The outcome of parsing a concatenation. */
export interface MicrodescriptorList {
  readonly microdescriptors: readonly Microdescriptor[];
  readonly invalid: readonly InvalidMicrodescriptor[];
}

/**
 * Splits the text into one chunk per microdescriptor: a chunk opens with
 * annotation lines and one "onion-key" line, and the next line that is an
 * annotation or an "onion-key" opens the next chunk.
 */
function splitMicrodescriptors(text: string): { start: number; end: number; line: number }[] {
  const lineStarts: number[] = [];
  for (let i = 0; i < text.length; ) {
    lineStarts.push(i);
    const nl = text.indexOf('\n', i);
    i = nl < 0 ? text.length : nl + 1;
  }
  const opens = (s: number) => text.startsWith('onion-key', s) || text[s] === '@';
  const chunks: { start: number; end: number; line: number }[] = [];
  let current: { start: number; line: number; passedKey: boolean } | undefined;
  lineStarts.forEach((s, index) => {
    if (!current) {
      // Leading blank lines belong to no microdescriptor.
      if (text[s] === '\n') return;
      current = { start: s, line: index + 1, passedKey: text[s] !== '@' };
      return;
    }
    const isAnnotation = text[s] === '@';
    if (!current.passedKey) {
      // After the annotations, the first other line (normally "onion-key") belongs to this chunk.
      if (!isAnnotation) current.passedKey = true;
      return;
    }
    if (opens(s)) {
      chunks.push({ start: current.start, end: s, line: current.line });
      current = { start: s, line: index + 1, passedKey: text[s] !== '@' };
    }
  });
  if (current) chunks.push({ start: current.start, end: text.length, line: current.line });
  return chunks;
}

function parseOne(text: string, raw: Uint8Array, digest: Uint8Array, base: { offset: number; line: number }) {
  const items = tokenizeOrThrow(text, OBJECT, base);
  const doc: ItemSection = new ItemSection(OBJECT, items);
  const onion = doc.requireFirst('onion-key');
  doc.noArgs(onion);
  const tapOnionKey = onion.object ? doc.rsaKey(onion, { bits: 1024, requireE65537: true }) : undefined;

  const ntor = doc.required('ntor-onion-key');
  doc.noObject(ntor);
  const ntorOnionKey = doc.base64(ntor, doc.arg(ntor, 0), 'ntor-onion-key', 32);

  let rsaIdentity: Uint8Array | undefined;
  let ed25519Identity: Uint8Array | undefined;
  for (const id of doc.all('id')) {
    doc.minArgs(id, 2);
    if (id.args[0] === 'ed25519') {
      if (ed25519Identity) doc.fail('more than one ed25519 identity', id);
      ed25519Identity = doc.base64(id, id.args[1]!, 'ed25519 identity', 32);
    } else if (id.args[0] === 'rsa1024' && !rsaIdentity) {
      // C tor ignores this line's value; keep it when it decodes, as a hint only.
      rsaIdentity = parseBase64Exact(id.args[1]!, 20);
    }
  }

  let ipv6OrPort: AddressPort | undefined;
  for (const a of doc.all('a')) {
    doc.minArgs(a, 1);
    const ap = doc.addressPort(a, a.args[0]!);
    if (ap.family === 6 && !ipv6OrPort) ipv6OrPort = ap;
  }

  const family = doc.optional('family')?.args ?? [];
  const familyIds = doc.optional('family-ids')?.args ?? [];
  const p = doc.optional('p');
  const p6 = doc.optional('p6');
  const pr = doc.optional('pr');
  let protocols: ProtocolVersions | undefined;
  if (pr) {
    protocols = parseProtocols(pr.argText.trimEnd());
    if (!protocols) doc.fail('malformed protocol list in "pr"', pr);
  }
  return {
    raw,
    digest,
    digestBase64: toBase64Unpadded(digest),
    tapOnionKey,
    ntorOnionKey,
    ipv6OrPort,
    family,
    familyIds,
    exitPolicy: p ? parsePortPolicySummary(p.argText) : undefined,
    exitPolicyV6: p6 ? parsePortPolicySummary(p6.argText) : undefined,
    rsaIdentity,
    ed25519Identity,
    protocols,
  };
}

/**
 * Parses a concatenation of microdescriptors. Each one that fails is listed
 * in `invalid` with its digest; only input with no microdescriptor shape at
 * all is an error.
 */
export function parseMicrodescriptors(bytes: Uint8Array): Result<MicrodescriptorList, NetDocError> {
  const text = latin1(bytes);
  const microdescriptors: Microdescriptor[] = [];
  const invalid: InvalidMicrodescriptor[] = [];
  for (const chunk of splitMicrodescriptors(text)) {
    // The digest covers the text from the "onion-key" line, not annotations before it.
    const keyAt = text.indexOf('onion-key', chunk.start);
    const from = keyAt >= 0 && keyAt < chunk.end ? keyAt : chunk.start;
    const raw = bytes.slice(from, chunk.end);
    const digest = sha256(raw);
    const parsed = parseDocument(() =>
      parseOne(text.slice(chunk.start, chunk.end), raw, digest, { offset: chunk.start, line: chunk.line }),
    );
    if (parsed.ok) microdescriptors.push(parsed.value);
    else invalid.push({ digest, digestBase64: toBase64Unpadded(digest), error: parsed.error });
  }
  if (microdescriptors.length === 0 && invalid.length === 0)
    return err(new NetDocError(OBJECT, 'no microdescriptors'));
  return ok({ microdescriptors, invalid });
}

/** SHA-256 of a microdescriptor's bytes, unpadded base64: the consensus "m" value. */
export function microdescriptorDigest(raw: Uint8Array): string {
  return toBase64Unpadded(sha256(raw));
}
