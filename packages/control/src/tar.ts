/**
 * The POSIX ustar archive format (POSIX.1-1988 / IEEE Std 1003.1, "pax"
 * utility, ustar Interchange Format), as much of it as a key backup needs:
 * regular files and directories, names up to 100 bytes, octal numeric
 * fields. Any tar reads what this writes (`tar tvf backup.tar`).
 *
 * Header block (512 bytes; numbers are octal ASCII, NUL-terminated):
 *
 *   offset size field          offset size field
 *        0  100 name              257    6 magic "ustar\0"
 *      100    8 mode              263    2 version "00"
 *      108    8 uid               265   32 uname
 *      116    8 gid               297   32 gname
 *      124   12 size              329    8 devmajor
 *      136   12 mtime             337    8 devminor
 *      148    8 chksum            345  155 prefix
 *      156    1 typeflag ('0' file, '5' directory)
 *      157  100 linkname
 *
 * chksum is the sum of the header's bytes with the chksum field read as
 * spaces. Each file's data follows its header, padded to 512 bytes; two
 * zero blocks end the archive. Reading is total: a damaged, truncated or
 * hostile archive gives an error naming what is wrong, never a throw, and
 * nothing but files and directories is accepted (no links, devices, or
 * GNU/pax extension headers).
 */
import { err, ok, type Result } from '@relayd/common';

const BLOCK = 512;
const NAME_LENGTH = 100;
/** "ustar": POSIX writes "ustar\0" + "00", GNU tar "ustar  \0"; both start so. */
const USTAR_MAGIC = [0x75, 0x73, 0x74, 0x61, 0x72];
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export interface TarEntry {
  /** Relative path with "/" separators; no trailing "/" for directories. */
  readonly path: string;
  readonly type: 'file' | 'directory';
  /** Permission bits. */
  readonly mode: number;
  readonly mtimeMs: number;
  /** File contents (empty for directories). */
  readonly bytes: Uint8Array;
}

export interface TarLimits {
  readonly maxEntries: number;
  readonly maxTotalBytes: number;
}

function writeOctal(header: Uint8Array, offset: number, length: number, value: number): void {
  // length - 1 digits, then NUL.
  const text = Math.floor(value)
    .toString(8)
    .padStart(length - 1, '0');
  if (text.length > length - 1) throw new RangeError(`tar field value ${value} does not fit`);
  header.set(encoder.encode(text), offset);
  header[offset + length - 1] = 0;
}

function writeText(header: Uint8Array, offset: number, length: number, text: string): void {
  const bytes = encoder.encode(text);
  if (bytes.length > length) throw new RangeError(`tar field "${text}" is longer than ${length} bytes`);
  header.set(bytes, offset);
}

function checksum(header: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!;
  return sum;
}

function headerFor(entry: TarEntry): Uint8Array {
  const header = new Uint8Array(BLOCK);
  const name = entry.type === 'directory' ? `${entry.path}/` : entry.path;
  if (encoder.encode(name).length > NAME_LENGTH) {
    throw new RangeError(`tar entry name ${name} is longer than ${NAME_LENGTH} bytes`);
  }
  writeText(header, 0, NAME_LENGTH, name);
  writeOctal(header, 100, 8, entry.mode & 0o7777);
  writeOctal(header, 108, 8, 0);
  writeOctal(header, 116, 8, 0);
  writeOctal(header, 124, 12, entry.type === 'file' ? entry.bytes.length : 0);
  writeOctal(header, 136, 12, Math.floor(entry.mtimeMs / 1000));
  header[156] = entry.type === 'file' ? 0x30 : 0x35;
  writeText(header, 257, 6, 'ustar\0');
  writeText(header, 263, 2, '00');
  writeText(header, 265, 32, 'root');
  writeText(header, 297, 32, 'root');
  writeOctal(header, 329, 8, 0);
  writeOctal(header, 337, 8, 0);
  // chksum: six octal digits, NUL, space (the form every tar writes).
  const sum = checksum(header);
  writeText(header, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return header;
}

/** Builds an archive. Throws RangeError for a name over 100 bytes (a programming error here). */
export function writeTar(entries: readonly TarEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let length = 0;
  for (const entry of entries) {
    const header = headerFor(entry);
    parts.push(header);
    length += BLOCK;
    if (entry.type === 'file') {
      const padded = Math.ceil(entry.bytes.length / BLOCK) * BLOCK;
      const data = new Uint8Array(padded);
      data.set(entry.bytes);
      parts.push(data);
      length += padded;
    }
  }
  parts.push(new Uint8Array(2 * BLOCK));
  length += 2 * BLOCK;
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function readField(header: Uint8Array, offset: number, length: number): Result<string, string> {
  let end = offset;
  while (end < offset + length && header[end] !== 0) end++;
  try {
    return ok(decoder.decode(header.subarray(offset, end)));
  } catch {
    return err('is not valid UTF-8');
  }
}

function readOctal(header: Uint8Array, offset: number, length: number): number | undefined {
  const field = readField(header, offset, length);
  if (!field.ok) return undefined;
  const text = field.value.trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) return undefined;
  const value = Number.parseInt(text, 8);
  return Number.isSafeInteger(value) ? value : undefined;
}

function isZeroBlock(block: Uint8Array): boolean {
  for (const b of block) if (b !== 0) return false;
  return true;
}

/** Reads an archive. Total: every input gives entries or one sentence saying what is wrong. */
export function readTar(archive: Uint8Array, limits: TarLimits): Result<TarEntry[], string> {
  const entries: TarEntry[] = [];
  let total = 0;
  let at = 0;
  for (;;) {
    if (at + BLOCK > archive.length) return err('the archive ends without its end-of-archive blocks');
    const header = archive.subarray(at, at + BLOCK);
    if (isZeroBlock(header)) return ok(entries);
    const position = `header at byte ${at}`;
    const stored = readOctal(header, 148, 8);
    if (stored === undefined || stored !== checksum(header)) return err(`${position}: bad checksum`);
    if (!USTAR_MAGIC.every((b, i) => header[257 + i] === b)) {
      return err(`${position}: not a ustar header`);
    }
    const name = readField(header, 0, NAME_LENGTH);
    const prefix = readField(header, 345, 155);
    if (!name.ok || !prefix.ok) return err(`${position}: the name is not valid UTF-8`);
    const fullName = prefix.value === '' ? name.value : `${prefix.value}/${name.value}`;
    const typeflag = header[156]!;
    const type = typeflag === 0x30 || typeflag === 0 ? 'file' : typeflag === 0x35 ? 'directory' : undefined;
    if (type === undefined) {
      return err(
        `entry ${JSON.stringify(fullName)} is of tar type ${JSON.stringify(String.fromCharCode(typeflag))}; a key backup holds only files and directories`,
      );
    }
    const mode = readOctal(header, 100, 8);
    const size = readOctal(header, 124, 12);
    const mtime = readOctal(header, 136, 12);
    if (mode === undefined || size === undefined || mtime === undefined) {
      return err(`entry ${JSON.stringify(fullName)}: a numeric field is not octal`);
    }
    if (type === 'directory' && size !== 0) return err(`directory ${JSON.stringify(fullName)} has a size`);
    if (entries.length >= limits.maxEntries) return err(`more than ${limits.maxEntries} entries`);
    total += size;
    if (total > limits.maxTotalBytes) return err(`more than ${limits.maxTotalBytes} bytes of files`);
    const dataStart = at + BLOCK;
    const dataEnd = dataStart + size;
    if (dataEnd > archive.length) return err(`entry ${JSON.stringify(fullName)} is truncated`);
    entries.push({
      path: type === 'directory' ? fullName.replace(/\/+$/, '') : fullName,
      type,
      mode: mode & 0o7777,
      mtimeMs: mtime * 1000,
      bytes: archive.slice(dataStart, dataEnd),
    });
    at = dataStart + Math.ceil(size / BLOCK) * BLOCK;
  }
}
