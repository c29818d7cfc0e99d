/**
 * Stream ciphers. Relay cells use AES-128 in counter mode with an all-zero IV
 * whose keystream runs on across cells (tor-spec 0.3, 5.5); OpenSSL's CTR
 * cipher keeps that position between `update` calls.
 *
 * Node's `Cipher.update` costs about a microsecond per call whatever the
 * length (the binding and a new output buffer), several times the AES work
 * on a 509-byte relay cell. So a stream makes its keystream ahead, in
 * chunks of up to MAX_KEYSTREAM_AHEAD bytes (encrypting zeros), and XORs it
 * into the data: one call and one buffer per four cells on a busy circuit.
 * A chunk starts at the size asked for and doubles while the stream keeps
 * being used, so a stream used once makes no keystream ahead, and
 * `dropIdleKeystream` lets an idle stream give its chunk back.
 */
import { type Cipher, createCipheriv } from 'node:crypto';

const ZERO_IV = new Uint8Array(16);
const AES_BLOCK_LENGTH = 16;

/** The most keystream a stream makes ahead of use (and so holds unused at most). */
export const MAX_KEYSTREAM_AHEAD = 2048;
const ZEROS = new Uint8Array(MAX_KEYSTREAM_AHEAD);
const NO_KEYSTREAM = new Uint8Array(0);

/** AES-CTR keystream with persistent position. Encrypt and decrypt are the same operation. */
export class AesCtrStream {
  private readonly algorithm: 'aes-128-ctr' | 'aes-256-ctr';
  private readonly key: Uint8Array;
  private readonly iv: Uint8Array;
  private cipher: Cipher;
  /** Keystream bytes used so far: where a new cipher would have to start. */
  private position = 0;
  /** Keystream made ahead (a buffer from `update`), used up to `used`. */
  private keystream: Uint8Array = NO_KEYSTREAM;
  private keystreamView = new DataView(NO_KEYSTREAM.buffer);
  private used = 0;
  /** The size of the last chunk made ahead: the next one doubles it. */
  private chunkLength = 0;
  private usedSinceCheck = false;

  constructor(key: Uint8Array, iv: Uint8Array = ZERO_IV) {
    const algorithm = key.length === 16 ? 'aes-128-ctr' : key.length === 32 ? 'aes-256-ctr' : undefined;
    if (!algorithm) throw new RangeError(`AES-CTR key must be 16 or 32 bytes, got ${key.length}`);
    this.cipher = createCipheriv(algorithm, key, iv);
    this.algorithm = algorithm;
    // Kept to start a new cipher mid-stream after dropIdleKeystream (OpenSSL holds the key anyway).
    this.key = key.slice();
    this.iv = iv.slice();
  }

  /** XORs the next `data.length` keystream bytes into a new array. */
  apply(data: Uint8Array): Uint8Array {
    const out = data.slice();
    this.applyInPlace(out);
    return out;
  }

  /** XORs the next keystream bytes into `data` itself. */
  applyInPlace(data: Uint8Array): void {
    const length = data.length;
    if (length === 0) return;
    this.usedSinceCheck = true;
    this.position += length;
    let done = 0;
    let view: DataView | undefined;
    while (done < length) {
      if (this.used === this.keystream.length) {
        const rest = length - done;
        if (rest >= MAX_KEYSTREAM_AHEAD) {
          // Nothing to gain from making this much ahead: let OpenSSL do it in one go.
          data.set(this.cipher.update(done === 0 ? data : data.subarray(done)), done);
          return;
        }
        this.makeKeystream(rest);
      }
      const n = Math.min(this.keystream.length - this.used, length - done);
      view ??= new DataView(data.buffer, data.byteOffset, length);
      xorInto(view, done, this.keystreamView, this.used, n);
      done += n;
      this.used += n;
    }
  }

  /**
   * Frees the keystream made ahead if the stream was not used since the
   * previous call; the position is kept, so the next use continues exactly
   * where the last one stopped. Call it periodically (the relay engine does,
   * once a second) so idle circuits do not hold keystream.
   */
  dropIdleKeystream(): void {
    const idle = !this.usedSinceCheck;
    this.usedSinceCheck = false;
    if (!idle) return;
    this.chunkLength = 0;
    if (this.used === this.keystream.length) return;
    // The cipher already ran to the end of the chunk: start a new one where use stopped.
    this.cipher = cipherAt(this.algorithm, this.key, this.iv, this.position);
    this.keystream = NO_KEYSTREAM;
    this.keystreamView = new DataView(NO_KEYSTREAM.buffer);
    this.used = 0;
  }

  /** Bytes of keystream made ahead and not yet used (for tests and memory accounting). */
  get keystreamAhead(): number {
    return this.keystream.length - this.used;
  }

  private makeKeystream(wanted: number): void {
    this.chunkLength = Math.min(MAX_KEYSTREAM_AHEAD, Math.max(wanted, 2 * this.chunkLength));
    const keystream = this.cipher.update(ZEROS.subarray(0, this.chunkLength));
    this.keystream = keystream;
    this.keystreamView = new DataView(keystream.buffer, keystream.byteOffset, keystream.byteLength);
    this.used = 0;
  }
}

/** A CTR cipher whose keystream starts `position` bytes into the one `iv` starts. */
function cipherAt(algorithm: string, key: Uint8Array, iv: Uint8Array, position: number): Cipher {
  // OpenSSL's CTR mode counts blocks in the whole IV as one 128-bit big-endian number.
  const counter = iv.slice();
  let carry = Math.floor(position / AES_BLOCK_LENGTH);
  for (let i = AES_BLOCK_LENGTH - 1; i >= 0 && carry > 0; i--) {
    const sum = counter[i]! + (carry % 256);
    counter[i] = sum & 0xff;
    carry = Math.floor(carry / 256) + (sum >> 8);
  }
  const cipher = createCipheriv(algorithm, key, counter);
  const skip = position % AES_BLOCK_LENGTH;
  if (skip > 0) cipher.update(ZEROS.subarray(0, skip));
  return cipher;
}

/** data[at, at + n) ^= keystream[from, from + n), four bytes at a time. */
function xorInto(data: DataView, at: number, keystream: DataView, from: number, n: number): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    data.setUint32(at + i, data.getUint32(at + i) ^ keystream.getUint32(from + i));
  }
  for (; i < n; i++) data.setUint8(at + i, data.getUint8(at + i) ^ keystream.getUint8(from + i));
}
