/**
 * tor's log severities as relayd's log levels (tor: src/lib/log/log.h
 * LOG_DEBUG … LOG_ERR; the names `Log` lines use). pino numbers them so
 * that a higher number is more severe; `notice`, tor's default, sits between
 * pino's info (30) and warn (40).
 */

export const LOG_LEVELS = {
  debug: 20,
  info: 30,
  notice: 35,
  warn: 40,
  err: 50,
} as const;

/** A tor log severity: debug, info, notice, warn or err. */
export type LogLevelName = keyof typeof LOG_LEVELS;

/** From least to most severe. */
export const LOG_LEVEL_NAMES: readonly LogLevelName[] = ['debug', 'info', 'notice', 'warn', 'err'];

/** tor's default when no `Log` line is given: notice and above to standard output. */
export const DEFAULT_LOG_LEVEL: LogLevelName = 'notice';
