/**
 * systemd/99-relayd.conf, the /etc/sysctl.d drop-in:
 * - it is sysctl.d syntax: comments, blank lines and `[-]key = value` lines
 *   naming keys that exist on Linux (under /proc/sys, or conntrack's, which
 *   exist once nf_conntrack is loaded);
 * - the port range is what its comments compute with (49,152 ports, first
 *   and last of different parity, above every port below 16384);
 * - the kernel takes it: systemd-sysctl applies the file inside a network
 *   namespace of its own (the host's settings are untouched) and the range
 *   reads back there. Skipped, with the reason, where that cannot be done
 *   (not root, no unshare or systemd-sysctl).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { describeRun, findTool, run, SYSTEMD_DIR } from './support.js';

const FILE = join(SYSTEMD_DIR, '99-relayd.conf');
const text = readFileSync(FILE, 'utf8');

interface Setting {
  readonly key: string;
  readonly value: string;
  /** A leading "-": a failure to set it is ignored (sysctl.d(5)). */
  readonly optional: boolean;
}

function parseSysctlFile(contents: string): Setting[] {
  const settings: Setting[] = [];
  contents.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const m = /^(-?)([a-z0-9_]+(?:[./][a-z0-9_]+)+)\s*=\s*(\S(?:.*\S)?)$/.exec(line);
    assert.ok(m, `line ${i + 1} is not "key = value": ${raw}`);
    settings.push({ optional: m[1] === '-', key: m[2]!, value: m[3]! });
  });
  return settings;
}

const settings = parseSysctlFile(text);
const byKey = new Map(settings.map((s) => [s.key, s]));

describe('systemd/99-relayd.conf', () => {
  it('is key = value lines, each key once', () => {
    assert.deepEqual(
      settings.map((s) => s.key),
      ['net.ipv4.ip_local_port_range', 'net.netfilter.nf_conntrack_max'],
    );
    assert.throws(() => parseSysctlFile('net.ipv4.ip_local_port_range 1 2\n'), /not "key = value"/);
  });

  it('names keys the kernel has', () => {
    for (const s of settings) {
      const path = `/proc/sys/${s.key.replaceAll('.', '/')}`;
      if (s.key.startsWith('net.netfilter.')) {
        // Present only while nf_conntrack is loaded: optional, so a host without it skips the line.
        assert.ok(s.optional, `${s.key} must be written "-${s.key}"`);
        if (!existsSync('/proc/sys/net/netfilter')) continue;
      }
      assert.ok(existsSync(path), `${path} exists`);
    }
  });

  it('sets a port range of 49,152 ports, of different parity, starting above 16383', () => {
    const [low, high] = byKey.get('net.ipv4.ip_local_port_range')!.value.split(/\s+/).map(Number);
    assert.equal(low, 16384);
    assert.equal(high, 65535);
    assert.equal(high! - low! + 1, 49_152);
    assert.notEqual(low! % 2, high! % 2);
    assert.ok(!byKey.get('net.ipv4.ip_local_port_range')!.optional, 'the range must not fail quietly');
  });

  it('sizes conntrack at 2^20 entries, as its comment computes (100,000 clients x 3, doubled)', () => {
    const max = Number(byKey.get('net.netfilter.nf_conntrack_max')!.value);
    assert.equal(max, 2 ** 20);
    assert.ok(max >= 100_000 * 3 * 2);
  });

  const unshare = findTool('unshare');
  const systemdSysctl =
    findTool('/usr/lib/systemd/systemd-sysctl') ?? findTool('/lib/systemd/systemd-sysctl');
  const whySkip = !unshare
    ? 'unshare is not installed'
    : !systemdSysctl
      ? 'systemd-sysctl is not installed'
      : process.getuid?.() !== 0
        ? 'needs root to create a network namespace'
        : false;

  it('the kernel accepts it (applied by systemd-sysctl in a network namespace of its own)', {
    skip: whySkip,
  }, () => {
    const before = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8');
    const r = run(unshare!, [
      '--net',
      '/bin/sh',
      '-c',
      '"$1" "$2" && cat /proc/sys/net/ipv4/ip_local_port_range',
      'sh',
      systemdSysctl!,
      FILE,
    ]);
    assert.equal(r.status, 0, describeRun(r));
    assert.deepEqual(r.stdout.trim().split(/\s+/), ['16384', '65535']);
    assert.equal(r.stderr.trim(), '', describeRun(r));
    assert.equal(
      readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8'),
      before,
      'the host is untouched',
    );
  });
});
