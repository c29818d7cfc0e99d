/**
 * Errors and warnings about a configuration, each tied to the file and line
 * that caused it. Diagnostics are plain data so they cross the worker
 * boundary and print the same everywhere (`FILE:LINE: message`).
 */
import { RelayError } from '@relayd/common';

/** What a diagnostic is about. Every code is either always an error or always a warning. */
export const DiagnosticCode = {
  /** Error: the configuration file itself cannot be read. */
  unreadable: 'unreadable',
  /** Error: the torrc syntax is broken (bad quoting, bad escape, NUL byte). */
  syntax: 'syntax',
  /** Error: an `%include` could not be read, loops, or nests too deeply. */
  include: 'include',
  /** Error: the option is known neither to relayd nor to C tor. */
  unknownOption: 'unknown-option',
  /** Error: the value of a known option is malformed or out of range. */
  badValue: 'bad-value',
  /** Error: options contradict each other, or a required option is missing. */
  conflict: 'conflict',
  /** Error: a C tor feature relayd deliberately refuses (for example a SocksPort). */
  unsupported: 'unsupported',
  /** Warning: a C tor option that relayd accepts and ignores. */
  unimplementedOption: 'unimplemented-option',
  /** Warning: an option C tor itself marks obsolete; ignored. */
  obsoleteOption: 'obsolete-option',
  /** Warning: an old alias of an option name (for example `DirServer`). */
  deprecatedName: 'deprecated-name',
  /** Warning: a single-valued option given more than once; the last one counts. */
  repeatedOption: 'repeated-option',
  /** Warning: a list option without a value; skipped, as C tor does. */
  emptyValue: 'empty-value',
  /** Warning: the value is accepted but probably not what the operator meant. */
  questionable: 'questionable',
} as const;

export type DiagnosticCode = (typeof DiagnosticCode)[keyof typeof DiagnosticCode];

export interface ConfigDiagnostic {
  readonly severity: 'error' | 'warning';
  readonly code: DiagnosticCode;
  /** The file as named to the parser (the path given with `-f`, or an included path). */
  readonly file: string;
  /** 1-based line where the entry starts; null when no single line is to blame (a missing option). */
  readonly line: number | null;
  /** Canonical name of the option concerned, when there is one. */
  readonly option: string | null;
  readonly message: string;
}

/** `FILE:LINE: message`, the form compilers use, so editors can jump to it. */
export function formatDiagnostic(d: ConfigDiagnostic): string {
  const where = d.line === null ? d.file : `${d.file}:${d.line}`;
  return d.severity === 'warning' ? `${where}: warning: ${d.message}` : `${where}: ${d.message}`;
}

/** A configuration that failed to load, for callers that prefer to throw. */
export class ConfigInvalidError extends RelayError {
  readonly errors: readonly ConfigDiagnostic[];
  readonly warnings: readonly ConfigDiagnostic[];

  constructor(file: string, errors: readonly ConfigDiagnostic[], warnings: readonly ConfigDiagnostic[]) {
    const n = errors.length;
    super(
      'bad-config',
      'CONFIG_INVALID',
      `${file}: configuration is invalid (${n} error${n === 1 ? '' : 's'})`,
    );
    this.name = 'ConfigInvalidError';
    this.errors = errors;
    this.warnings = warnings;
  }
}
