/**
 * `%include` (tor: src/lib/fs/conffile.c, src/lib/encoding/confline.c
 * `config_get_lines_aux`): an entry whose keyword is exactly `%include` is
 * replaced, in place, by the entries of the files its value names. Which
 * files a value names (globs, directories, empty files) is the reader's
 * business, injected so that this module stays pure; see load.ts for the
 * file-system reader that follows C tor's rules.
 *
 * Beyond C tor, which only stops at 31 nested levels, an include loop is
 * reported as such, naming the chain of files.
 */
import type { Result } from '@relayd/common';
import type { ConfigDiagnostic } from './diagnostics.js';
import { lexTorrc, type TorrcEntry } from './torrc-syntax.js';

/** A file an `%include` expanded to. */
export interface IncludedFile {
  /** The name diagnostics will show for it, and the identity used to detect loops. */
  readonly fileName: string;
  readonly text: string;
}

/**
 * Resolves the value of an `%include` written in `fromFile` to the files it
 * names, in the order they are to be read. An error is a one-line reason
 * ("no such file or directory: /etc/tor/x").
 */
export type IncludeReader = (pattern: string, fromFile: string) => Result<readonly IncludedFile[], string>;

/** tor: MAX_INCLUDE_RECURSION_LEVEL in src/lib/encoding/confline.h. */
export const MAX_INCLUDE_DEPTH = 31;

export const INCLUDE_KEYWORD = '%include';

export interface ReadTorrcOptions {
  /** Name of the top-level file, for diagnostics. */
  readonly fileName: string;
  /** How to read included files; without one, every `%include` is an error. */
  readonly readInclude?: IncludeReader;
}

export interface TorrcEntries {
  readonly entries: TorrcEntry[];
  readonly diagnostics: ConfigDiagnostic[];
  /** Every file read, top-level first (for reload watching and for logs). */
  readonly files: string[];
}

/** Lexes `text` and splices in every `%include`, depth first, as C tor does. */
export function readTorrcEntries(text: string, options: ReadTorrcOptions): TorrcEntries {
  const entries: TorrcEntry[] = [];
  const diagnostics: ConfigDiagnostic[] = [];
  const files: string[] = [];

  const visit = (fileText: string, fileName: string, chain: string[]) => {
    files.push(fileName);
    const lexed = lexTorrc(fileText, fileName);
    diagnostics.push(...lexed.diagnostics);
    for (const entry of lexed.entries) {
      if (entry.key !== INCLUDE_KEYWORD) {
        entries.push(entry);
        continue;
      }
      const includeError = (message: string) =>
        diagnostics.push({
          severity: 'error',
          code: 'include',
          file: entry.file,
          line: entry.line,
          option: INCLUDE_KEYWORD,
          message,
        });
      if (entry.value === '') {
        includeError('%include needs a file or directory name');
        continue;
      }
      if (!options.readInclude) {
        includeError(`%include "${entry.value}": includes are not available here`);
        continue;
      }
      if (chain.length >= MAX_INCLUDE_DEPTH) {
        includeError(`%include "${entry.value}": more than ${MAX_INCLUDE_DEPTH} nested %includes`);
        continue;
      }
      const resolved = options.readInclude(entry.value, fileName);
      if (!resolved.ok) {
        includeError(`%include "${entry.value}": ${resolved.error}`);
        continue;
      }
      for (const included of resolved.value) {
        if (chain.includes(included.fileName)) {
          includeError(`%include loop: ${[...chain, included.fileName].join(' -> ')}`);
          continue;
        }
        visit(included.text, included.fileName, [...chain, included.fileName]);
      }
    }
  };

  visit(text, options.fileName, [options.fileName]);
  return { entries, diagnostics, files };
}
