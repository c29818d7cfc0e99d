/**
 * Encoded response bodies, so a document is compressed once per version and
 * encoding, not once per request.
 *
 * Keys name content, not requests: a single document's key is its digest
 * and a set of documents' key is the sorted list of their digests (fresh
 * clients of one consensus ask for the same microdescriptor batches, so
 * those repeat too). Contents behind a key never change, so entries never
 * go stale; they are only evicted, least recently used first, when the
 * byte budget is exceeded. Concurrent requests for one key share one
 * compression. A failed compression is not cached.
 */
import { type ContentEncoding, encodeBody } from './compression.js';

/** Default byte budget: a few real consensuses plus many microdescriptor batches. */
export const DEFAULT_ENCODED_BODY_CACHE_BYTES = 64 * 1024 * 1024;

interface Entry {
  readonly body: Promise<Uint8Array>;
  size: number;
}

export class EncodedBodyCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  private hits = 0;
  private misses = 0;

  constructor(private readonly maxBytes: number = DEFAULT_ENCODED_BODY_CACHE_BYTES) {}

  /**
   * The body encoded with `encoding`, from the cache or made now with
   * `makeRaw()` (called only on a miss). `identity` bodies are not cached:
   * they are the documents' own bytes, or a cheap concatenation of them.
   */
  encoded(
    key: string,
    encoding: ContentEncoding,
    level: number,
    makeRaw: () => Uint8Array,
  ): Promise<Uint8Array> {
    if (encoding === 'identity') return Promise.resolve(makeRaw());
    const fullKey = `${encoding}:${key}`;
    const found = this.entries.get(fullKey);
    if (found) {
      this.hits++;
      // Map order is insertion order: re-inserting marks the entry most recently used.
      this.entries.delete(fullKey);
      this.entries.set(fullKey, found);
      return found.body;
    }
    this.misses++;
    const entry: Entry = { body: encodeBody(makeRaw(), encoding, level), size: 0 };
    this.entries.set(fullKey, entry);
    entry.body.then(
      (body) => {
        if (this.entries.get(fullKey) !== entry) return;
        entry.size = body.length;
        this.bytes += body.length;
        this.evict();
      },
      () => {
        if (this.entries.get(fullKey) === entry) this.entries.delete(fullKey);
      },
    );
    return entry.body;
  }

  /** Counters for operators: how often a request was served without compressing. */
  stats(): { entries: number; bytes: number; hits: number; misses: number } {
    return { entries: this.entries.size, bytes: this.bytes, hits: this.hits, misses: this.misses };
  }

  private evict(): void {
    for (const [key, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) return;
      // Entries still compressing have size 0 and are skipped: they cost nothing yet.
      if (entry.size === 0) continue;
      this.entries.delete(key);
      this.bytes -= entry.size;
    }
  }
}
