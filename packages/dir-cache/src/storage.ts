/**
 * Where the fetcher keeps the last good copy of each document, behind an
 * interface so this package does no file I/O itself. The process that owns
 * the DataDirectory implements it with files under `DataDirectory/` (the
 * names are C tor's, so the files mean the same thing to an operator);
 * tests use `MemoryDirectoryStorage`.
 */

/** The files C tor keeps its directory cache in (tor: networkstatus.c, authcert.c, microdesc.c). */
export const DIRECTORY_STORAGE_NAMES = {
  consensus: 'cached-microdesc-consensus',
  certificates: 'cached-certs',
  microdescriptors: 'cached-microdescs',
} as const;

export interface DirectoryStorage {
  /** The bytes last written under `name`, or undefined if there are none. */
  read(name: string): Promise<Uint8Array | undefined>;
  /** Replaces what is kept under `name` (an implementation should write atomically). */
  write(name: string, bytes: Uint8Array): Promise<void>;
}

/** A storage that keeps copies in memory. */
export class MemoryDirectoryStorage implements DirectoryStorage {
  readonly files = new Map<string, Uint8Array>();

  async read(name: string): Promise<Uint8Array | undefined> {
    return this.files.get(name)?.slice();
  }

  async write(name: string, bytes: Uint8Array): Promise<void> {
    this.files.set(name, bytes.slice());
  }
}
