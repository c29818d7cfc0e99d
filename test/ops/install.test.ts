/**
 * scripts/install.sh, for real, into a temporary prefix:
 * - `--dry-run` changes nothing and prints the steps (build, pnpm's
 *   production install, the swap, the wrappers; with the system part: the
 *   user, the directories, the torrc, the units, the sysctl file);
 * - `--no-system --no-build` installs the built packages with production
 *   node_modules under PREFIX/lib/relayd and the wrappers PREFIX/bin/relayd
 *   and PREFIX/bin/relayctl; both run (`build-info`) from an empty working
 *   directory; the tree holds no tests, no dev dependencies and no package
 *   outside the runtime closure; the installed relayd really runs a bridge,
 *   its worker processes forked from the installed tree, the installed
 *   relayctl reads its status over the control socket, and it stops cleanly;
 * - the units it renders for the prefix name the prefix's programs and
 *   pass `systemd-analyze verify` (when installed);
 * - a second run over the first succeeds and leaves one tree.
 *
 * Needs relayd and relayctl built (`npx tsc -b packages/relayd packages/relayctl`)
 * and pnpm (scripts/pnpm, through npx) with the packages in its store.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { describeRun, findTool, INSTALL_SCRIPT, REPO_ROOT, type RunResult, run } from './support.js';

const INSTALL_TIMEOUT_MS = 300_000;
const dir = mkdtempSync(join(tmpdir(), 'relayd-install-'));
const prefix = join(dir, 'prefix');
const libdir = join(prefix, 'lib', 'relayd');
const relaydPackage = JSON.parse(readFileSync(join(REPO_ROOT, 'packages', 'relayd', 'package.json'), 'utf8'));

function install(args: string[]): RunResult {
  return run('bash', [INSTALL_SCRIPT, ...args], { timeoutMs: INSTALL_TIMEOUT_MS });
}

function listRecursive(root: string, under = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(root, under), { withFileTypes: true })) {
    const rel = under ? `${under}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...listRecursive(root, rel));
    else out.push(rel);
  }
  return out;
}

after(() => rmSync(dir, { recursive: true, force: true }));

describe('scripts/install.sh --dry-run', () => {
  it('prints every step and changes nothing', () => {
    const r = install(['--prefix', prefix, '--dry-run']);
    assert.equal(r.status, 0, describeRun(r));
    assert.equal(existsSync(prefix), false, 'nothing was created');
    for (const step of [
      /scripts\/pnpm --dir \S+ install --frozen-lockfile/,
      /scripts\/pnpm --dir \S+ run build/,
      /install --prod --frozen-lockfile/,
      new RegExp(`mv ${libdir}\\.new ${libdir}`),
      new RegExp(`write ${prefix}/bin/relayd: exec \\S+node\\S* ${libdir}/packages/relayd/dist/src/main.js`),
      new RegExp(`write ${prefix}/bin/relayctl: exec`),
      /(groupadd --system relayd|group relayd exists)/,
      /(useradd --system --gid relayd .*relayd|user relayd exists)/,
      /install -d -o relayd -g relayd -m 0700 \/var\/lib\/relayd/,
      /(install -o root -g relayd -m 0640 \S+\/configs\/vanilla-bridge.torrc \/etc\/relayd\/torrc|\/etc\/relayd\/torrc exists: left as it is)/,
      /install -m 0644 \S+\/relayd.service \/etc\/systemd\/system\/relayd.service/,
      /install -m 0644 \S+\/relayd-pt@.service \/etc\/systemd\/system\/relayd-pt@.service/,
      /install -m 0644 \S+\/99-relayd.conf \/etc\/sysctl.d\/99-relayd.conf/,
      /systemctl enable --now relayd/,
    ]) {
      assert.match(r.stdout, step);
    }
  });

  it('refuses a relative prefix and an unknown option', () => {
    const relative = install(['--prefix', 'relative/dir', '--dry-run']);
    assert.equal(relative.status, 1);
    assert.match(relative.stderr, /--prefix must be an absolute path/);
    const unknown = install(['--frobnicate']);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /unknown option '--frobnicate'/);
  });
});

describe('scripts/install.sh --no-system --no-build into a temporary prefix', () => {
  let first: RunResult;
  before(() => {
    for (const p of ['relayd', 'relayctl']) {
      assert.ok(
        existsSync(join(REPO_ROOT, 'packages', p, 'dist', 'src', 'main.js')),
        `packages/${p} is built (npx tsc -b packages/${p})`,
      );
    }
    first = install(['--prefix', prefix, '--no-system', '--no-build']);
  });

  it('installs, and says it left the system alone', () => {
    assert.equal(first.status, 0, describeRun(first));
    assert.match(first.stdout, /--no-system: no user, \/etc, \/var or systemd changes/);
  });

  it('PREFIX/bin/relayd and PREFIX/bin/relayctl run from anywhere', () => {
    const cwd = mkdtempSync(join(dir, 'cwd-'));
    const d = run(join(prefix, 'bin', 'relayd'), ['build-info', '--json'], { cwd });
    assert.equal(d.status, 0, describeRun(d));
    assert.deepEqual(
      { name: JSON.parse(d.stdout).name, version: JSON.parse(d.stdout).version },
      { name: 'relayd', version: relaydPackage.version },
    );
    const c = run(join(prefix, 'bin', 'relayctl'), ['build-info'], { cwd });
    assert.equal(c.status, 0, describeRun(c));
    assert.match(c.stdout, /^name: relayctl$/m);
    const wrapper = readFileSync(join(prefix, 'bin', 'relayd'), 'utf8');
    assert.match(
      wrapper,
      new RegExp(`exec '[^']*node[^']*' '${libdir}/packages/relayd/dist/src/main.js' "\\$@"`),
    );
  });

  it('the tree holds the runtime packages only: no tests, no dev dependencies', () => {
    const packages = readdirSync(join(libdir, 'packages')).sort();
    assert.ok(packages.includes('relayd') && packages.includes('relayctl') && packages.includes('worker'));
    for (const notRuntime of ['testnet', 'loadgen', 'bench'])
      assert.ok(!packages.includes(notRuntime), notRuntime);
    const files = listRecursive(libdir).filter((f) => !f.startsWith('node_modules/'));
    assert.deepEqual(
      files.filter((f) => /\/dist\/test\/|\.tsbuildinfo$|\/src\/[^/]+\.ts$/.test(f) && !f.endsWith('.d.ts')),
      [],
    );
    const store = readdirSync(join(libdir, 'node_modules', '.pnpm'));
    for (const dev of ['typescript@', '@biomejs+', 'fast-check@']) {
      assert.ok(!store.some((e) => e.startsWith(dev)), `${dev} is a dev dependency`);
    }
    for (const prod of ['yargs@', 'pino@', 'node-forge@']) {
      assert.ok(
        store.some((e) => e.startsWith(prod)),
        `${prod} is installed`,
      );
    }
    for (const f of [
      'docs/operator-guide.md',
      'docs/grafana-dashboard.json',
      'configs/vanilla-bridge.torrc',
    ]) {
      assert.ok(existsSync(join(libdir, f)), f);
    }
    assert.match(readFileSync(join(libdir, 'install-info.txt'), 'utf8'), /^commit: /m);
  });

  it('renders the units for the prefix', () => {
    const unit = readFileSync(join(libdir, 'systemd', 'relayd.service'), 'utf8');
    assert.match(unit, new RegExp(`^ExecStart=${prefix}/bin/relayd -f /etc/relayd/torrc$`, 'm'));
    assert.match(unit, new RegExp(`^ExecReload=${prefix}/bin/relayctl reload$`, 'm'));
    assert.ok(!unit.includes('/usr/local/'), 'every /usr/local/ path was rewritten');
    const analyze = findTool('systemd-analyze');
    if (!analyze) return; // systemd-units.test.ts reports the skip
    const r = run(analyze, [
      'verify',
      join(libdir, 'systemd', 'relayd.service'),
      join(libdir, 'systemd', 'relayd-pt@.service'),
    ]);
    assert.equal(r.status, 0, describeRun(r));
    const ours = r.stderr.split('\n').filter((l) => /relayd/.test(l));
    assert.deepEqual(ours, [], describeRun(r));
  });

  it('the installed relayd runs a bridge with worker processes from the installed tree', async () => {
    const base = mkdtempSync(join(dir, 'bridge-'));
    const logFile = join(base, 'notice.log');
    const torrc = join(base, 'torrc');
    writeFileSync(
      torrc,
      [
        `DataDirectory ${join(base, 'data')}`,
        'Nickname InstallTest',
        'ContactInfo ops@example.org',
        'ORPort 127.0.0.1:auto',
        'Address 203.0.113.5',
        'PublishServerDescriptor 0',
        'DirAuthority install orport=1 v3ident=0123456789ABCDEF0123456789ABCDEF01234567 127.0.0.1:1 0123456789ABCDEF0123456789ABCDEF01234567',
        'Workers 1',
        `Log notice file ${logFile}`,
        '',
      ].join('\n'),
    );
    mkdirSync(join(base, 'cwd'));
    const child: ChildProcess = spawn(join(prefix, 'bin', 'relayd'), ['-f', torrc], {
      cwd: join(base, 'cwd'),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (d) => {
      stderr += String(d);
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 60_000;
      let workerPid: number | undefined;
      while (workerPid === undefined) {
        assert.ok(Date.now() < deadline, `relayd did not get ready:\n${stderr}`);
        assert.equal(child.exitCode, null, `relayd exited early:\n${stderr}`);
        const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
        if (log.includes('bridge line: Bridge 203.0.113.5:')) {
          workerPid = Number(/"msg":"worker 1 ready \(pid (\d+)\)"/.exec(log)?.[1]);
        } else {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      const cmdline = readFileSync(`/proc/${workerPid}/cmdline`, 'utf8').split('\0');
      assert.ok(
        cmdline.some((arg) => arg.startsWith(`${libdir}/`) && arg.endsWith('/worker/dist/src/main.js')),
        `the worker runs from the installed tree: ${cmdline.join(' ')}`,
      );
      // The installed relayctl finds the control socket from the same torrc and reads the bridge's status.
      const status = run(join(prefix, 'bin', 'relayctl'), ['status', '-f', torrc, '--json'], {
        cwd: join(base, 'cwd'),
      });
      assert.equal(status.status, 0, describeRun(status));
      const fingerprint = readFileSync(join(base, 'data', 'fingerprint'), 'latin1')
        .trim()
        .split(' ')[1];
      const report = JSON.parse(status.stdout) as {
        fingerprint: string;
        pid: number;
        workers: { running: number };
      };
      assert.equal(report.fingerprint, fingerprint);
      assert.equal(report.pid, child.pid);
      assert.equal(report.workers.running, 1);
      child.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
      assert.match(readFileSync(logFile, 'utf8'), /"msg":"relayd stopped"/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('running it again upgrades in place and leaves one tree', () => {
    const again = install(['--prefix', prefix, '--no-system', '--no-build']);
    assert.equal(again.status, 0, describeRun(again));
    assert.deepEqual(readdirSync(join(prefix, 'lib')), ['relayd']);
    const d = run(join(prefix, 'bin', 'relayd'), ['build-info']);
    assert.equal(d.status, 0, describeRun(d));
  });
});
