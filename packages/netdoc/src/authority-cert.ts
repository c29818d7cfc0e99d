/**
 * Directory authority key certificates (dir-spec 3.1).
 *
 * A certificate binds an authority's long-term identity key to its
 * medium-term signing key: the identity key signs the document
 * ("dir-key-certification", SHA-1 of the text from "dir-key-certificate-version"
 * through the newline after "dir-key-certification"), and the signing key
 * signs the identity fingerprint ("dir-key-crosscert"). `/tor/keys/...`
 * answers concatenate several certificates.
 *
 * Parsing checks form only; `verifyAuthorityCertificate` checks both
 * signatures and the validity window and returns the only type the
 * consensus verifier accepts.
 */
import { bytesEqual, err, ok, type Result } from '@relayd/common';
import { type RsaPublicKey, sha1 } from '@relayd/crypto';
import { ItemSection, parseDocument } from './document.js';
import { NetDocError, NetDocVerifyError } from './errors.js';
import { findSignedRange, rsaSignatureCovers } from './signatures.js';
import { latin1, type NetDocItem, tokenizeOrThrow } from './tokenizer.js';
import { type AddressPort, parseHexDigest, parseIsoTime, toHexUpper } from './values.js';

const OBJECT = 'authority certificate';

/** A parsed (not yet verified) authority key certificate. */
export interface AuthorityCertificate {
  /** The exact bytes of this certificate, for serving. */
  readonly raw: Uint8Array;
  /** "dir-address", when present. */
  readonly dirAddress: AddressPort | undefined;
  /** SHA-1 of the identity key's DER encoding: the authority's v3 identity. */
  readonly fingerprint: Uint8Array;
  readonly identityKey: RsaPublicKey;
  readonly signingKey: RsaPublicKey;
  /** SHA-1 of the signing key's DER encoding, as "directory-signature" lines name it. */
  readonly signingKeyDigest: Uint8Array;
  /** Seconds since the epoch. */
  readonly published: number;
  /** Seconds since the epoch. */
  readonly expires: number;
  /** SHA-1 of the signed portion (the certificate's digest). */
  readonly signedDigest: Uint8Array;
  readonly crossCertification: Uint8Array;
  readonly certification: Uint8Array;
}

declare const verifiedCertificate: unique symbol;

/** A certificate whose signatures and validity window were checked. */
export type VerifiedAuthorityCertificate = AuthorityCertificate & { readonly [verifiedCertificate]: true };

/** Parses the certificate occupying `items` (a slice of a tokenized `text`). */
function parseCertificateItems(
  text: string,
  bytes: Uint8Array,
  items: readonly NetDocItem[],
): AuthorityCertificate {
  const doc: ItemSection = new ItemSection(OBJECT, items);
  const version = doc.requireFirst('dir-key-certificate-version');
  if (doc.arg(version, 0) !== '3') doc.fail(`unsupported certificate version "${version.args[0]}"`, version);
  const certification = doc.requireLast('dir-key-certification');
  doc.noArgs(certification);
  const certificationSig = doc.object(certification, 'SIGNATURE');

  const start = items[0]!.start;
  const end = items[items.length - 1]!.end;
  const own = text.slice(start, end);
  const range = findSignedRange(own, 'dir-key-certificate-version', '\ndir-key-certification', '\n');
  if (!range) doc.fail('cannot find the signed portion', certification);

  const fpItem = doc.required('fingerprint');
  doc.noObject(fpItem);
  const declared = parseHexDigest(fpItem.argText.trimEnd());
  if (!declared) doc.fail(`bad fingerprint "${fpItem.argText}"`, fpItem);

  const identityItem = doc.required('dir-identity-key');
  doc.noArgs(identityItem);
  const identityKey = doc.rsaKey(identityItem, { minBits: 1024 });
  const fingerprint = identityKey.fingerprint();
  if (!bytesEqual(fingerprint, declared)) doc.fail('fingerprint does not match dir-identity-key', fpItem);

  const signingItem = doc.required('dir-signing-key');
  doc.noArgs(signingItem);
  const signingKey = doc.rsaKey(signingItem, { minBits: 1024 });

  const published = timeLine(doc, doc.required('dir-key-published'));
  const expires = timeLine(doc, doc.required('dir-key-expires'));

  const crossItem = doc.required('dir-key-crosscert');
  doc.noArgs(crossItem);
  // dir-spec 3.1: the label is "ID SIGNATURE", but implementations must accept "SIGNATURE" too.
  const crossCertification = doc.object(crossItem, 'ID SIGNATURE', 'SIGNATURE');

  let dirAddress: AddressPort | undefined;
  const addrItem = doc.optional('dir-address');
  if (addrItem) {
    dirAddress = doc.addressPort(addrItem, doc.arg(addrItem, 0));
    if (dirAddress.family !== 4) doc.fail('dir-address must be IPv4', addrItem);
  }

  return {
    raw: bytes.slice(start, end),
    dirAddress,
    fingerprint,
    identityKey,
    signingKey,
    signingKeyDigest: signingKey.fingerprint(),
    published,
    expires,
    signedDigest: sha1(bytes.subarray(start + range.start, start + range.end)),
    crossCertification,
    certification: certificationSig,
  };
}

function timeLine(doc: ItemSection, item: NetDocItem): number {
  doc.noObject(item);
  const t = parseIsoTime(item.argText.trimEnd());
  if (t === undefined) doc.fail(`bad time "${item.argText}"`, item);
  return t;
}

/** Splits a tokenized run of certificates at each "dir-key-certificate-version". */
function groupCertificates(items: readonly NetDocItem[]): NetDocItem[][] {
  const groups: NetDocItem[][] = [];
  for (const item of items) {
    if (item.keyword === 'dir-key-certificate-version' || groups.length === 0) groups.push([]);
    groups[groups.length - 1]!.push(item);
  }
  return groups;
}

/** Parses one or more concatenated certificates (a `/tor/keys/...` answer). */
export function parseAuthorityCertificates(bytes: Uint8Array): Result<AuthorityCertificate[], NetDocError> {
  return parseDocument(() => {
    const text = latin1(bytes);
    const items = tokenizeOrThrow(text, OBJECT);
    if (items.length === 0) throw new NetDocError(OBJECT, 'no certificate');
    return groupCertificates(items).map((g) => parseCertificateItems(text, bytes, g));
  });
}

/** Parses exactly one certificate. */
export function parseAuthorityCertificate(bytes: Uint8Array): Result<AuthorityCertificate, NetDocError> {
  const all = parseAuthorityCertificates(bytes);
  if (!all.ok) return all;
  if (all.value.length !== 1)
    return err(new NetDocError(OBJECT, `expected one certificate, found ${all.value.length}`));
  return ok(all.value[0]!);
}

/** Options for certificate verification. */
export interface AuthorityCertificateCheck {
  /** The current time, seconds since the epoch. */
  readonly now: number;
  /**
   * How far in the future "dir-key-published" may be (clock skew between us
   * and the authority) before the certificate is refused. Default one day,
   * the skew C tor allows networkstatus documents.
   */
  readonly maxPublishedSkewSeconds?: number;
}

/**
 * Checks a certificate's signatures (the identity key over the document, the
 * signing key over the identity fingerprint) and that `now` lies inside its
 * validity window.
 */
export function verifyAuthorityCertificate(
  cert: AuthorityCertificate,
  check: AuthorityCertificateCheck,
): Result<VerifiedAuthorityCertificate, NetDocVerifyError> {
  const name = `${OBJECT} ${toHexUpper(cert.fingerprint)}`;
  if (!rsaSignatureCovers(cert.identityKey, cert.signedDigest, cert.certification))
    return err(new NetDocVerifyError('bad-signature', name, 'dir-key-certification does not verify'));
  if (!rsaSignatureCovers(cert.signingKey, cert.fingerprint, cert.crossCertification))
    return err(new NetDocVerifyError('bad-signature', name, 'dir-key-crosscert does not verify'));
  if (cert.expires < check.now) return err(new NetDocVerifyError('expired', name, 'certificate has expired'));
  const skew = check.maxPublishedSkewSeconds ?? 24 * 60 * 60;
  if (cert.published > check.now + skew)
    return err(new NetDocVerifyError('not-yet-valid', name, 'certificate is published in the future'));
  return ok(cert as VerifiedAuthorityCertificate);
}
