/**
 * Ephemeral-port exhaustion, for real, in a network namespace of its own
 * with `net.ipv4.ip_local_port_range` narrowed to 20 ports (loopback
 * only; the namespace is deleted afterwards). ephemeral-ports-probe.js runs
 * the balancer's proxy mode inside it and holds as many client connections
 * as it can, each carried to a relayd worker ExtORPort over a TCP
 * connection of the balancer's own:
 *
 *   - spread over 3 source addresses, it holds 50 (more than 20);
 *   - bound to the single address 127.0.0.1, the 21st fails: the bind finds
 *     no free port (EADDRINUSE);
 *   - with no source address (the system picks 127.0.0.1), the 21st fails
 *     in connect (EADDRNOTAVAIL).
 *
 * Skipped, with the reason, where network namespaces cannot be created
 * (not root, no `ip`, a container without CAP_SYS_ADMIN).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const PORTS = { first: 50_000, last: 50_019 };
const RANGE_SIZE = PORTS.last - PORTS.first + 1;
const NAMESPACE_PREFIX = `relayd-ports-${process.pid}`;
const PROBE = fileURLToPath(new URL('./ephemeral-ports-probe.js', import.meta.url));
const PROBE_TIMEOUT_MS = 60_000;

interface ProbeResult {
  readonly mode: string;
  readonly portRange: number[];
  readonly held: number;
  readonly failedAt: number | undefined;
  readonly code: string | undefined;
  readonly sourcePortsExhausted: number;
  readonly sources: string[];
  readonly backendHealthy: boolean;
}

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
}

/** Creates a namespace, or returns why it cannot be. */
function createNamespace(name: string): string | undefined {
  try {
    ip('netns', 'add', name);
  } catch (error) {
    return `cannot create a network namespace (${(error as Error).message.split('\n')[0]}); run as root with iproute2`;
  }
  try {
    ip('netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up');
    ip(
      'netns',
      'exec',
      name,
      'sysctl',
      '-q',
      '-w',
      `net.ipv4.ip_local_port_range=${PORTS.first} ${PORTS.last}`,
    );
  } catch (error) {
    deleteNamespace(name);
    return `cannot set up the network namespace: ${(error as Error).message.split('\n')[0]}`;
  }
  created.add(name);
  return undefined;
}

const created = new Set<string>();

function deleteNamespace(name: string): void {
  created.delete(name);
  try {
    ip('netns', 'del', name);
  } catch {
    // Already gone.
  }
}

const running = new Set<number>();

/**
 * Runs the probe in a fresh namespace of its own (ports in TIME_WAIT from an
 * earlier run would count against the range); bounded, killed by PID if it
 * overstays; the namespace is deleted afterwards.
 */
async function runProbe(mode: 'spread' | 'single' | 'system', count: number): Promise<ProbeResult> {
  const name = `${NAMESPACE_PREFIX}-${mode}`;
  const problem = createNamespace(name);
  if (problem) throw new Error(problem);
  try {
    return await probeIn(name, mode, count);
  } finally {
    deleteNamespace(name);
  }
}

function probeIn(name: string, mode: string, count: number): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', name, process.execPath, PROBE, mode, String(count)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const pid = child.pid;
    if (pid !== undefined) running.add(pid);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => {
      if (pid !== undefined) process.kill(pid, 'SIGKILL');
      reject(new Error(`probe ${mode} did not finish within ${PROBE_TIMEOUT_MS} ms\n${stdout}\n${stderr}`));
    }, PROBE_TIMEOUT_MS);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (pid !== undefined) running.delete(pid);
      if (code !== 0) {
        reject(new Error(`probe ${mode} exited with ${code}\n${stdout}\n${stderr}`));
        return;
      }
      try {
        resolve(JSON.parse(stdout.trim().split('\n').at(-1)!) as ProbeResult);
      } catch {
        reject(new Error(`probe ${mode} printed no result\n${stdout}\n${stderr}`));
      }
    });
  });
}

describe('ephemeral ports in a namespace with a 20-port range', { timeout: 240_000 }, () => {
  let skipReason: string | undefined;

  before(() => {
    // Can this machine make namespaces at all?
    const name = `${NAMESPACE_PREFIX}-check`;
    skipReason = createNamespace(name);
    if (!skipReason) deleteNamespace(name);
  });

  after(() => {
    for (const pid of running) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Exited meanwhile.
      }
    }
    for (const name of [...created]) deleteNamespace(name);
  });

  it('spread over 3 source addresses, proxy mode holds 50 connections to one backend', async (t) => {
    if (skipReason) return t.skip(skipReason);
    const result = await runProbe('spread', 50);
    t.diagnostic(JSON.stringify(result));
    assert.deepEqual(result.portRange, [PORTS.first, PORTS.last]);
    assert.equal(result.held, 50, JSON.stringify(result));
    assert.ok(result.held > RANGE_SIZE);
    assert.equal(result.failedAt, undefined);
    assert.deepEqual(result.sources, ['127.0.1.1', '127.0.1.2', '127.0.1.3']);
    assert.equal(result.sourcePortsExhausted, 0);
  });

  it('bound to one source address, the connection after the 20th fails: EADDRINUSE', async (t) => {
    if (skipReason) return t.skip(skipReason);
    const result = await runProbe('single', 50);
    t.diagnostic(JSON.stringify(result));
    assert.equal(result.held, RANGE_SIZE, JSON.stringify(result));
    assert.equal(result.failedAt, RANGE_SIZE);
    assert.equal(result.code, 'EADDRINUSE');
    assert.deepEqual(result.sources, ['127.0.0.1']);
    assert.ok(result.sourcePortsExhausted >= 1);
    // The host ran out of ports, not the backend: it stays in rotation.
    assert.equal(result.backendHealthy, true);
  });

  it('with no source address (the system’s choice), the connection after the 20th fails: EADDRNOTAVAIL', async (t) => {
    if (skipReason) return t.skip(skipReason);
    const result = await runProbe('system', 50);
    t.diagnostic(JSON.stringify(result));
    assert.equal(result.held, RANGE_SIZE, JSON.stringify(result));
    assert.equal(result.failedAt, RANGE_SIZE);
    assert.equal(result.code, 'EADDRNOTAVAIL');
    assert.equal(result.backendHealthy, true);
  });
});
