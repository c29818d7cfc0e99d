/**
 * RSA-1024 as tor uses it for relay identity (and the legacy TAP onion key).
 *
 * Tor's "RSA signature" (tor-spec 0.3) is PKCS#1 v1.5 type-1 padding around
 * the raw digest, *without* the DigestInfo wrapper, so it is made with
 * privateEncrypt/publicDecrypt rather than sign/verify. Public keys travel as
 * DER-encoded PKCS#1 RSAPublicKey; the relay fingerprint is SHA-1 of that.
 */
import {
  constants,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  privateEncrypt,
  publicDecrypt,
} from 'node:crypto';
import { bytesEqual } from '@relayd/common';
import { sha1 } from './hash.js';

export class RsaPublicKey {
  private constructor(
    private readonly key: KeyObject,
    /** DER-encoded PKCS#1 RSAPublicKey. */
    readonly der: Uint8Array,
  ) {}

  /** Parses a DER PKCS#1 RSAPublicKey; returns undefined when it is not one. */
  static fromDer(der: Uint8Array): RsaPublicKey | undefined {
    try {
      const key = createPublicKey({ key: Buffer.from(der), format: 'der', type: 'pkcs1' });
      const canonical = new Uint8Array(key.export({ format: 'der', type: 'pkcs1' }));
      // Reject non-canonical encodings: the fingerprint is a hash of these exact bytes.
      if (!bytesEqual(canonical, der)) return undefined;
      return new RsaPublicKey(key, canonical);
    } catch {
      return undefined;
    }
  }

  static fromKeyObject(key: KeyObject): RsaPublicKey {
    return new RsaPublicKey(key, new Uint8Array(key.export({ format: 'der', type: 'pkcs1' })));
  }

  get modulusBits(): number {
    return this.key.asymmetricKeyDetails?.modulusLength ?? 0;
  }

  get exponent(): bigint {
    return this.key.asymmetricKeyDetails?.publicExponent ?? 0n;
  }

  /** SHA-1 of the DER encoding: the relay identity fingerprint. */
  fingerprint(): Uint8Array {
    return sha1(this.der);
  }

  /** PEM "RSA PUBLIC KEY" block, as tor writes in descriptors. */
  toPem(): string {
    return this.key.export({ format: 'pem', type: 'pkcs1' }).toString();
  }

  /**
   * Recovers the digest from a tor RSA signature; returns undefined if the
   * signature does not decrypt to valid PKCS#1 type-1 padding.
   */
  recoverSignedDigest(signature: Uint8Array): Uint8Array | undefined {
    try {
      return new Uint8Array(
        publicDecrypt({ key: this.key, padding: constants.RSA_PKCS1_PADDING }, Buffer.from(signature)),
      );
    } catch {
      return undefined;
    }
  }

  /** True iff `signature` is a tor RSA signature of exactly `digest`. */
  verifyDigest(digest: Uint8Array, signature: Uint8Array): boolean {
    const recovered = this.recoverSignedDigest(signature);
    return recovered !== undefined && bytesEqual(recovered, digest);
  }

  keyObject(): KeyObject {
    return this.key;
  }
}

export class RsaPrivateKey {
  readonly publicKey: RsaPublicKey;

  private constructor(private readonly key: KeyObject) {
    this.publicKey = RsaPublicKey.fromKeyObject(createPublicKey(key));
  }

  static generate(bits = 1024): RsaPrivateKey {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: 65537 });
    return new RsaPrivateKey(privateKey);
  }

  /** Parses a PEM "RSA PRIVATE KEY" (PKCS#1) block; returns undefined if it is not one. */
  static fromPem(pem: string): RsaPrivateKey | undefined {
    try {
      const key = createPrivateKey({ key: pem, format: 'pem' });
      if (key.asymmetricKeyType !== 'rsa') return undefined;
      return new RsaPrivateKey(key);
    } catch {
      return undefined;
    }
  }

  static fromDer(der: Uint8Array): RsaPrivateKey | undefined {
    try {
      return new RsaPrivateKey(createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs1' }));
    } catch {
      return undefined;
    }
  }

  get modulusBits(): number {
    return this.key.asymmetricKeyDetails?.modulusLength ?? 0;
  }

  /** PEM "RSA PRIVATE KEY" block, byte-compatible with tor's secret_id_key. */
  toPem(): string {
    return this.key.export({ format: 'pem', type: 'pkcs1' }).toString();
  }

  toDer(): Uint8Array {
    return new Uint8Array(this.key.export({ format: 'der', type: 'pkcs1' }));
  }

  /** Tor's RSA signature of a digest: PKCS#1 v1.5 type-1 padding, no DigestInfo. */
  signDigest(digest: Uint8Array): Uint8Array {
    return new Uint8Array(
      privateEncrypt({ key: this.key, padding: constants.RSA_PKCS1_PADDING }, Buffer.from(digest)),
    );
  }

  keyObject(): KeyObject {
    return this.key;
  }
}
