/**
 * The systemd units in systemd/:
 * - they say what the operator guide promises (user, readiness, limits,
 *   kill mode, reload, the hardening Node.js tolerates, the sibling transport's
 *   environment file and its ties to relayd.service);
 * - `systemd-analyze verify` accepts both, with no warning, once their
 *   programs exist: the units are rendered for a temporary prefix as
 *   scripts/install.sh renders them (/usr/local/ replaced), with working
 *   relayd/relayctl wrappers there. A control copy with a misspelt key shows
 *   that a warning would be caught.
 *
 * Skipped, with the reason, where systemd-analyze is absent
 * (scripts/install-system-deps.sh installs it).
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { describeRun, findTool, RELAYCTL_BIN, RELAYD_BIN, run, SYSTEMD_DIR } from './support.js';
import { parseUnitFile, unitValue } from './unit-file.js';

const relaydUnitText = readFileSync(join(SYSTEMD_DIR, 'relayd.service'), 'utf8');
const ptUnitText = readFileSync(join(SYSTEMD_DIR, 'relayd-pt@.service'), 'utf8');
const relaydUnit = parseUnitFile(relaydUnitText);
const ptUnit = parseUnitFile(ptUnitText);

describe('relayd.service', () => {
  const service = (key: string) => unitValue(relaydUnit, 'Service', key);

  it('runs the installed relayd on /etc/relayd/torrc as the relayd user', () => {
    assert.equal(service('ExecStart'), '/usr/local/bin/relayd -f /etc/relayd/torrc');
    assert.equal(service('ExecReload'), '/usr/local/bin/relayctl reload');
    assert.equal(service('User'), 'relayd');
    assert.equal(service('Group'), 'relayd');
    // relayd says READY=1 through systemd-notify, which sends with its own PID: NotifyAccess=all.
    assert.equal(service('Type'), 'notify');
    assert.equal(service('NotifyAccess'), 'all');
    // No watchdog by default: an event-loop stall under load must not get the bridge killed.
    assert.equal(service('WatchdogSec'), undefined);
    assert.equal(service('KillMode'), 'mixed');
    assert.equal(service('Restart'), 'on-failure');
    assert.equal(service('UMask'), '0077');
    assert.equal(service('LimitNOFILE'), '1048576');
    assert.equal(unitValue(relaydUnit, 'Install', 'WantedBy'), 'multi-user.target');
  });

  it('may write only its DataDirectory and log directory, and keeps V8 able to JIT', () => {
    assert.equal(service('ProtectSystem'), 'strict');
    assert.deepEqual(service('ReadWritePaths')?.split(/\s+/), ['/var/lib/relayd', '/var/log/relayd']);
    assert.equal(service('StateDirectory'), 'relayd');
    assert.equal(service('StateDirectoryMode'), '0700');
    assert.equal(service('LogsDirectory'), 'relayd');
    for (const key of [
      'NoNewPrivileges',
      'ProtectHome',
      'PrivateTmp',
      'PrivateDevices',
      'ProtectKernelTunables',
      'ProtectKernelModules',
      'ProtectKernelLogs',
      'ProtectControlGroups',
      'RestrictNamespaces',
      'LockPersonality',
    ]) {
      assert.equal(service(key), 'yes', key);
    }
    assert.equal(service('MemoryDenyWriteExecute'), 'no');
    assert.deepEqual(service('RestrictAddressFamilies')?.split(/\s+/), [
      'AF_UNIX',
      'AF_INET',
      'AF_INET6',
      'AF_NETLINK',
    ]);
    assert.equal(service('SystemCallFilter'), '@system-service');
    assert.equal(service('SystemCallErrorNumber'), 'EPERM');
    assert.equal(service('SystemCallArchitectures'), 'native');
    assert.equal(service('CapabilityBoundingSet'), 'CAP_NET_BIND_SERVICE');
    assert.equal(service('AmbientCapabilities'), 'CAP_NET_BIND_SERVICE');
  });
});

describe('relayd-pt@.service', () => {
  const service = (key: string) => unitValue(ptUnit, 'Service', key);

  it('runs PT_EXEC with the environment file of its instance, tied to relayd.service', () => {
    // relayd's TOR_PT_* file, then the operator's PT_EXEC/PT_ARGS (the later wins a variable set in both).
    assert.deepEqual(ptUnit.get('Service')?.get('EnvironmentFile'), [
      '/var/lib/relayd/pt-%i.env',
      '/etc/relayd/pt-%i.env',
    ]);
    // systemd expands ${PT_EXEC} as one word and $PT_ARGS split on white space.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: systemd's variable syntax, not a JavaScript template
    assert.equal(service('ExecStart'), '/usr/bin/env ${PT_EXEC} $PT_ARGS');
    // The cookie file is 0600 and relayd's; the state directory is inside relayd's DataDirectory.
    assert.equal(service('User'), 'relayd');
    assert.equal(service('StateDirectory'), 'relayd/pt_state');
    assert.equal(unitValue(ptUnit, 'Unit', 'PartOf'), 'relayd.service');
    assert.match(unitValue(ptUnit, 'Unit', 'After') ?? '', /(^|\s)relayd\.service(\s|$)/);
    assert.equal(unitValue(ptUnit, 'Install', 'WantedBy'), 'relayd.service');
    assert.equal(service('NoNewPrivileges'), 'yes');
    assert.equal(service('ProtectSystem'), 'strict');
    assert.equal(service('SystemCallFilter'), '@system-service');
    assert.equal(service('AmbientCapabilities'), 'CAP_NET_BIND_SERVICE');
  });
});

const systemdAnalyze = findTool('systemd-analyze');
const skip = systemdAnalyze ? false : 'systemd-analyze is not installed (scripts/install-system-deps.sh)';

describe('systemd-analyze verify', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'relayd-units-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const prefix = join(dir, 'prefix');
  const units = join(dir, 'units');
  mkdirSync(join(prefix, 'bin'), { recursive: true });
  mkdirSync(units);
  // Working programs where the rendered units expect them, as install.sh's wrappers would be.
  for (const [name, target] of [
    ['relayd', RELAYD_BIN],
    ['relayctl', RELAYCTL_BIN],
  ] as const) {
    const path = join(prefix, 'bin', name);
    writeFileSync(path, `#!/bin/sh\nexec '${process.execPath}' '${target}' "$@"\n`);
    chmodSync(path, 0o755);
  }
  /** What install.sh's render() does for another prefix. */
  const render = (text: string) => text.replaceAll('/usr/local/', `${prefix}/`);
  const write = (name: string, text: string) => {
    const path = join(units, name);
    writeFileSync(path, text);
    return path;
  };
  const verify = (paths: string[]) => run(systemdAnalyze!, ['verify', ...paths], { timeoutMs: 60_000 });

  it('the wrappers the units name run', () => {
    const r = run(join(prefix, 'bin', 'relayd'), ['build-info', '--json']);
    assert.equal(r.status, 0, describeRun(r));
    assert.equal(JSON.parse(r.stdout).name, 'relayd');
  });

  it('accepts relayd.service and relayd-pt@.service with no warning', () => {
    const relaydPath = write('relayd.service', render(relaydUnitText));
    const ptTemplate = write('relayd-pt@.service', render(ptUnitText));
    // An instance, so %i is resolved as for `systemctl start relayd-pt@snowflake`.
    const ptInstance = write('relayd-pt@snowflake.service', render(ptUnitText));
    assert.match(readFileSync(relaydPath, 'utf8'), new RegExp(`ExecStart=${prefix}/bin/relayd -f`));
    const r = verify([relaydPath, ptTemplate, ptInstance]);
    assert.equal(r.status, 0, describeRun(r));
    const ours = r.stderr.split('\n').filter((l) => l.includes(units) || /relayd/.test(l));
    assert.deepEqual(ours, [], describeRun(r));
  });

  it('would report a mistake (control: a misspelt key and a missing program)', () => {
    const bad = write(
      'relayd-bad.service',
      render(relaydUnitText)
        .replace('LimitNOFILE=', 'LimitNOFLIE=')
        .replace(`${prefix}/bin/relayd -f`, `${prefix}/bin/no-such-relayd -f`),
    );
    const r = verify([bad]);
    assert.notEqual(r.status, 0, describeRun(r));
    assert.match(r.stderr, /Unknown key.*LimitNOFLIE/);
    assert.match(r.stderr, /no-such-relayd.*(not executable|No such file)/);
  });
});
