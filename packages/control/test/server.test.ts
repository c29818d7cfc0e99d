import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '@relayd/common';
import fc from 'fast-check';
import {
  type ControlClientError,
  type ControlServer,
  ControlSocketError,
  controlCall,
  controlServerOptions,
  resolveGroupId,
  startControlServer,
} from '../src/index.js';
import { FakeTarget, STATUS } from './fake-target.js';

const root = mkdtempSync(join(tmpdir(), 'relayd-control-'));
chmodSync(root, 0o755);
const servers: ControlServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
  rmSync(root, { recursive: true, force: true });
});

let counter = 0;
function freshDir(mode = 0o755): string {
  const dir = join(root, `d${++counter}`);
  mkdirSync(dir);
  chmodSync(dir, mode);
  return dir;
}

async function serve(
  options: Partial<Parameters<typeof startControlServer>[0]> = {},
  target = new FakeTarget(),
): Promise<{ server: ControlServer; target: FakeTarget; path: string }> {
  const path = options.path ?? join(freshDir(), 'control.sock');
  const server = await startControlServer({ path, mode: 0o600, group: null, ...options }, target, {
    logger: silentLogger,
  });
  servers.push(server);
  return { server, target, path };
}

/** A raw connection: send text, collect answer lines until `count` arrived or the peer closed. */
function exchange(
  path: string,
  text: string | Uint8Array,
  count: number,
  endAfterWrite = false,
): Promise<{ lines: string[]; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ path });
    let buffer = '';
    const lines: string[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer: got ${JSON.stringify(lines)}`));
    }, 5_000);
    const done = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ lines, closed });
    };
    socket.on('connect', () => {
      socket.write(text);
      if (endAfterWrite) socket.end();
    });
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      let i = buffer.indexOf('\n');
      while (i >= 0) {
        lines.push(buffer.slice(0, i));
        buffer = buffer.slice(i + 1);
        i = buffer.indexOf('\n');
      }
      if (lines.length >= count) done(false);
    });
    socket.on('close', () => done(true));
    socket.on('error', () => {});
  });
}

/**
 * Leaves a socket file at `path` that nothing listens on, as a crashed
 * daemon does (a closing Node server removes its own socket file, so it is
 * bound elsewhere and moved).
 */
async function leaveOrphanSocket(path: string): Promise<void> {
  const bound = `${path}.orphan`;
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(bound, resolve));
  renameSync(bound, path);
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

const STATUS_REQUEST = `${JSON.stringify({ v: 1, id: 1, method: 'status' })}\n`;

describe('control socket server', () => {
  it('answers relayctl requests with the target reports', async () => {
    const { path } = await serve();
    assert.deepEqual(await controlCall({ path }, 'status'), STATUS);
    const restarted = await controlCall({ path }, 'workers.restart', { worker: 2 });
    assert.equal(restarted.pid, 4302);
    await assert.rejects(controlCall({ path }, 'workers.drain', { worker: 7 }), (e: ControlClientError) => {
      assert.equal(e.failure, 'remote');
      assert.equal(e.remoteCode, 'no-such-worker');
      assert.equal(e.message, 'there is no worker 7 (workers: 1-2)');
      return true;
    });
  });

  it('creates the socket with the mode asked for, and the group', async () => {
    const priv = await serve({ mode: 0o600 });
    assert.equal(statSync(priv.path).mode & 0o777, 0o600);
    assert.ok(statSync(priv.path).isSocket());
    // Root may give the socket any group; another user only one of its own.
    const otherGid = process.getuid?.() === 0 ? 65534 : process.getgid!();
    const group = await serve({ mode: 0o660, group: String(otherGid) });
    const st = statSync(group.path);
    assert.equal(st.mode & 0o777, 0o660);
    assert.equal(st.gid, otherGid);
    assert.equal(resolveGroupId('root'), 0, 'names are looked up in /etc/group');
    assert.equal(group.server.gid, st.gid);
    const world = await serve({ mode: 0o666 });
    assert.equal(statSync(world.path).mode & 0o777, 0o666);
    assert.equal(statSync(world.path).gid, process.getgid!(), "without a group: the daemon's");
    // Nothing of the staging directory is left beside the socket.
    assert.deepEqual(readdirSync(join(group.path, '..')), ['control.sock']);
  });

  it('binds in place when a staging path would not fit a socket address', async () => {
    // A directory of 98 bytes: "/.ctl-XXXXXX/s" below it would exceed the 107 a socket address holds.
    const deepDir = (mode: number) => {
      const base = freshDir();
      const dir = join(base, 'x'.repeat(98 - base.length - 1));
      mkdirSync(dir);
      chmodSync(dir, mode);
      return dir;
    };
    const dir = deepDir(0o755);
    assert.equal(dir.length, 98);
    const { path } = await serve({ path: join(dir, 'c.sock'), mode: 0o660 });
    assert.equal(statSync(path).mode & 0o777, 0o660);
    assert.deepEqual(readdirSync(dir), ['c.sock'], 'no staging directory was used');
    assert.deepEqual(await controlCall({ path }, 'bridge-lines'), await new FakeTarget().bridgeLines());
    // Not in a directory others may write to: they could swap the socket for a link before its chmod.
    const shared = deepDir(0o777);
    const refused = await serve({ path: join(shared, 'c.sock'), mode: 0o660 }).catch((e) => e);
    assert.equal(refused.code, 'CONTROL_SOCKET_BAD_PATH');
    assert.match(refused.message, /too long to create safely/);
    assert.deepEqual(readdirSync(shared), [], 'nothing left behind');
  });

  it('maps the configuration onto the socket options', () => {
    const base = { controlSocketGroup: null } as const;
    const socket = (groupWritable: boolean, worldWritable: boolean) =>
      controlServerOptions({
        ...base,
        controlSocket: { path: '/run/relayd/control.sock', groupWritable, worldWritable },
      } as never);
    assert.deepEqual(socket(false, false), { path: '/run/relayd/control.sock', mode: 0o600, group: null });
    assert.equal(socket(true, false)?.mode, 0o660);
    assert.equal(socket(true, true)?.mode, 0o666);
    assert.equal(controlServerOptions({ controlSocket: null, controlSocketGroup: null } as never), null);
  });

  it('answers pipelined requests in order, on one connection, also after a half-close', async () => {
    const { path } = await serve();
    const requests = [1, 2, 3].map((id) => JSON.stringify({ v: 1, id, method: 'circuits' })).join('\n');
    const { lines } = await exchange(path, `${requests}\n\n${STATUS_REQUEST}`, 4);
    assert.deepEqual(
      lines.map((l) => JSON.parse(l).id),
      [1, 2, 3, 1],
    );
    // The client sends its request and half-closes; the answer still comes, then the server closes.
    const half = await exchange(path, '{"v":1,"id":"last","method":"workers"}', 2, true);
    assert.equal(half.lines.length, 1);
    assert.equal(JSON.parse(half.lines[0]!).id, 'last');
    assert.equal(half.closed, true);
  });

  it('answers malformed lines with an error and keeps the connection', async () => {
    const { path } = await serve();
    const { lines, closed } = await exchange(
      path,
      `garbage\n{"v":9,"id":4,"method":"status"}\n${STATUS_REQUEST}`,
      3,
    );
    assert.equal(closed, false);
    assert.deepEqual(
      lines.map((l) => {
        const r = JSON.parse(l);
        return r.ok ? 'ok' : r.error.code;
      }),
      ['malformed', 'unsupported-version', 'ok'],
    );
  });

  it('refuses an over-long request line and closes the connection', async () => {
    const { path } = await serve({ maxRequestBytes: 64 });
    const { lines, closed } = await exchange(
      path,
      `${STATUS_REQUEST}${'x'.repeat(10_000)}\n${STATUS_REQUEST}`,
      3,
    );
    assert.equal(closed, true);
    assert.equal(lines.length, 2);
    assert.equal(JSON.parse(lines[0]!).ok, true);
    assert.deepEqual(JSON.parse(lines[1]!).error, {
      code: 'too-large',
      message: 'a request line is longer than 64 bytes; closing the connection',
    });
  });

  it('closes an idle connection, and turns away connections beyond the limit', async () => {
    const { path, server } = await serve({ idleTimeoutMs: 200, maxConnections: 2 });
    const start = Date.now();
    const idle = await exchange(path, '', 1);
    assert.equal(idle.closed, true);
    assert.ok(Date.now() - start >= 150, 'closed after the idle timeout, not at once');
    // Bytes that never complete a line do not keep a connection open.
    const trickle = createConnection({ path });
    trickle.on('error', () => {});
    const trickling = setInterval(() => trickle.write('x'), 50);
    const trickleStart = Date.now();
    await new Promise((resolve) => trickle.once('close', resolve));
    clearInterval(trickling);
    assert.ok(Date.now() - trickleStart < 1_000, 'closed after the idle timeout despite the trickle');
    const held = [createConnection({ path }), createConnection({ path })];
    await Promise.all(held.map((s) => new Promise((resolve) => s.once('connect', resolve))));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(server.connections, 2);
    const third = await exchange(path, STATUS_REQUEST, 1);
    assert.equal(JSON.parse(third.lines[0]!).error.code, 'busy');
    for (const s of held) s.destroy();
  });

  it('survives any bytes a peer sends, and still answers afterwards', async () => {
    const { path } = await serve({ maxRequestBytes: 512 });
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.uint8Array({ maxLength: 300 }),
            fc.jsonValue().map((v) => new TextEncoder().encode(`${JSON.stringify(v)}\n`)),
            fc.string().map((s) => new TextEncoder().encode(`${s}\n`)),
          ),
          { minLength: 1, maxLength: 5 },
        ),
        async (chunks) => {
          const data = Buffer.concat(chunks);
          // Whatever happens to this connection, the server must keep serving others.
          await exchange(path, data, 1_000_000, true).catch(() => {});
          const r = await controlCall({ path }, 'status');
          assert.equal(r.fingerprint, STATUS.fingerprint);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('replaces a stale socket, refuses one in use, and never deletes other files', async () => {
    const dir = freshDir();
    const path = join(dir, 'control.sock');
    // Something answers on the path: another daemon.
    const live: Server = createServer();
    await new Promise<void>((resolve) => live.listen(path, resolve));
    const first = await serve({ path }).catch((e) => e);
    assert.ok(first instanceof ControlSocketError, 'a live socket is in use');
    assert.equal(first.code, 'CONTROL_SOCKET_IN_USE');
    await new Promise<void>((resolve) => live.close(() => resolve()));
    await leaveOrphanSocket(path);
    assert.ok(statSync(path).isSocket(), 'a socket file nobody listens on');
    const { server } = await serve({ path });
    assert.equal((await controlCall({ path }, 'status')).pid, STATUS.pid);
    await server.close();
    assert.throws(() => statSync(path), /ENOENT/, 'close() removes the socket file');

    const file = join(dir, 'not-a-socket');
    writeFileSync(file, 'keep me');
    const refused = await serve({ path: file }).catch((e) => e);
    assert.equal(refused.code, 'CONTROL_SOCKET_NOT_A_SOCKET');
    assert.equal(statSync(file).size, 7);
  });

  it('refuses bad paths and unknown groups before touching anything', async () => {
    await assert.rejects(serve({ path: 'relative.sock' }), /not absolute/);
    await assert.rejects(serve({ path: `/${'x'.repeat(200)}` }), /longer than the 107 bytes/);
    await assert.rejects(serve({ group: 'no-such-group-here' }), (e: ControlSocketError) => {
      return e.code === 'CONTROL_SOCKET_NO_SUCH_GROUP' && /no such group in \/etc\/group/.test(e.message);
    });
    const groups = join(freshDir(), 'group');
    writeFileSync(groups, 'root:x:0:\nrelayctl:x:4711:alice,bob\nbroken:x::\n');
    assert.equal(resolveGroupId('relayctl', groups), 4711);
    assert.equal(resolveGroupId('0', groups), 0);
    assert.throws(() => resolveGroupId('broken', groups), /no such group/);
  });
});

describe('control client failures', () => {
  it('says relayd is not running when there is no socket, or nothing answers', async () => {
    const missing = join(freshDir(), 'control.sock');
    await assert.rejects(controlCall({ path: missing }, 'status'), (e: ControlClientError) => {
      assert.equal(e.failure, 'not-running');
      assert.equal(e.message, `relayd is not running: there is no control socket at ${missing}`);
      return true;
    });
    // A socket file nobody listens on any more (the daemon was killed).
    const orphan = join(freshDir(), 'control.sock');
    await leaveOrphanSocket(orphan);
    await assert.rejects(controlCall({ path: orphan }, 'status'), (e: ControlClientError) => {
      assert.equal(e.failure, 'not-running');
      assert.match(e.message, /nothing answers on the control socket/);
      return true;
    });
  });

  it('times out on a daemon that does not answer', async () => {
    const path = join(freshDir(), 'mute.sock');
    const mute = createServer((s) => s.resume());
    await new Promise<void>((resolve) => mute.listen(path, resolve));
    try {
      await assert.rejects(controlCall({ path, timeoutMs: 200 }, 'status'), (e: ControlClientError) => {
        assert.equal(e.failure, 'timeout');
        assert.match(e.message, /did not answer status within 0.2 s/);
        return true;
      });
    } finally {
      mute.close();
    }
  });

  it('reports an answer that is not this protocol', async () => {
    const path = join(freshDir(), 'http.sock');
    const http = createServer((s) => s.resume().end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    await new Promise<void>((resolve) => http.listen(path, resolve));
    try {
      await assert.rejects(
        controlCall({ path }, 'status'),
        (e: ControlClientError) => e.failure === 'protocol',
      );
    } finally {
      http.close();
    }
  });
});

/** Runs controlCall in a process with the given user and group; resolves with its failure or "ok". */
function callAs(uid: number, gid: number, path: string): Promise<string> {
  const entry = fileURLToPath(new URL('../src/index.js', import.meta.url));
  const script = `import { controlCall } from ${JSON.stringify(entry)};
try { await controlCall({ path: ${JSON.stringify(path)}, timeoutMs: 5000 }, 'status'); console.log('ok'); }
catch (e) { console.log(e.failure + ': ' + e.message); }`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      uid,
      gid,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('error', reject);
    child.on('exit', () => (err && !out ? reject(new Error(err)) : resolve(out.trim())));
  });
}

const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;
const NOGROUP = 65534;
const DAEMON = 1;

describe('control socket permissions (real users)', {
  skip: isRoot ? false : 'needs root to run clients as other users',
}, () => {
  it('lets in only the owner, root and, with 0660, the group', async () => {
    const priv = await serve({ mode: 0o600 });
    assert.equal(await callAs(0, 0, priv.path), 'ok', 'root');
    assert.match(
      await callAs(NOBODY, NOGROUP, priv.path),
      /^permission-denied: permission denied on the control socket/,
    );

    const shared = await serve({ mode: 0o660, group: String(NOGROUP) });
    assert.equal(await callAs(NOBODY, NOGROUP, shared.path), 'ok', 'a member of the group');
    assert.match(await callAs(DAEMON, DAEMON, shared.path), /^permission-denied: /, 'not in the group');
  });

  it('is closed by a directory the client cannot enter, whatever the socket mode', async () => {
    const dir = freshDir(0o700);
    const { path } = await serve({ path: join(dir, 'control.sock'), mode: 0o666 });
    assert.match(
      await callAs(NOBODY, NOGROUP, path),
      /^permission-denied: .*the directories above it must let you in too/,
    );
  });
});
