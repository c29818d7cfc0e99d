/**
 * parseConfig: torrc text to a RelaydConfig, reporting every problem with its
 * file and line. Steps: lex and splice `%include`s (torrc-include.ts); name
 * each keyword (option-names.ts); parse each value with its option's type
 * and assign it as C tor's `config_assign_line` does (tor:
 * src/lib/confmgt/confmgt.c); then compose and cross-check (relayd-config.ts).
 *
 * Assignment rules, as in C tor with one configuration file:
 * - a single-valued option given twice keeps the last value, with a warning;
 * - list options collect every line, in file order (includes spliced in place);
 * - an empty value resets a single-valued option to its default; an empty
 *   list entry is skipped with a warning;
 * - `/Option` clears what earlier lines set; `+Option` is the same as
 *   `Option` (there is no lower-priority file for it to append to).
 */
import { availableParallelism } from 'node:os';
import { err, ok, type Result } from '@relayd/common';
import type { ConfigDiagnostic, DiagnosticCode } from './diagnostics.js';
import { resolveOptionName } from './option-names.js';
import { type CollectedOptions, composeConfig, type Located, type RelaydConfig } from './relayd-config.js';
import { type OptionName, type OptionValue, optionSpec } from './schema.js';
import { type IncludeReader, readTorrcEntries } from './torrc-include.js';
import type { TorrcEntry } from './torrc-syntax.js';

export interface ParseConfigOptions {
  /** Name of the configuration file, for diagnostics (default "torrc"). */
  readonly fileName?: string;
  /** Reads `%include`d files; without it an `%include` is an error. See `fileIncludeReader`. */
  readonly readInclude?: IncludeReader;
  /** CPU cores, for `Workers auto` (default: this machine's `os.availableParallelism()`). */
  readonly cpuCount?: number;
}

export interface ParsedConfig {
  readonly config: RelaydConfig;
  readonly warnings: ConfigDiagnostic[];
}

export interface ConfigFailure {
  /** Every error found, in file order (files in the order read, then lines; errors of no single line last). */
  readonly errors: ConfigDiagnostic[];
  /** Warnings found along the way, worth showing with the errors. */
  readonly warnings: ConfigDiagnostic[];
}

/**
 * Why relayd ignores some C tor options operators commonly have in a
 * bridge torrc, appended to the "not implemented" warning.
 */
const IGNORED_OPTION_REASONS: Readonly<Record<string, string>> = {
  ExitPolicy: 'relayd is a bridge and never an exit',
  ExitRelay: 'relayd is a bridge and never an exit',
  IPv6Exit: 'relayd is a bridge and never an exit',
  ReducedExitPolicy: 'relayd is a bridge and never an exit',
  ControlPort: 'relayd is controlled with relayctl over ControlSocket',
  CookieAuthentication: 'relayd is controlled with relayctl over ControlSocket',
  HashedControlPassword: 'relayd is controlled with relayctl over ControlSocket',
  RunAsDaemon: 'run relayd under a service manager such as systemd',
  User: 'run relayd under a service manager such as systemd, as the user it should be',
  PidFile: 'run relayd under a service manager such as systemd',
  NumCPUs: 'relayd spreads work over processes; see Workers',
  DirPort: 'relayd serves directory documents over BEGIN_DIR only, as bridges do',
  DirCache: 'relayd is always a directory cache for its clients',
  MyFamily: 'bridges must not declare a family',
  AccountingMax: 'relayd does not hibernate; limit bandwidth with BandwidthRate',
  AccountingStart: 'relayd does not hibernate; limit bandwidth with BandwidthRate',
};

class OptionCollector implements CollectedOptions {
  private readonly values = new Map<OptionName, Located<unknown>[]>();

  single<K extends OptionName>(name: K): Located<OptionValue<K>> | undefined {
    return this.values.get(name)?.at(-1) as Located<OptionValue<K>> | undefined;
  }

  list<K extends OptionName>(name: K): Located<OptionValue<K>>[] {
    return [...((this.values.get(name) ?? []) as Located<OptionValue<K>>[])];
  }

  /** The last line that set `name`, if any. */
  last(name: OptionName): Located<unknown> | undefined {
    return this.values.get(name)?.at(-1);
  }

  clear(name: OptionName): void {
    this.values.delete(name);
  }

  set(name: OptionName, value: Located<unknown>): void {
    this.values.set(name, [value]);
  }

  add(name: OptionName, value: Located<unknown>): void {
    const list = this.values.get(name);
    if (list) list.push(value);
    else this.values.set(name, [value]);
  }
}

export function parseConfig(
  text: string,
  options: ParseConfigOptions = {},
): Result<ParsedConfig, ConfigFailure> {
  const fileName = options.fileName ?? 'torrc';
  const read = readTorrcEntries(text, {
    fileName,
    ...(options.readInclude ? { readInclude: options.readInclude } : {}),
  });
  const diagnostics: ConfigDiagnostic[] = [...read.diagnostics];
  const collected = new OptionCollector();
  const failedOptions = new Set<OptionName>();

  const note = (
    entry: TorrcEntry,
    severity: 'error' | 'warning',
    code: DiagnosticCode,
    option: string | null,
    message: string,
  ) => diagnostics.push({ severity, code, file: entry.file, line: entry.line, option, message });

  for (const entry of read.entries) {
    const resolved = resolveOptionName(entry.key);
    if (resolved.kind === 'unknown') {
      const hint = resolved.suggestion ? ` Did you mean '${resolved.suggestion}'?` : '';
      note(entry, 'error', 'unknown-option', null, `Unknown option '${entry.key}'.${hint}`);
      continue;
    }
    if (resolved.alias?.deprecated) {
      note(
        entry,
        'warning',
        'deprecated-name',
        resolved.name,
        `the option name '${entry.key}' is deprecated; use '${resolved.name}' instead`,
      );
    }
    if (resolved.kind === 'obsolete') {
      note(
        entry,
        'warning',
        'obsolete-option',
        resolved.name,
        `'${resolved.name}' is obsolete (in C tor too) and ignored`,
      );
      continue;
    }
    if (resolved.kind === 'tor') {
      const reason = IGNORED_OPTION_REASONS[resolved.name];
      note(
        entry,
        'warning',
        'unimplemented-option',
        resolved.name,
        `'${resolved.name}' is a C tor option relayd does not implement; ignored${reason ? ` (${reason})` : ''}`,
      );
      continue;
    }

    const name = resolved.name;
    const spec = optionSpec(name);
    if (entry.value === '') {
      if (entry.prefix === 'clear' || spec.kind === 'single') collected.clear(name);
      else note(entry, 'warning', 'empty-value', name, `list option '${name}' has no value; skipped`);
      continue;
    }
    const parsed = spec.type.parse(entry.value);
    if (!parsed.ok) {
      failedOptions.add(name);
      note(entry, 'error', spec.failureCode ?? 'bad-value', name, `${name}: ${parsed.error}`);
      continue;
    }
    for (const w of parsed.value.warnings) note(entry, 'warning', 'questionable', name, `${name}: ${w}`);
    const located = { value: parsed.value.value, file: entry.file, line: entry.line };
    if (spec.kind === 'list') {
      collected.add(name, located);
      continue;
    }
    const earlier = collected.last(name);
    if (earlier) {
      const where = earlier.file === entry.file ? `line ${earlier.line}` : `${earlier.file}:${earlier.line}`;
      note(
        entry,
        'warning',
        'repeated-option',
        name,
        `'${name}' is set more than once (also at ${where}); the last value counts`,
      );
    }
    collected.set(name, located);
  }

  const composed = composeConfig(collected, {
    fileName,
    files: read.files,
    cpuCount: options.cpuCount ?? availableParallelism(),
    failedOptions,
  });
  diagnostics.push(...composed.diagnostics);
  // File order: by file (in the order they were read), then line; diagnostics about no line last.
  const fileRank = new Map(read.files.map((f, i) => [f, i]));
  const position = (d: ConfigDiagnostic) => [
    fileRank.get(d.file) ?? read.files.length,
    d.line ?? Number.MAX_SAFE_INTEGER,
  ];
  diagnostics.sort((a, b) => {
    const [fa, la] = position(a);
    const [fb, lb] = position(b);
    return fa! - fb! || la! - lb!;
  });
  const errors = diagnostics.filter((d) => d.severity === 'error');
  const warnings = diagnostics.filter((d) => d.severity === 'warning');
  if (errors.length > 0 || composed.config === null) return err({ errors, warnings });
  return ok({ config: composed.config, warnings });
}
