/**
 * Tor's "tagged contents" key file format (C tor crypto_format.c,
 * crypto_write_tagged_contents_to_file / crypto_read_tagged_contents_from_file):
 *
 *   32-byte header: the string "== <type>: <tag> ==", NUL-padded to 32 bytes
 *   then the raw key material, no trailer.
 *
 * Used for every Ed25519 and Curve25519 file under keys/. Pure functions over
 * bytes; the reader checks exactly what tor checks and says which part failed.
 */
import { err, ok, type Result } from '@relayd/common';
import { KeyErrorCode, type KeyFileProblem, problem } from './errors.js';

/** Length of the NUL-padded header. */
export const TAGGED_HEADER_LEN = 32;

/** The type strings tor writes (crypto_ed25519.c, crypto_curve25519.c, loadkey.c). */
export const TaggedType = {
  ED25519_SECRET: 'ed25519v1-secret',
  ED25519_PUBLIC: 'ed25519v1-public',
  ED25519_CERT: 'ed25519v1-cert',
  CURVE25519_KEYPAIR: 'c25519v1',
} as const;
export type TaggedType = (typeof TaggedType)[keyof typeof TaggedType];

/** A decoded tagged file: the tag from the header and a copy of the body. */
export interface TaggedContents {
  readonly type: string;
  readonly tag: string;
  readonly body: Uint8Array;
}

/** Encodes a tagged file. `type` and `tag` together must fit the 32-byte header. */
export function encodeTaggedFile(type: string, tag: string, body: Uint8Array): Uint8Array {
  const header = `== ${type}: ${tag} ==`;
  // tor_snprintf into a 32-byte buffer: the text plus its NUL must fit.
  if (header.length > TAGGED_HEADER_LEN - 1 || !/^[\x21-\x7e]+$/.test(type + tag)) {
    throw new RangeError(`tagged file header too long or not printable: ${JSON.stringify(header)}`);
  }
  const out = new Uint8Array(TAGGED_HEADER_LEN + body.length);
  for (let i = 0; i < header.length; i++) out[i] = header.charCodeAt(i);
  out.set(body, TAGGED_HEADER_LEN);
  return out;
}

/**
 * Decodes a tagged file whose header must name `expectedType`. Returns the
 * tag and body; the caller checks the tag and the body length, because the
 * right values depend on which file it is.
 */
export function decodeTaggedFile(
  bytes: Uint8Array,
  expectedType: string,
): Result<TaggedContents, KeyFileProblem> {
  if (bytes.length < TAGGED_HEADER_LEN) {
    return err(
      problem(
        KeyErrorCode.TRUNCATED,
        bytes.length === 0
          ? 'file is empty'
          : `file is ${bytes.length} bytes, shorter than the ${TAGGED_HEADER_LEN}-byte "== ${expectedType}: … ==" header`,
      ),
    );
  }
  const headerBytes = bytes.subarray(0, TAGGED_HEADER_LEN);
  let textLen = headerBytes.indexOf(0);
  if (textLen < 0) textLen = TAGGED_HEADER_LEN;
  // tor: the text runs to the first NUL and everything after it must be NUL.
  const padding = headerBytes.subarray(textLen);
  let text = '';
  for (let i = 0; i < textLen; i++) text += String.fromCharCode(headerBytes[i]!);
  const printable = /^[\x20-\x7e]*$/.test(text);
  if (!printable || !text.startsWith('== ') || !text.endsWith(' ==') || padding.some((b) => b !== 0)) {
    return err(
      problem(
        KeyErrorCode.BAD_HEADER,
        `not a tor key file: the first 32 bytes are not a NUL-padded "== ${expectedType}: <tag> ==" header`,
      ),
    );
  }
  const inner = text.slice(3, -3);
  const colon = inner.indexOf(': ');
  if (colon < 0) {
    return err(problem(KeyErrorCode.BAD_HEADER, `header ${JSON.stringify(text)} has no "<type>: <tag>"`));
  }
  const type = inner.slice(0, colon);
  const tag = inner.slice(colon + 2);
  if (type !== expectedType) {
    return err(
      problem(
        KeyErrorCode.BAD_HEADER,
        `header ${JSON.stringify(text)} is a "${type}" file, expected "${expectedType}"`,
      ),
    );
  }
  return ok({ type, tag, body: bytes.slice(TAGGED_HEADER_LEN) });
}

/**
 * Decodes a tagged file and checks its tag and exact body length, the way tor
 * reads fixed-size keys (a short body is truncation, a long one is a bad length).
 */
export function decodeFixedTaggedFile(
  bytes: Uint8Array,
  expectedType: string,
  expectedTag: string,
  bodyLength: number,
): Result<Uint8Array, KeyFileProblem> {
  const decoded = decodeTaggedFile(bytes, expectedType);
  if (!decoded.ok) return decoded;
  const { tag, body } = decoded.value;
  if (tag !== expectedTag) {
    return err(
      problem(KeyErrorCode.BAD_HEADER, `header tag is "${tag}", expected "${expectedTag}" for this file`),
    );
  }
  if (body.length < bodyLength) {
    return err(
      problem(
        KeyErrorCode.TRUNCATED,
        `truncated: ${body.length} bytes of key material after the header, expected ${bodyLength}`,
      ),
    );
  }
  if (body.length > bodyLength) {
    return err(
      problem(
        KeyErrorCode.BAD_LENGTH,
        `wrong length: ${body.length} bytes of key material after the header, expected ${bodyLength}`,
      ),
    );
  }
  return ok(body);
}
