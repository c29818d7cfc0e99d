/**
 * The frame a relay's own signed documents share (dir-spec 2.1.1 server
 * descriptors, 2.1.2 extra-info), with C tor's structural rules
 * (routerparse.c): "identity-ed25519" right after the first item, holding
 * a type 4 certificate that includes its signing key (the relay's Ed25519
 * master identity); "router-sig-ed25519" next to last; "router-signature"
 * last. What each signature covers is the document's own business.
 */
import { type Ed25519Cert, Ed25519CertType, parseEd25519Cert } from '@relayd/certs';
import type { ItemSection } from './document.js';
import type { NetDocItem } from './tokenizer.js';

export interface RouterDocumentFrame {
  readonly identityCert: Ed25519Cert;
  /** The relay's Ed25519 master identity: the certificate's signing key. */
  readonly ed25519Identity: Uint8Array;
  readonly ed25519Signature: Uint8Array;
  readonly rsaSignature: Uint8Array;
  /** "router-signature", the last item: where the document proper ends. */
  readonly signatureItem: NetDocItem;
}

/** Reads the frame of `items`, whose first item is `firstKeyword`; fails `doc` where it is broken. */
export function parseRouterDocumentFrame(
  doc: ItemSection,
  items: readonly NetDocItem[],
  firstKeyword: string,
): RouterDocumentFrame {
  const signatureItem = doc.requireLast('router-signature');
  doc.noArgs(signatureItem);
  const rsaSignature = doc.object(signatureItem, 'SIGNATURE');
  const edSigItem = doc.required('router-sig-ed25519');
  if (items[items.length - 2] !== edSigItem) doc.fail('"router-sig-ed25519" must be next to last', edSigItem);
  const ed25519Signature = doc.base64(edSigItem, doc.arg(edSigItem, 0), 'Ed25519 signature', 64);

  const certItem = doc.required('identity-ed25519');
  if (items[1] !== certItem) doc.fail(`"identity-ed25519" must follow "${firstKeyword}"`, certItem);
  doc.noArgs(certItem);
  const certParsed = parseEd25519Cert(doc.object(certItem, 'ED25519 CERT'));
  if (!certParsed.ok) doc.fail(`bad identity-ed25519 certificate: ${certParsed.error.message}`, certItem);
  const identityCert = certParsed.value;
  if (identityCert.certType !== Ed25519CertType.IDENTITY_V_SIGNING || !identityCert.signingKey)
    doc.fail('identity-ed25519 must be a type 4 certificate that includes its signing key', certItem);
  return {
    identityCert,
    ed25519Identity: identityCert.signingKey,
    ed25519Signature,
    rsaSignature,
    signatureItem,
  };
}
