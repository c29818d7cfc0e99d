/**
 * The directory fetcher's storage as files in the DataDirectory, under C
 * tor's names (`cached-microdesc-consensus`, `cached-certs`,
 * `cached-microdescs`: see dir-cache's DIRECTORY_STORAGE_NAMES), so that
 * the last good documents survive a restart and mean the same thing to an
 * operator who knows tor. Writes are atomic (temporary file, then rename)
 * and mode 0600; a missing file reads as "nothing stored".
 */
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError, InternalError, RelayError } from '@relayd/common';
import type { DirectoryStorage } from '@relayd/dir-cache';

const FILE_MODE = 0o600;

export class FileDirectoryStorage implements DirectoryStorage {
  constructor(private readonly dataDir: string) {}

  async read(name: string): Promise<Uint8Array | undefined> {
    try {
      const bytes = await readFile(this.path(name));
      return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new RelayError('io', 'CACHE_READ', `${this.path(name)}: ${describeError(error)}`, {
        cause: error,
      });
    }
  }

  async write(name: string, bytes: Uint8Array): Promise<void> {
    const path = this.path(name);
    const temporary = `${path}.tmp`;
    try {
      await writeFile(temporary, bytes, { mode: FILE_MODE });
      await chmod(temporary, FILE_MODE);
      await rename(temporary, path);
    } catch (error) {
      throw new RelayError('io', 'CACHE_WRITE', `${path}: ${describeError(error)}`, { cause: error });
    }
  }

  private path(name: string): string {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new InternalError(`bad cache file name ${name}`);
    return join(this.dataDir, name);
  }
}
