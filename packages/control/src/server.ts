/**
 * The control socket server: a unix stream socket (never TCP) on which the
 * supervisor answers relayctl's requests through a ControlDispatcher.
 *
 * Who may connect is decided by the socket file, which Linux checks on
 * connect(): the caller needs write permission on the socket and search
 * permission on every directory above it. relayd creates the socket owned by
 * its own user and by ControlSocketGroup (when set), with mode 0600, 0660
 * (GroupWritable) or 0666 (WorldWritable), so only root, relayd's user and —
 * with GroupWritable — the group's members get through. The socket is bound
 * inside a fresh private directory (0700), given its mode and group there,
 * and only then renamed to its path, so it is never reachable with looser
 * permissions, not even for an instant. (When that staging path would not
 * fit in a socket address, the socket is bound in place under a umask of
 * 0177 instead, and only in a directory nobody else may write to.) The
 * peer's credentials are NOT checked on top: Node exposes
 * no SO_PEERCRED, and /proc cannot tie an accepted connection to its peer
 * process reliably; the file permissions are the gate.
 *
 * Per connection: requests are answered one at a time in order; a request
 * line is at most `maxRequestBytes` (longer: a `too-large` answer, then the
 * connection is closed); a connection with no request in flight that
 * completes no request line for `idleTimeoutMs` is closed (bytes of an
 * unfinished line do not keep it open); at most `maxConnections` are served
 * at once (more get `busy` and are closed). A peer that half-closes still
 * gets its answers. Nothing a peer sends can make the server throw.
 *
 * An existing socket at the path is replaced only if nothing answers on it
 * (left over from a crash); if a daemon answers, the start fails (IN_USE).
 * Anything else at the path (a file, a directory) is never deleted.
 */
import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdtempSync,
  renameSync,
  rmSync,
  type Stats,
  statSync,
  unlinkSync,
} from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { describeError, type Logger } from '@relayd/common';
import type { RelaydConfig } from '@relayd/config';
import { ControlDispatcher } from './dispatcher.js';
import { ControlErrorCode, ControlSocketError, ControlSocketErrorCode } from './errors.js';
import { resolveGroupId } from './group.js';
import { LineReader } from './line-reader.js';
import { DEFAULT_MAX_REQUEST_BYTES, encodeControlResponse, errorResponse } from './protocol.js';
import type { ControlTarget } from './target.js';

/** sun_path holds 108 bytes including the terminating NUL (Linux unix(7)). */
export const MAX_UNIX_SOCKET_PATH_BYTES = 107;
export const DEFAULT_CONTROL_IDLE_TIMEOUT_MS = 60_000;
export const DEFAULT_MAX_CONTROL_CONNECTIONS = 16;
/** Mode of the socket without GroupWritable / WorldWritable. */
export const CONTROL_SOCKET_MODE_PRIVATE = 0o600;
export const CONTROL_SOCKET_MODE_GROUP = 0o660;
export const CONTROL_SOCKET_MODE_WORLD = 0o666;
/** Complete request lines held per connection before reading pauses. */
const MAX_QUEUED_LINES = 8;
/** How long close() lets connections finish their answer before cutting them. */
const CLOSE_GRACE_MS = 1_000;
/** How long the probe of an existing socket may take. */
const PROBE_TIMEOUT_MS = 1_000;

export interface ControlServerOptions {
  /** Absolute path of the socket. */
  readonly path: string;
  /** CONTROL_SOCKET_MODE_PRIVATE, _GROUP or _WORLD. */
  readonly mode: number;
  /** Group to own the socket (a name from /etc/group, or a number); null: the daemon's group. */
  readonly group: string | null;
  readonly maxRequestBytes?: number;
  readonly idleTimeoutMs?: number;
  readonly maxConnections?: number;
  /** Where group names are looked up (tests). Default /etc/group. */
  readonly groupFile?: string;
}

export interface ControlServerModules {
  readonly logger: Logger;
}

/** The control socket options of a configuration; null with `ControlSocket 0`. */
export function controlServerOptions(config: RelaydConfig): ControlServerOptions | null {
  const setting = config.controlSocket;
  if (setting === null) return null;
  return {
    path: setting.path,
    mode: setting.worldWritable
      ? CONTROL_SOCKET_MODE_WORLD
      : setting.groupWritable
        ? CONTROL_SOCKET_MODE_GROUP
        : CONTROL_SOCKET_MODE_PRIVATE,
    group: config.controlSocketGroup,
  };
}

export interface ControlServer {
  readonly path: string;
  readonly mode: number;
  /** The socket's group, or undefined when it kept the daemon's. */
  readonly gid: number | undefined;
  /** Connections open now. */
  readonly connections: number;
  /** Stops accepting, lets open connections finish their answer (briefly), removes the socket file. */
  close(): Promise<void>;
}

function fsCode(error: unknown): string | undefined {
  return (error as { code?: string }).code;
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}

/** Whether something answers on the unix socket at `path`. */
function probeSocket(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ path });
    const finish = (answered: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answered);
    };
    const timer = setTimeout(() => finish(true), PROBE_TIMEOUT_MS);
    socket.once('connect', () => finish(true));
    socket.once('error', (error) => finish(fsCode(error) !== 'ECONNREFUSED' && fsCode(error) !== 'ENOENT'));
  });
}

/** Refuses a path in use or occupied by something else; returns whether a stale socket is there. */
async function checkExisting(path: string): Promise<void> {
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch (error) {
    if (fsCode(error) === 'ENOENT') return;
    throw new ControlSocketError(ControlSocketErrorCode.FAILED, `${path}: ${describeError(error)}`, {
      cause: error,
    });
  }
  if (!st.isSocket()) {
    throw new ControlSocketError(
      ControlSocketErrorCode.NOT_A_SOCKET,
      `${path} exists and is not a socket; relayd will not delete it (move it away or choose another ControlSocket)`,
    );
  }
  if (await probeSocket(path)) {
    throw new ControlSocketError(
      ControlSocketErrorCode.IN_USE,
      `another process answers on the control socket ${path} (is relayd already running on this DataDirectory?)`,
    );
  }
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen({ path, exclusive: true }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/**
 * Binds `server` so that the socket appears at `path` already with `mode`
 * and `gid` (see the module comment). Returns the socket's inode.
 */
async function bindSocket(
  server: Server,
  path: string,
  mode: number,
  gid: number | undefined,
): Promise<number> {
  const dir = dirname(path);
  const staging = mkdtempSync(join(dir, '.ctl-'));
  const stagedPath = join(staging, 's');
  try {
    if (Buffer.byteLength(stagedPath) <= MAX_UNIX_SOCKET_PATH_BYTES) {
      await listen(server, stagedPath);
      chmodSync(stagedPath, mode);
      if (gid !== undefined) chownSync(stagedPath, -1, gid);
      renameSync(stagedPath, path);
    } else {
      // The path is too long for the staging directory: bind in place, born with no access for group or
      // others (umask 0177), then opened up. No other JavaScript runs between the two umask calls. chmod
      // and chown follow symbolic links, so this is done only where nobody else can swap the file.
      const parent = lstatSync(dir);
      const uid = process.getuid?.() ?? 0;
      if ((parent.uid !== uid && parent.uid !== 0) || (parent.mode & 0o022) !== 0) {
        throw new ControlSocketError(
          ControlSocketErrorCode.BAD_PATH,
          `control socket path ${path} is too long to create safely in ${dir}, which others may write to; ` +
            'use a shorter path or a directory only relayd writes',
        );
      }
      const previous = process.umask(0o177);
      try {
        server.listen({ path, exclusive: true });
      } finally {
        process.umask(previous);
      }
      await new Promise<void>((resolve, reject) => {
        if (server.listening) resolve();
        server.once('listening', resolve);
        server.once('error', reject);
      });
      if (gid !== undefined) chownSync(path, -1, gid);
      chmodSync(path, mode);
    }
    return lstatSync(path).ino;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** Opens the control socket and answers requests on it through `target`. */
export async function startControlServer(
  options: ControlServerOptions,
  target: ControlTarget,
  modules: ControlServerModules,
): Promise<ControlServer> {
  const { path, mode } = options;
  const logger = modules.logger;
  if (!isAbsolute(path)) {
    throw new ControlSocketError(
      ControlSocketErrorCode.BAD_PATH,
      `control socket path ${path} is not absolute`,
    );
  }
  if (Buffer.byteLength(path) > MAX_UNIX_SOCKET_PATH_BYTES) {
    throw new ControlSocketError(
      ControlSocketErrorCode.BAD_PATH,
      `control socket path ${path} is longer than the ${MAX_UNIX_SOCKET_PATH_BYTES} bytes a unix socket address holds`,
    );
  }
  if ((mode & ~0o666) !== 0) {
    throw new ControlSocketError(
      ControlSocketErrorCode.BAD_PATH,
      `control socket mode ${octal(mode)} is not one of 0600, 0660, 0666`,
    );
  }
  const gid = options.group === null ? undefined : resolveGroupId(options.group, options.groupFile);
  await checkExisting(path);

  const dispatcher = new ControlDispatcher(target, { logger });
  const maxRequestBytes = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_CONTROL_IDLE_TIMEOUT_MS;
  const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONTROL_CONNECTIONS;
  const open = new Set<Socket>();
  let closing: Promise<void> | undefined;

  const server = createServer({ allowHalfOpen: true, pauseOnConnect: false }, (socket) => {
    if (closing || open.size >= maxConnections) {
      socket.on('error', () => {});
      // Read (and drop) whatever it sends, so its end is seen and the socket closes.
      socket.resume();
      setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
      socket.end(
        `${encodeControlResponse(
          errorResponse(
            null,
            ControlErrorCode.BUSY,
            closing ? 'relayd is shutting down' : `too many control connections (at most ${maxConnections})`,
          ),
        )}\n`,
      );
      return;
    }
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    serveConnection(socket, dispatcher, { maxRequestBytes, idleTimeoutMs }, logger);
  });

  let inode: number;
  try {
    inode = await bindSocket(server, path, mode, gid);
  } catch (error) {
    server.close();
    if (error instanceof ControlSocketError) throw error;
    throw new ControlSocketError(
      ControlSocketErrorCode.FAILED,
      `cannot open the control socket ${path}: ${describeError(error)}`,
      { cause: error },
    );
  }
  server.on('error', (error) => {
    logger.warn({ err: describeError(error) }, `control socket error: ${describeError(error)}`);
  });
  logger.notice(
    { path, mode: octal(mode), gid },
    `control socket listening on ${path} (mode ${octal(mode)}${gid === undefined ? '' : `, group ${options.group}`})`,
  );

  return {
    path,
    mode,
    gid,
    get connections() {
      return open.size;
    },
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const socket of open) socket.end();
        const grace = setTimeout(() => {
          for (const socket of open) socket.destroy();
        }, CLOSE_GRACE_MS);
        grace.unref();
        await closed;
        clearTimeout(grace);
        // Remove the socket file only if it is still ours (a new relayd may have replaced it).
        try {
          if (statSafeInode(path) === inode) unlinkSync(path);
        } catch (error) {
          logger.debug({ err: describeError(error) }, `could not remove ${basename(path)}`);
        }
      })();
      return closing;
    },
  };
}

function statSafeInode(path: string): number | undefined {
  try {
    return lstatSync(path).ino;
  } catch {
    return undefined;
  }
}

interface ConnectionLimits {
  readonly maxRequestBytes: number;
  readonly idleTimeoutMs: number;
}

/** Serves one connection: requests in order, bounded, with an idle timeout. */
function serveConnection(
  socket: Socket,
  dispatcher: ControlDispatcher,
  limits: ConnectionLimits,
  logger: Logger,
): void {
  const reader = new LineReader(limits.maxRequestBytes);
  const queue: string[] = [];
  let busy = false;
  let peerEnded = false;
  let overflow = false;
  let idle: NodeJS.Timeout | undefined;

  const disarmIdle = () => {
    if (idle !== undefined) clearTimeout(idle);
    idle = undefined;
  };
  const armIdle = () => {
    disarmIdle();
    if (socket.destroyed) return;
    idle = setTimeout(() => {
      logger.debug({}, 'control connection idle; closing it');
      socket.destroy();
    }, limits.idleTimeoutMs);
    idle.unref();
  };

  const writeLine = (line: string): Promise<void> =>
    new Promise((resolve) => {
      if (socket.destroyed || !socket.writable) return resolve();
      if (socket.write(`${line}\n`)) return resolve();
      const done = () => {
        socket.off('drain', done);
        socket.off('close', done);
        resolve();
      };
      socket.on('drain', done);
      socket.on('close', done);
    });

  const pump = async () => {
    if (busy) return;
    busy = true;
    disarmIdle();
    try {
      while (queue.length > 0 && !socket.destroyed) {
        const line = queue.shift()!;
        if (queue.length < MAX_QUEUED_LINES && !overflow && socket.isPaused()) socket.resume();
        if (line.trim() === '') continue;
        await writeLine(await dispatcher.answerLine(line));
      }
      if (socket.destroyed) return;
      if (overflow) {
        await writeLine(
          encodeControlResponse(
            errorResponse(
              null,
              ControlErrorCode.TOO_LARGE,
              `a request line is longer than ${limits.maxRequestBytes} bytes; closing the connection`,
            ),
          ),
        );
        socket.end();
        // The peer may keep sending; it has had its answer. What it sends is dropped.
        socket.resume();
        setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
        return;
      }
      if (peerEnded) {
        socket.end();
        return;
      }
      armIdle();
    } finally {
      busy = false;
    }
  };

  socket.on('data', (chunk: Buffer) => {
    if (overflow) return;
    const pushed = reader.push(chunk);
    queue.push(...pushed.lines);
    if (pushed.overflow) {
      overflow = true;
      socket.pause();
    } else if (queue.length >= MAX_QUEUED_LINES) socket.pause();
    // Only a complete request counts as activity: a line trickling in byte by byte still times out.
    if (pushed.lines.length > 0 || pushed.overflow) void pump();
  });
  socket.on('end', () => {
    peerEnded = true;
    const last = reader.finish();
    if (last !== undefined) queue.push(last);
    if (reader.hasOverflowed) overflow = true;
    void pump();
  });
  socket.on('error', (error) => {
    logger.debug({ err: describeError(error) }, `control connection error: ${describeError(error)}`);
    socket.destroy();
  });
  socket.on('close', disarmIdle);
  armIdle();
}

/** The mode bits of the socket file at `path` (for status and tests). */
export function socketFileMode(path: string): number {
  return statSync(path).mode & 0o777;
}
