/**
 * Stream ciphers. Relay cells use AES-128 in counter mode with an all-zero IV
 * whose keystream runs on across cells (tor-spec 0.3, 5.5); OpenSSL's CTR
 * cipher keeps that position between `update` calls.
 */
import { type Cipher, createCipheriv } from 'node:crypto';

const ZERO_IV = new Uint8Array(16);

/** AES-CTR keystream with persistent position. Encrypt and decrypt are the same operation. */
export class AesCtrStream {
  private readonly cipher: Cipher;

  constructor(key: Uint8Array, iv: Uint8Array = ZERO_IV) {
    const algorithm = key.length === 16 ? 'aes-128-ctr' : key.length === 32 ? 'aes-256-ctr' : undefined;
    if (!algorithm) throw new RangeError(`AES-CTR key must be 16 or 32 bytes, got ${key.length}`);
    this.cipher = createCipheriv(algorithm, key, iv);
  }

  /** XORs the next `data.length` keystream bytes into a new array. */
  apply(data: Uint8Array): Uint8Array {
    return new Uint8Array(this.cipher.update(data));
  }

  /** XORs the next keystream bytes into `data` itself. */
  applyInPlace(data: Uint8Array): void {
    const out = this.cipher.update(data);
    data.set(out);
  }
}
