/**
 * Reading configuration files from disk: the top-level file and what its
 * `%include`s name, with C tor's rules (tor: src/lib/fs/conffile.c
 * `config_get_file_list`): `*` and `?` wildcards (escaped with a backslash),
 * matches sorted; a file is read, a directory contributes its files (not
 * subdirectories, not dot-files) in sorted order, empty files are skipped;
 * a path without wildcards that does not exist is an error, a wildcard that
 * matches nothing is not.
 *
 * One difference from tor: a relative `%include` path is taken relative to
 * the directory of the file that includes it, not to the working directory.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { err, ok, type Result } from '@relayd/common';
import type { ConfigDiagnostic } from './diagnostics.js';
import {
  type ConfigFailure,
  type ParseConfigOptions,
  type ParsedConfig,
  parseConfig,
} from './parse-config.js';
import type { IncludedFile, IncludeReader } from './torrc-include.js';

function describeFsError(error: unknown, path: string): string {
  const code = (error as { code?: string }).code;
  if (code === 'ENOENT') return `no such file or directory: ${path}`;
  if (code === 'EACCES') return `permission denied: ${path}`;
  if (code === 'EISDIR') return `is a directory: ${path}`;
  return `cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`;
}

function hasWildcard(component: string): boolean {
  return /(^|[^\\])[*?]/.test(component);
}

function unescapeGlob(text: string): string {
  return text.replace(/\\(.)/g, '$1');
}

/** A wildcard path component as a regular expression over one directory entry name. */
function componentMatcher(component: string): RegExp {
  let re = '';
  for (let i = 0; i < component.length; i++) {
    const c = component[i]!;
    if (c === '\\' && i + 1 < component.length) re += component[++i]!.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Expands wildcards in an absolute path, component by component, to the sorted existing matches. */
function expandWildcards(pattern: string): string[] {
  const components = pattern.split('/').filter((c) => c !== '');
  let paths = ['/'];
  for (const component of components) {
    if (!hasWildcard(component)) {
      paths = paths.map((p) => join(p, unescapeGlob(component)));
      continue;
    }
    const matcher = componentMatcher(component);
    const next: string[] = [];
    for (const dir of paths) {
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        continue;
      }
      for (const name of names) {
        // As glob(3): dot-files match only a pattern that starts with a dot.
        if (name.startsWith('.') && !component.startsWith('.')) continue;
        if (matcher.test(name)) next.push(join(dir, name));
      }
    }
    paths = next;
  }
  return paths.sort();
}

function statOrUndefined(path: string) {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/**
 * An IncludeReader over the real file system. `topFile` maps the top-level
 * file's resolved path back to the name it was given, so a file including
 * it is recognised as a loop.
 */
export function fileIncludeReader(topFile?: {
  readonly path: string;
  readonly fileName: string;
}): IncludeReader {
  const topResolved = topFile ? resolve(topFile.path) : null;
  const nameOf = (path: string) => (topFile && path === topResolved ? topFile.fileName : path);
  return (pattern, fromFile): Result<readonly IncludedFile[], string> => {
    const fromPath = fromFile === topFile?.fileName ? topFile.path : fromFile;
    const absolute = isAbsolute(pattern) ? pattern : join(dirname(resolve(fromPath)), pattern);
    const wildcard = absolute.split('/').some(hasWildcard);
    const matches = wildcard ? expandWildcards(absolute) : [resolve(unescapeGlob(absolute))];
    const files: string[] = [];
    for (const match of matches) {
      const st = statOrUndefined(match);
      if (!st) return err(`no such file or directory: ${match}`);
      if (st.isFile()) {
        if (st.size > 0) files.push(match);
      } else if (st.isDirectory()) {
        let names: string[];
        try {
          names = readdirSync(match).sort();
        } catch (error) {
          return err(describeFsError(error, match));
        }
        for (const name of names) {
          if (name.startsWith('.')) continue;
          const full = join(match, name);
          const inner = statOrUndefined(full);
          if (inner?.isFile() && inner.size > 0) files.push(full);
        }
      } else {
        return err(`not a file or directory: ${match}`);
      }
    }
    const out: IncludedFile[] = [];
    for (const file of files) {
      try {
        out.push({ fileName: nameOf(file), text: readFileSync(file, 'utf8') });
      } catch (error) {
        return err(describeFsError(error, file));
      }
    }
    return ok(out);
  };
}

/**
 * Reads and parses a configuration file and everything it includes.
 * Diagnostics name the file as `path` was given.
 */
export function loadConfigFile(
  path: string,
  options: Omit<ParseConfigOptions, 'fileName' | 'readInclude'> = {},
): Result<ParsedConfig, ConfigFailure> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const failure: ConfigDiagnostic = {
      severity: 'error',
      code: 'unreadable',
      file: path,
      line: null,
      option: null,
      message: describeFsError(error, path),
    };
    return err({ errors: [failure], warnings: [] });
  }
  return parseConfig(text, {
    ...options,
    fileName: path,
    readInclude: fileIncludeReader({ path, fileName: path }),
  });
}
