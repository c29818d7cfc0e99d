/**
 * The `Log` option (tor: src/app/config/config.c `options_init_logs`,
 * src/lib/log/log.c `parse_log_severity_config`):
 *
 *     Log minSeverity[-maxSeverity] stderr|stdout|syslog
 *     Log minSeverity[-maxSeverity] file FILENAME
 *     Log [domain,…]minSeverity[-maxSeverity] … destination
 *
 * Severities are debug, info, notice, warn and err. With no destination tor
 * logs to stdout. relayd has no tor log domains: a line with domain-qualified
 * ranges is accepted, logs every message in the union of its ranges, and
 * gets a warning saying so.
 */
import { err, ok, type Result } from '@relayd/common';

/** From least to most severe. */
export const LOG_SEVERITIES = ['debug', 'info', 'notice', 'warn', 'err'] as const;
export type LogSeverity = (typeof LOG_SEVERITIES)[number];

export type LogDestination =
  | { readonly kind: 'stdout' | 'stderr' | 'syslog' }
  | { readonly kind: 'file'; readonly path: string };

export interface LogSetting {
  /** Least severe level written. */
  readonly minSeverity: LogSeverity;
  /** Most severe level written (usually err). */
  readonly maxSeverity: LogSeverity;
  readonly destination: LogDestination;
}

/** tor's log domains (src/lib/log/log.c `domain_list`), accepted for compatibility. */
export const TOR_LOG_DOMAINS: readonly string[] = [
  'GENERAL',
  'CRYPTO',
  'NET',
  'CONFIG',
  'FS',
  'PROTOCOL',
  'MM',
  'HTTP',
  'APP',
  'CONTROL',
  'CIRC',
  'REND',
  'BUG',
  'DIR',
  'DIRSERV',
  'OR',
  'EDGE',
  'ACCT',
  'HIST',
  'HANDSHAKE',
  'HEARTBEAT',
  'CHANNEL',
  'SCHED',
  'GUARD',
  'CONSDIFF',
  'DOS',
  'PROCESS',
  'PT',
  'BTRACK',
  'MESG',
];

function severityIndex(text: string): number {
  return LOG_SEVERITIES.indexOf(text.toLowerCase() as LogSeverity);
}

export interface ParsedLogLine {
  readonly setting: LogSetting;
  readonly warnings: string[];
}

/** Parses the value of one `Log` line. */
export function parseLogLine(line: string): Result<ParsedLogLine, string> {
  let rest = line.trim();
  const warnings: string[] = [];
  let low = Number.POSITIVE_INFINITY;
  let high = -1;
  let unqualifiedRanges = 0;
  let usedDomains = false;

  while (rest !== '') {
    if (rest.startsWith('[')) {
      const close = rest.indexOf(']');
      if (close < 0) return err(`missing ']' in log domains of "Log ${line}"`);
      for (const raw of rest.slice(1, close).split(',')) {
        const domain = raw.trim().replace(/^~/, '');
        if (domain !== '*' && !TOR_LOG_DOMAINS.includes(domain.toUpperCase()))
          return err(`no such logging domain as "${domain}" in "Log ${line}"`);
      }
      usedDomains = true;
      rest = rest.slice(close + 1).trimStart();
    } else {
      unqualifiedRanges++;
    }
    if (/^(file|stderr|stdout|syslog)/i.test(rest)) break;
    if (unqualifiedRanges > 1) return err(`more than one severity range in "Log ${line}"`);
    const word = /^\S*/.exec(rest)![0];
    const dash = word.indexOf('-');
    const lo = severityIndex(dash >= 0 ? word.slice(0, dash) : word);
    const hi = dash >= 0 ? severityIndex(word.slice(dash + 1)) : LOG_SEVERITIES.length - 1;
    if (lo < 0 || hi < 0) {
      return err(
        `bad severity "${word}" in "Log ${line}" (use debug, info, notice, warn or err, as min[-max])`,
      );
    }
    if (lo > hi) return err(`severity range "${word}" runs from more to less severe in "Log ${line}"`);
    low = Math.min(low, lo);
    high = Math.max(high, hi);
    rest = rest.slice(word.length).trimStart();
  }
  if (high < 0) return err(`no severity in "Log ${line}"`);
  if (usedDomains) {
    warnings.push(
      `relayd has no log domains; "Log ${line}" logs every message from ${LOG_SEVERITIES[low]} to ${LOG_SEVERITIES[high]}`,
    );
  }

  let destination: LogDestination;
  const words = rest === '' ? [] : rest.split(/\s+/);
  const kind = words[0]?.toLowerCase();
  if (words.length === 0) {
    destination = { kind: 'stdout' };
  } else if (words.length === 1 && (kind === 'stdout' || kind === 'stderr' || kind === 'syslog')) {
    destination = { kind };
  } else if (kind === 'file' && words.length >= 2) {
    // tor splits at most once after "file": the file name may contain spaces.
    destination = { kind: 'file', path: rest.slice(rest.search(/\s/)).trim() };
  } else {
    return err(`bad destination in "Log ${line}" (use stdout, stderr, syslog or file FILENAME)`);
  }
  return ok({
    setting: { minSeverity: LOG_SEVERITIES[low]!, maxSeverity: LOG_SEVERITIES[high]!, destination },
    warnings,
  });
}
