/**
 * @relayd/telemetry: the process-level implementations of common's service
 * interfaces. Today: the pino-backed Logger with tor's levels, the config's
 * `Log` destinations and SafeLogging. The only package that imports pino.
 */
export { DEFAULT_LOG_LEVEL, LOG_LEVEL_NAMES, LOG_LEVELS, type LogLevelName } from './levels.js';
export {
  createLogger,
  type LogDestinationSetting,
  type LogSinkSetting,
  type LogStream,
  openDefaultDestination,
  type RelaydLogger,
  type TelemetryLoggerOptions,
} from './logger.js';
export { applySafeLogging, type SafeLoggingMode, SCRUBBED } from './safe-logging.js';
