/**
 * Extra-info documents (dir-spec 2.1.2): parsing and verification.
 *
 * For a bridge the extra-info carries what BridgeDB needs: one "transport"
 * line per pluggable transport. It is signed like a server descriptor
 * (Ed25519 with the same certificate, then RSA with the identity key) but
 * does not contain the RSA key, so verification takes it from the matching
 * descriptor. Structure follows C tor (routerparse.c
 * extrainfo_parse_entry_from_string): "extra-info" first,
 * "identity-ed25519" second, "router-sig-ed25519" next to last,
 * "router-signature" last.
 *
 * Two digests name the document: SHA-1 of the signed portion (through
 * "router-signature\n") and SHA-256 of the whole document, signature
 * included (dir-spec 2.1.1 "extra-info-digest").
 */

import { checkEd25519Cert, type Ed25519Cert, Ed25519CertType } from '@relayd/certs';
import { bytesEqual, err, ok, type Result, utf8 } from '@relayd/common';
import { ed25519Verify, type RsaPublicKey, sha1, sha256 } from '@relayd/crypto';
import { ItemSection, parseDocument } from './document.js';
import { type NetDocError, NetDocVerifyError } from './errors.js';
import { parseRouterDocumentFrame } from './router-document.js';
import { certFailure, ED25519_DESCRIPTOR_SIGNATURE_PREFIX } from './server-descriptor.js';
import { findSignedRange, rsaSignatureCovers } from './signatures.js';
import { latin1, tokenizeOrThrow } from './tokenizer.js';
import { parseTransportArguments } from './transport-line.js';
import { type AddressPort, parseIsoTime, toHexUpper } from './values.js';

const OBJECT = 'extra-info document';

/** One "transport" line. */
export interface ExtraInfoTransport {
  readonly name: string;
  readonly address: AddressPort;
  /** The arglist exactly as written (undefined when absent). */
  readonly argumentsText: string | undefined;
  /** The arglist decoded into key=value pairs; undefined when it does not decode. */
  readonly arguments: readonly (readonly [string, string])[] | undefined;
}

/** A parsed (not yet verified) extra-info document. */
export interface ExtraInfo {
  readonly raw: Uint8Array;
  readonly nickname: string;
  /** The RSA identity fingerprint named on the "extra-info" line. */
  readonly fingerprint: Uint8Array;
  readonly identityCert: Ed25519Cert;
  readonly ed25519Identity: Uint8Array;
  readonly ed25519SigningKey: Uint8Array;
  readonly published: number;
  readonly transports: readonly ExtraInfoTransport[];
  readonly geoipDbDigest: Uint8Array | undefined;
  readonly geoip6DbDigest: Uint8Array | undefined;
  /** SHA-1 of the signed portion: the "extra-info-digest" first value. */
  readonly digest: Uint8Array;
  /** SHA-256 of the whole document: the "extra-info-digest" second value. */
  readonly sha256Digest: Uint8Array;
  readonly ed25519SignedDigest: Uint8Array;
  readonly ed25519Signature: Uint8Array;
  readonly rsaSignature: Uint8Array;
}

declare const verifiedExtraInfo: unique symbol;
/** An extra-info whose certificate and signatures were checked. */
export type VerifiedExtraInfo = ExtraInfo & { readonly [verifiedExtraInfo]: true };

/** Parses one extra-info document. */
export function parseExtraInfo(bytes: Uint8Array): Result<ExtraInfo, NetDocError> {
  return parseDocument(() => {
    const text = latin1(bytes);
    const items = tokenizeOrThrow(text, OBJECT);
    const doc: ItemSection = new ItemSection(OBJECT, items);
    const head = doc.requireFirst('extra-info');
    doc.minArgs(head, 2);
    const nickname = doc.nickname(head, head.args[0]!);
    const fingerprint = doc.hex(head, head.args[1]!, 'fingerprint');

    const { identityCert, ed25519Identity, ed25519Signature, rsaSignature, signatureItem } =
      parseRouterDocumentFrame(doc, items, 'extra-info');
    if (rsaSignature.length < 128 || rsaSignature.length > 512)
      doc.fail('signature has an impossible length', signatureItem);

    const publishedItem = doc.required('published');
    const published = parseIsoTime(publishedItem.argText.trimEnd());
    if (published === undefined) doc.fail(`bad time "${publishedItem.argText}"`, publishedItem);

    const transports: ExtraInfoTransport[] = [];
    for (const item of doc.all('transport')) {
      doc.minArgs(item, 2);
      const name = item.args[0]!;
      if (transports.some((t) => t.name === name)) doc.fail(`two "transport" lines for ${name}`, item);
      const argumentsText = item.args.length > 2 ? item.args.slice(2).join(' ') : undefined;
      transports.push({
        name,
        address: doc.addressPort(item, item.args[1]!),
        argumentsText,
        arguments: argumentsText === undefined ? [] : parseTransportArguments(argumentsText),
      });
    }
    const geoip = doc.optional('geoip-db-digest');
    const geoip6 = doc.optional('geoip6-db-digest');

    const signed = findSignedRange(text, 'extra-info', '\nrouter-signature', '\n');
    const edSigned = findSignedRange(text, 'extra-info ', '\nrouter-sig-ed25519', ' ');
    if (!signed || !edSigned) doc.fail('cannot find the signed portion', signatureItem);
    // The document proper ends after its last item (extra blank lines are not part of it).
    const whole = bytes.subarray(items[0]!.start, signatureItem.end);

    return {
      raw: whole.slice(),
      nickname,
      fingerprint,
      identityCert,
      ed25519Identity,
      ed25519SigningKey: identityCert.certifiedKey,
      published,
      transports,
      geoipDbDigest: geoip ? doc.hex(geoip, doc.arg(geoip, 0), 'geoip digest') : undefined,
      geoip6DbDigest: geoip6 ? doc.hex(geoip6, doc.arg(geoip6, 0), 'geoip6 digest') : undefined,
      digest: sha1(bytes.subarray(signed.start, signed.end)),
      sha256Digest: sha256(whole),
      ed25519SignedDigest: sha256(
        utf8(ED25519_DESCRIPTOR_SIGNATURE_PREFIX),
        bytes.subarray(edSigned.start, edSigned.end),
      ),
      ed25519Signature,
      rsaSignature,
    };
  });
}

/** What an extra-info is checked against: the keys of the descriptor it belongs to. */
export interface ExtraInfoCheck {
  /** The relay's RSA identity key (the descriptor's "signing-key"). */
  readonly identityKey: RsaPublicKey;
  /** When given, the Ed25519 master identity the certificate must carry. */
  readonly ed25519Identity?: Uint8Array;
}

/**
 * Checks that the extra-info belongs to `identityKey`, that its certificate
 * is a type-4 certificate signed by its master key, and both signatures. Like
 * C tor, the certificate's expiry is not checked here: it must match the
 * descriptor's, which is.
 */
export function verifyExtraInfo(
  ei: ExtraInfo,
  check: ExtraInfoCheck,
): Result<VerifiedExtraInfo, NetDocVerifyError> {
  const name = `${OBJECT} ${toHexUpper(ei.fingerprint)}`;
  if (!bytesEqual(check.identityKey.fingerprint(), ei.fingerprint))
    return err(new NetDocVerifyError('key-mismatch', name, 'fingerprint does not match the identity key'));
  if (check.ed25519Identity && !bytesEqual(check.ed25519Identity, ei.ed25519Identity))
    return err(new NetDocVerifyError('key-mismatch', name, 'Ed25519 identity does not match'));
  const certCheck = checkEd25519Cert(ei.identityCert, {
    certType: Ed25519CertType.IDENTITY_V_SIGNING,
    nowMs: 0,
  });
  if (!certCheck.ok)
    return err(certFailure(name, 'identity-ed25519', certCheck.error.code, certCheck.error.message));
  if (!ed25519Verify(ei.ed25519SigningKey, ei.ed25519SignedDigest, ei.ed25519Signature))
    return err(new NetDocVerifyError('bad-signature', name, 'router-sig-ed25519 does not verify'));
  if (!rsaSignatureCovers(check.identityKey, ei.digest, ei.rsaSignature))
    return err(new NetDocVerifyError('bad-signature', name, 'router-signature does not verify'));
  return ok(ei as VerifiedExtraInfo);
}
