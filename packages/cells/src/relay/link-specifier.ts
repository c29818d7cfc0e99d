/**
 * Link specifiers (tor-spec 5.1.2): how an EXTEND2 cell names the next hop.
 *
 *   LSTYPE [1] | LSLEN [1] | LSPEC [LSLEN]
 *
 * Known types must have their exact length (C tor's trunnel parser refuses
 * the whole EXTEND2 otherwise). "Nodes MUST ignore unrecognized specifiers":
 * those decode as `unrecognized` with their bytes kept, and re-encode
 * unchanged. Rules about the list as a whole (at most one identity of each
 * kind, which address to use) belong to the code that extends circuits.
 */
import {
  ByteReader,
  ByteWriter,
  type DecodeError,
  decodeWith,
  InternalError,
  IPV4_LENGTH,
  IPV6_LENGTH,
  type Ipv4Address,
  type Ipv6Address,
  type Result,
} from '@relayd/common';

/** LSTYPE values (tor-spec 5.1.2). */
export const LinkSpecifierType = {
  /** TLS-over-TCP, IPv4 address: 4-byte address plus 2-byte ORPort. */
  IPV4: 0x00,
  /** TLS-over-TCP, IPv6 address: 16-byte address plus 2-byte ORPort. */
  IPV6: 0x01,
  /** Legacy identity: the 20-byte SHA-1 RSA identity fingerprint. */
  LEGACY_ID: 0x02,
  /** Ed25519 identity: the 32-byte public key. */
  ED25519_ID: 0x03,
} as const;

export const RSA_IDENTITY_LENGTH = 20;
export const ED25519_IDENTITY_LENGTH = 32;

export type LinkSpecifier =
  | { readonly kind: 'ipv4'; readonly address: Ipv4Address; readonly port: number }
  | { readonly kind: 'ipv6'; readonly address: Ipv6Address; readonly port: number }
  | { readonly kind: 'legacy-id'; readonly rsaIdentity: Uint8Array }
  | { readonly kind: 'ed25519-id'; readonly ed25519Identity: Uint8Array }
  | { readonly kind: 'unrecognized'; readonly specifierType: number; readonly body: Uint8Array };

const KNOWN_LENGTH: Record<number, number> = {
  [LinkSpecifierType.IPV4]: IPV4_LENGTH + 2,
  [LinkSpecifierType.IPV6]: IPV6_LENGTH + 2,
  [LinkSpecifierType.LEGACY_ID]: RSA_IDENTITY_LENGTH,
  [LinkSpecifierType.ED25519_ID]: ED25519_IDENTITY_LENGTH,
};

export function readLinkSpecifier(r: ByteReader): LinkSpecifier {
  const specifierType = r.u8('link specifier type');
  const length = r.u8('link specifier length');
  const body = r.take(length, 'link specifier');
  const expected = KNOWN_LENGTH[specifierType];
  if (expected === undefined) return { kind: 'unrecognized', specifierType, body: body.slice() };
  if (length !== expected)
    r.fail(`link specifier type ${specifierType} has length ${length}, not ${expected}`);
  const inner = new ByteReader(body, r.object);
  switch (specifierType) {
    case LinkSpecifierType.IPV4: {
      const address: Ipv4Address = { family: 'ipv4', bytes: inner.take(IPV4_LENGTH).slice() };
      return { kind: 'ipv4', address, port: inner.u16('port') };
    }
    case LinkSpecifierType.IPV6: {
      const address: Ipv6Address = { family: 'ipv6', bytes: inner.take(IPV6_LENGTH).slice() };
      return { kind: 'ipv6', address, port: inner.u16('port') };
    }
    case LinkSpecifierType.LEGACY_ID:
      return { kind: 'legacy-id', rsaIdentity: body.slice() };
    default:
      return { kind: 'ed25519-id', ed25519Identity: body.slice() };
  }
}

export function writeLinkSpecifier(w: ByteWriter, spec: LinkSpecifier): void {
  switch (spec.kind) {
    case 'ipv4':
      checkLength(spec.address.bytes, IPV4_LENGTH, 'IPv4 address');
      w.u8(LinkSpecifierType.IPV4)
        .u8(IPV4_LENGTH + 2)
        .bytes(spec.address.bytes)
        .u16(spec.port);
      return;
    case 'ipv6':
      checkLength(spec.address.bytes, IPV6_LENGTH, 'IPv6 address');
      w.u8(LinkSpecifierType.IPV6)
        .u8(IPV6_LENGTH + 2)
        .bytes(spec.address.bytes)
        .u16(spec.port);
      return;
    case 'legacy-id':
      checkLength(spec.rsaIdentity, RSA_IDENTITY_LENGTH, 'RSA identity');
      w.u8(LinkSpecifierType.LEGACY_ID).u8(RSA_IDENTITY_LENGTH).bytes(spec.rsaIdentity);
      return;
    case 'ed25519-id':
      checkLength(spec.ed25519Identity, ED25519_IDENTITY_LENGTH, 'Ed25519 identity');
      w.u8(LinkSpecifierType.ED25519_ID).u8(ED25519_IDENTITY_LENGTH).bytes(spec.ed25519Identity);
      return;
    case 'unrecognized':
      if (KNOWN_LENGTH[spec.specifierType] !== undefined) {
        throw new InternalError(
          `link specifier type ${spec.specifierType} is known; encode it as its own kind`,
        );
      }
      w.u8(spec.specifierType).nested8((inner) => inner.bytes(spec.body));
      return;
  }
}

/** Reads NSPEC then NSPEC link specifiers. */
export function readLinkSpecifierList(r: ByteReader): LinkSpecifier[] {
  const n = r.u8('number of link specifiers');
  const out: LinkSpecifier[] = [];
  for (let i = 0; i < n; i++) out.push(readLinkSpecifier(r));
  return out;
}

export function writeLinkSpecifierList(w: ByteWriter, specs: readonly LinkSpecifier[]): void {
  if (specs.length > 0xff) throw new InternalError(`too many link specifiers: ${specs.length}`);
  w.u8(specs.length);
  for (const s of specs) writeLinkSpecifier(w, s);
}

/** Decodes one link specifier that must fill `bytes` exactly. */
export function decodeLinkSpecifier(bytes: Uint8Array): Result<LinkSpecifier, DecodeError> {
  return decodeWith(bytes, 'link specifier', (r) => {
    const spec = readLinkSpecifier(r);
    r.expectExhausted();
    return spec;
  });
}

/** Encodes one link specifier (LSTYPE | LSLEN | LSPEC). */
export function encodeLinkSpecifier(spec: LinkSpecifier): Uint8Array {
  const w = new ByteWriter(40);
  writeLinkSpecifier(w, spec);
  return w.finish();
}

/** Decodes an NSPEC-prefixed list that must fill `bytes` exactly. */
export function decodeLinkSpecifierList(bytes: Uint8Array): Result<LinkSpecifier[], DecodeError> {
  return decodeWith(bytes, 'link specifier list', (r) => {
    const list = readLinkSpecifierList(r);
    r.expectExhausted();
    return list;
  });
}

/** Encodes NSPEC then the specifiers. */
export function encodeLinkSpecifierList(specs: readonly LinkSpecifier[]): Uint8Array {
  const w = new ByteWriter(80);
  writeLinkSpecifierList(w, specs);
  return w.finish();
}

function checkLength(bytes: Uint8Array, length: number, what: string): void {
  if (bytes.length !== length)
    throw new InternalError(`${what} must be ${length} bytes, not ${bytes.length}`);
}
