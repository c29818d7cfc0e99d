/**
 * Tells systemd how relayd is doing (sd_notify(3)), for relayd.service,
 * which is `Type=notify`: READY=1 once the bridge serves, RELOADING=1 and
 * READY=1 around each configuration reload, STOPPING=1 when asked to stop,
 * and WATCHDOG=1 pings when the unit sets WatchdogSec=.
 *
 * The protocol is one datagram of `NAME=value` lines sent to the AF_UNIX
 * socket named by NOTIFY_SOCKET. Node.js has no AF_UNIX datagram sockets,
 * so each notification runs `/usr/bin/systemd-notify NAME=value …` (part of
 * systemd; the generic assignment form works on every version), one at a
 * time so they arrive in order. A notification that cannot be sent is
 * logged (the first as a warning) and relayd carries on: it never crashes
 * the bridge, and a send is bounded in time.
 *
 * Why systemd-notify is left to wait for systemd (no `--no-block`):
 * systemd attributes a notification to a unit by the sender's PID, reading
 * its cgroup when it handles the datagram. Under relayd.service relayd runs
 * unprivileged, so systemd-notify cannot send with relayd's PID (that takes
 * CAP_SYS_ADMIN; the kernel refuses it with EPERM) and falls back to its
 * own; that is why the unit says `NotifyAccess=all`. If systemd-notify had
 * exited by the time systemd read the datagram, its PID would belong to no
 * unit and systemd would drop the message ("Cannot find unit for notify
 * message"; systemd-notify(1) describes this race). By default
 * systemd-notify follows its message with BARRIER=1 carrying one end of a
 * pipe and waits (up to 5 s) until systemd closes it, which systemd does
 * only after handling everything sent before: the sender is still alive
 * when its message is attributed. The wait happens in the child process,
 * not in relayd's event loop.
 *
 * NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID are removed from relayd's
 * environment as soon as they are read (takeNotifyEnvironment): they are
 * addressed to this process only, and a worker process or a pluggable
 * transport that inherited them could send READY=1 or STOPPING=1 in
 * relayd's name.
 */
import { execFile } from 'node:child_process';
import { describeError, InternalError, type Logger } from '@relayd/common';

/** Debian's (and every systemd distribution's) sd_notify command. */
export const SYSTEMD_NOTIFY = '/usr/bin/systemd-notify';

/** The variables systemd sets for a notifying service (sd_notify(3), sd_watchdog_enabled(3)). */
export const NOTIFY_ENVIRONMENT = ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID'] as const;

/**
 * How long one systemd-notify run may take before it is killed. Its own
 * wait for the barrier gives up after 5 s; this bounds anything else.
 */
export const NOTIFY_TIMEOUT_MS = 10_000;

/** How long close() waits for notifications already queued (STOPPING=1) to go out. */
export const NOTIFY_CLOSE_WAIT_MS = NOTIFY_TIMEOUT_MS;

/**
 * The longest STATUS= text sent. systemd reads at most one pipe buffer
 * (4096 bytes) per datagram and ignores a longer one whole.
 */
export const STATUS_MAX_CHARS = 512;

/** What relayd tells the service manager; each call sends one notification. */
export interface ServiceNotifier {
  /** READY=1 and a status line: start-up has finished, or a reload announced by reloading() has. */
  ready(status: string): void;
  /** RELOADING=1: a configuration reload has begun. */
  reloading(): void;
  /** STOPPING=1: relayd has been asked to stop and is shutting down. */
  stopping(): void;
  /** Stops the watchdog pings and waits (bounded) for queued notifications to be sent. */
  close(): Promise<void>;
}

/** What relayd uses when no service manager listens (NOTIFY_SOCKET unset). */
export const NO_SERVICE_NOTIFIER: ServiceNotifier = {
  ready() {},
  reloading() {},
  stopping() {},
  close: () => Promise.resolve(),
};

// ---- Messages (pure) ----

/**
 * One `NAME=value` line of a notification. A line break would start
 * another assignment (the datagram is newline-separated), so line breaks
 * and NUL become spaces; STATUS= texts are cut to STATUS_MAX_CHARS.
 */
export function notifyAssignment(name: string, value: string): string {
  if (!/^[A-Z][A-Z0-9_]*$/.test(name)) throw new InternalError(`not a notification variable: ${name}`);
  let text = value.replace(/[\r\n\0]+/g, ' ');
  if (name === 'STATUS' && text.length > STATUS_MAX_CHARS) text = `${text.slice(0, STATUS_MAX_CHARS - 1)}…`;
  return `${name}=${text}`;
}

// systemd reads READY=1, RELOADING=1 and STOPPING=1 as one state and keeps
// only the last of them in a datagram, so each message carries one.

export function readyMessage(status: string): readonly string[] {
  return ['READY=1', notifyAssignment('STATUS', status)];
}

/**
 * RELOADING=1 with the CLOCK_MONOTONIC time it began, in microseconds:
 * systemd 253's Type=notify-reload matches the reload it asked for by it;
 * older systemd ignores the field.
 */
export function reloadingMessage(monotonicMicroseconds: bigint): readonly string[] {
  return [
    'RELOADING=1',
    `MONOTONIC_USEC=${monotonicMicroseconds}`,
    notifyAssignment('STATUS', 'reloading the configuration'),
  ];
}

export function stoppingMessage(): readonly string[] {
  return ['STOPPING=1', notifyAssignment('STATUS', 'shutting down')];
}

export const WATCHDOG_MESSAGE: readonly string[] = ['WATCHDOG=1'];

/** What the bridge is, for STATUS=: its nickname, worker count and bridge lines. */
export function bridgeStatusText(bridge: {
  /** The nickname, not the fingerprint: any local user may read a unit's STATUS (systemctl status). */
  readonly nickname: string;
  readonly workers: number;
  readonly bridgeLines: number;
}): string {
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  return `serving as bridge ${bridge.nickname} with ${count(bridge.workers, 'worker')}; ${count(bridge.bridgeLines, 'bridge line')}`;
}

/** CLOCK_MONOTONIC in microseconds (libuv's hrtime reads CLOCK_MONOTONIC on Linux), as systemd counts. */
export function monotonicMicroseconds(): bigint {
  return process.hrtime.bigint() / 1000n;
}

// ---- The environment ----

/** Where notifications go, read from systemd's variables. */
export interface NotifyTarget {
  /** NOTIFY_SOCKET: a socket path, or `@name` in the abstract namespace. */
  readonly socket: string;
  /** How often to send WATCHDOG=1 (half of WATCHDOG_USEC), when systemd expects it from this process. */
  readonly watchdogPingMs: number | undefined;
  /** Why a watchdog setting was not used, for the log. */
  readonly notes: readonly string[];
}

/**
 * Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID and deletes all three
 * from `env`. Undefined when NOTIFY_SOCKET is unset or empty (not run by a
 * service manager that listens). The watchdog applies when WATCHDOG_USEC is
 * a positive number of microseconds and WATCHDOG_PID is unset or `pid`
 * (sd_watchdog_enabled(3)).
 */
export function takeNotifyEnvironment(env: NodeJS.ProcessEnv, pid: number): NotifyTarget | undefined {
  const [socket, watchdogUsec, watchdogPid] = NOTIFY_ENVIRONMENT.map((name) => env[name]);
  for (const name of NOTIFY_ENVIRONMENT) delete env[name];
  if (socket === undefined || socket === '') return undefined;
  const notes: string[] = [];
  let watchdogPingMs: number | undefined;
  if (watchdogUsec !== undefined) {
    if (!/^[1-9][0-9]{0,15}$/.test(watchdogUsec)) {
      notes.push(`WATCHDOG_USEC=${watchdogUsec} is not a number of microseconds; sending no watchdog pings`);
    } else if (watchdogPid !== undefined && watchdogPid !== String(pid)) {
      notes.push(
        `the systemd watchdog is for PID ${watchdogPid}, not this process (${pid}); sending no pings`,
      );
    } else {
      watchdogPingMs = Math.max(1, Math.floor(Number(watchdogUsec) / 2_000));
    }
  }
  return { socket, watchdogPingMs, notes };
}

// ---- Sending ----

/** Sends one notification; resolves once the service manager has it, rejects saying why not. */
export type NotifySend = (socket: string, assignments: readonly string[]) => Promise<void>;

/** Sends through systemd-notify (`program`), bounded by `timeoutMs`. */
export function systemdNotifySend(program = SYSTEMD_NOTIFY, timeoutMs = NOTIFY_TIMEOUT_MS): NotifySend {
  return (socket, assignments) =>
    new Promise((resolve, reject) => {
      execFile(
        program,
        [...assignments],
        // Nothing of relayd's environment but where to send.
        { env: { NOTIFY_SOCKET: socket }, timeout: timeoutMs, killSignal: 'SIGKILL', encoding: 'utf8' },
        (error, _stdout, stderr) => {
          if (!error) {
            resolve();
            return;
          }
          const failure = error as NodeJS.ErrnoException & { killed?: boolean };
          if (failure.code === 'ENOENT') reject(new Error(`${program} is not installed`));
          else if (failure.killed) reject(new Error(`${program} did not finish within ${timeoutMs} ms`));
          else reject(new Error(stderr.trim() || describeError(error)));
        },
      );
    });
}

/** Notifications to systemd, sent one after another through `send` (default: systemd-notify). */
export class SystemdNotifier implements ServiceNotifier {
  private queue: Promise<void> = Promise.resolve();
  private readonly watchdog: NodeJS.Timeout | undefined;
  private watchdogPending = false;
  private closed = false;
  private failures = 0;
  private readonly send: NotifySend;
  private readonly logger: Logger;

  constructor(
    readonly target: NotifyTarget,
    services: { readonly logger: Logger; readonly send?: NotifySend },
  ) {
    this.logger = services.logger;
    this.send = services.send ?? systemdNotifySend();
    if (target.watchdogPingMs !== undefined) {
      this.watchdog = setInterval(() => this.pingWatchdog(), target.watchdogPingMs);
      // The pings never keep relayd alive on their own.
      this.watchdog.unref();
    }
  }

  ready(status: string): void {
    void this.enqueue(readyMessage(status));
  }

  reloading(): void {
    void this.enqueue(reloadingMessage(monotonicMicroseconds()));
  }

  stopping(): void {
    void this.enqueue(stoppingMessage());
  }

  async close(): Promise<void> {
    if (this.watchdog) clearInterval(this.watchdog);
    this.closed = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.queue,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, NOTIFY_CLOSE_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
  }

  /** Notifications that could not be sent so far. */
  get failed(): number {
    return this.failures;
  }

  private pingWatchdog(): void {
    // One ping at a time: a slow systemd must not pile them up.
    if (this.watchdogPending) return;
    this.watchdogPending = true;
    void this.enqueue(WATCHDOG_MESSAGE).finally(() => {
      this.watchdogPending = false;
    });
  }

  private enqueue(message: readonly string[]): Promise<void> {
    if (this.closed) return Promise.resolve();
    const sent = this.queue
      .then(() => this.send(this.target.socket, message))
      .catch((error: unknown) => this.report(message, error));
    this.queue = sent;
    return sent;
  }

  private report(message: readonly string[], error: unknown): void {
    this.failures += 1;
    const fields = { notification: message.join(' '), socket: this.target.socket, err: describeError(error) };
    const text = `cannot notify systemd (${message[0]}): ${describeError(error)}`;
    if (this.failures === 1) {
      // Said once: a Type=notify unit that never gets READY=1 is stopped after TimeoutStartSec.
      this.logger.warn(fields, `${text}; relayd serves on, but systemd may not see it as started`);
    } else {
      this.logger.info(fields, text);
    }
  }
}

/** A SystemdNotifier for `target`, or NO_SERVICE_NOTIFIER without one; logs the target's notes. */
export function createServiceNotifier(
  target: NotifyTarget | undefined,
  services: { readonly logger: Logger; readonly send?: NotifySend },
): ServiceNotifier {
  if (!target) return NO_SERVICE_NOTIFIER;
  for (const note of target.notes) services.logger.warn({}, note);
  return new SystemdNotifier(target, services);
}
