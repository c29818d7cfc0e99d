/**
 * relayd's logger: common's `Logger` over pino, writing one JSON object per
 * line to the destinations of the config's `Log` lines.
 *
 * Each `Log MIN[-MAX] DEST` line becomes one sink: a pino instance writing
 * to that destination at MIN and above, with MAX enforced here (pino has no
 * upper bound). Which sinks take which level is worked out once, so a
 * disabled level (debug, normally) costs one array-length check.
 *
 * A line looks like
 *   {"level":"notice","time":"2025-01-01T00:00:00.000Z","pid":42,"module":"supervisor","msg":"…"}
 * with the caller's fields (and the bindings of child loggers) as keys.
 *
 * Destinations are written synchronously, as C tor writes its logs: a crash
 * loses no line, and at the default level (notice) a bridge logs a few lines
 * an hour. Files are opened for appending (mode 0600, parent directories
 * created) when the logger is made, so a bad path fails at start-up. tor's `syslog`
 * has no writer here: such a line writes to standard error, which the
 * service manager's journal collects, and says so once.
 */
import type { Logger } from '@relayd/common';
import pino from 'pino';
import { DEFAULT_LOG_LEVEL, LOG_LEVEL_NAMES, LOG_LEVELS, type LogLevelName } from './levels.js';
import { applySafeLogging, type SafeLoggingMode } from './safe-logging.js';

/** Where a `Log` line writes (the shape of config's LogDestination). */
export type LogDestinationSetting =
  | { readonly kind: 'stdout' | 'stderr' | 'syslog' }
  | { readonly kind: 'file'; readonly path: string };

/** One `Log` line (the shape of config's LogSetting). */
export interface LogSinkSetting {
  readonly minSeverity: LogLevelName;
  readonly maxSeverity: LogLevelName;
  readonly destination: LogDestinationSetting;
}

/** Something a log line can be written to: a string per line, newline included. */
export interface LogStream {
  write(line: string): void;
  /** Writes out what is buffered, synchronously. */
  flushSync?(): void;
  /** Flushes and closes; called by `RelaydLogger.close()`. */
  end?(): void;
}

export interface TelemetryLoggerOptions {
  /** The `Log` lines; none means tor's default, notice and above to stdout. */
  readonly logs: readonly LogSinkSetting[];
  readonly safeLogging: SafeLoggingMode;
  /** Fields on every line (e.g. `{ process: 'supervisor' }`). */
  readonly bindings?: Record<string, unknown>;
  /** Opens a destination; the default writes to the real stdout, stderr and files. Tests pass their own. */
  readonly openDestination?: (destination: LogDestinationSetting) => LogStream;
}

/** A Logger that can also be flushed and closed (on shutdown). */
export interface RelaydLogger extends Logger {
  child(bindings: object): RelaydLogger;
  /** True if a line at `level` would be written anywhere. */
  isLevelEnabled(level: LogLevelName): boolean;
  /** Writes out what file destinations buffer. */
  flush(): void;
  /** Flushes and closes every destination; later lines are dropped. */
  close(): void;
}

type PinoSink = pino.Logger<LogLevelName, true>;

interface Sink {
  readonly logger: PinoSink;
  readonly min: number;
  readonly max: number;
}

/** Shared by a logger and all its children: the open streams. */
interface Destinations {
  readonly streams: LogStream[];
  closed: boolean;
}

const FILE_MODE = 0o600;

export function openDefaultDestination(destination: LogDestinationSetting): LogStream {
  switch (destination.kind) {
    case 'stdout':
      return pino.destination({ dest: 1, sync: true });
    case 'stderr':
    case 'syslog':
      return pino.destination({ dest: 2, sync: true });
    case 'file':
      return pino.destination({
        dest: destination.path,
        sync: true,
        append: true,
        mkdir: true,
        mode: FILE_MODE,
      });
  }
}

function pinoSink(
  stream: LogStream,
  minSeverity: LogLevelName,
  safeLogging: SafeLoggingMode,
  bindings: Record<string, unknown>,
): PinoSink {
  return pino<LogLevelName, true>(
    {
      level: minSeverity,
      customLevels: LOG_LEVELS,
      useOnlyCustomLevels: true,
      // pino runs its bindings formatter on the base only, not on children: scrub here.
      base: applySafeLogging({ pid: process.pid, ...bindings }, safeLogging),
      timestamp: pino.stdTimeFunctions.isoTime,
      messageKey: 'msg',
      formatters: {
        level: (label) => ({ level: label }),
        log: (fields) => applySafeLogging(fields, safeLogging),
      },
    },
    stream,
  );
}

class PinoLogger implements RelaydLogger {
  /** For each level, the sinks that write it. */
  private readonly byLevel: Record<LogLevelName, readonly Sink[]>;

  constructor(
    private readonly sinks: readonly Sink[],
    private readonly destinations: Destinations,
    private readonly safeLogging: SafeLoggingMode,
  ) {
    const byLevel = {} as Record<LogLevelName, Sink[]>;
    for (const name of LOG_LEVEL_NAMES) {
      const value = LOG_LEVELS[name];
      byLevel[name] = sinks.filter((s) => value >= s.min && value <= s.max);
    }
    this.byLevel = byLevel;
  }

  error(fields: object, message: string): void {
    this.write('err', fields, message);
  }
  warn(fields: object, message: string): void {
    this.write('warn', fields, message);
  }
  notice(fields: object, message: string): void {
    this.write('notice', fields, message);
  }
  info(fields: object, message: string): void {
    this.write('info', fields, message);
  }
  debug(fields: object, message: string): void {
    this.write('debug', fields, message);
  }

  child(bindings: object): RelaydLogger {
    const scrubbed = applySafeLogging(bindings as Record<string, unknown>, this.safeLogging);
    return new PinoLogger(
      this.sinks.map((s) => ({ ...s, logger: s.logger.child(scrubbed) as PinoSink })),
      this.destinations,
      this.safeLogging,
    );
  }

  isLevelEnabled(level: LogLevelName): boolean {
    return this.byLevel[level].length > 0 && !this.destinations.closed;
  }

  flush(): void {
    for (const stream of this.destinations.streams) {
      try {
        stream.flushSync?.();
      } catch {
        // A stream that is not ready (still opening) has nothing to flush.
      }
    }
  }

  close(): void {
    if (this.destinations.closed) return;
    this.flush();
    this.destinations.closed = true;
    for (const stream of this.destinations.streams) stream.end?.();
  }

  private write(level: LogLevelName, fields: object, message: string): void {
    const sinks = this.byLevel[level];
    if (sinks.length === 0 || this.destinations.closed) return;
    for (const sink of sinks) sink.logger[level](fields, message);
  }
}

function levelValue(name: LogLevelName): number {
  return LOG_LEVELS[name];
}

/**
 * Builds the logger for a process from the config's `Log` lines and
 * SafeLogging. Destinations that name the same place (two lines writing to
 * stdout, or to one file) share one stream.
 */
export function createLogger(opts: TelemetryLoggerOptions): RelaydLogger {
  const open = opts.openDestination ?? openDefaultDestination;
  const settings: readonly LogSinkSetting[] =
    opts.logs.length > 0
      ? opts.logs
      : [{ minSeverity: DEFAULT_LOG_LEVEL, maxSeverity: 'err', destination: { kind: 'stdout' } }];
  const byPlace = new Map<string, LogStream>();
  const destinations: Destinations = { streams: [], closed: false };
  const sinks: Sink[] = [];
  for (const setting of settings) {
    const place =
      setting.destination.kind === 'file'
        ? `file:${setting.destination.path}`
        : setting.destination.kind === 'stdout'
          ? 'stdout'
          : 'stderr';
    let stream = byPlace.get(place);
    if (!stream) {
      stream = open(setting.destination);
      byPlace.set(place, stream);
      destinations.streams.push(stream);
    }
    sinks.push({
      logger: pinoSink(stream, setting.minSeverity, opts.safeLogging, opts.bindings ?? {}),
      min: levelValue(setting.minSeverity),
      max: levelValue(setting.maxSeverity),
    });
  }
  const logger = new PinoLogger(sinks, destinations, opts.safeLogging);
  if (settings.some((s) => s.destination.kind === 'syslog')) {
    logger.notice({}, 'relayd does not write to syslog; "Log … syslog" lines go to standard error');
  }
  return logger;
}
