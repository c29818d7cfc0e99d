/**
 * The README's first command runs this program (scripts/demo.sh → demo.js):
 * it must bring up the private network, start relayd as its bridge, get a
 * real tor client through relayd, download the payload intact, print the
 * bridge line, and (with --once) stop every process it started. Run as a
 * child process, bounded in time and stopped by PID if it overruns.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isPidAlive } from '@relayd/testnet';

const DEMO = fileURLToPath(new URL('../../../packages/testnet/dist/src/demo.js', import.meta.url));
const DEADLINE_MS = 180_000;

describe('npm run demo (demo.js --once)', { timeout: DEADLINE_MS + 30_000 }, () => {
  let child: ChildProcess | undefined;

  after(() => {
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      // SIGINT makes the demo stop everything it started; it is the Ctrl-C an operator would press.
      process.kill(child.pid, 'SIGINT');
    }
  });

  it('brings up the network, relayd and a client, downloads intact, prints the bridge line and cleans up', async () => {
    let output = '';
    child = spawn(process.execPath, [DEMO, '--once', '--size', '4'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d: Buffer) => {
      output += d.toString('utf8');
    });
    child.stderr?.on('data', (d: Buffer) => {
      output += d.toString('utf8');
    });
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        if (child?.pid !== undefined) process.kill(child.pid, 'SIGINT');
      }, DEADLINE_MS);
      child!.once('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    assert.equal(code, 0, output);
    assert.match(output, /Bootstrapped 100% in \d+\.\d s/);
    assert.match(output, /sha256 matches the payload server's/);
    const bridgeLine = /relayd's bridge line: (Bridge 127\.\d+\.\d+\.\d+:\d+ [0-9A-F]{40})\n/.exec(output);
    assert.ok(bridgeLine, output);
    const pid = Number(/relayd: pid (\d+),/.exec(output)?.[1]);
    assert.ok(pid > 0);
    assert.equal(isPidAlive(pid), false, 'relayd was stopped');
    const baseDir = /ready in [\d.]+ s \((\/[^)]+)\)/.exec(output)?.[1];
    assert.ok(baseDir);
    assert.equal(existsSync(baseDir), false, 'the network directory was removed');
    assert.match(output, /stopped\.\n$/);
  });
});
