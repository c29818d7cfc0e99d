import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  OPTION_NAMES,
  OPTION_SPECS,
  renderOptionReference,
  replaceOptionReference,
  resolveOptionName,
  TOR_OBSOLETE_OPTION_NAMES,
  TOR_OPTION_ALIASES,
  TOR_OPTION_LIST_VERSION,
  TOR_OPTION_NAMES,
} from '../src/index.js';

const docPath = new URL('../../../../docs/configuration.md', import.meta.url);

describe('docs/configuration.md', () => {
  const doc = readFileSync(docPath, 'utf8');

  it('has the option reference exactly as the schema renders it', () => {
    assert.ok(
      doc.includes(renderOptionReference()),
      'docs/configuration.md is out of date: run `npx tsc -b packages/config && node packages/config/scripts/update-configuration-doc.mjs`',
    );
    assert.equal(replaceOptionReference(doc), doc);
  });

  it('documents every option of the schema with its syntax and default', () => {
    for (const name of OPTION_NAMES) {
      const spec = OPTION_SPECS[name];
      assert.ok(doc.includes(`\n### ${name}\n`), `${name} has no section`);
      assert.ok(doc.includes(`\`${name} ${spec.type.syntax}\``), `${name} syntax missing`);
      assert.ok(doc.includes(`- Default: ${spec.defaultText}`), `${name} default missing`);
    }
  });

  it('every static default parses with the option’s own type', () => {
    for (const name of OPTION_NAMES) {
      const spec = OPTION_SPECS[name];
      if (spec.default === null) continue;
      const parsed = spec.type.parse(spec.default);
      assert.ok(parsed.ok, `default of ${name}`);
    }
  });
});

describe('C tor option data', () => {
  it('reflects tor 0.4.8 with the 0.4.9 additions, no duplicates', () => {
    assert.equal(TOR_OPTION_LIST_VERSION, '0.4.8.1-alpha-dev');
    const lower = TOR_OPTION_NAMES.map((n) => n.toLowerCase());
    assert.equal(new Set(lower).size, lower.length);
    for (const known of [
      'ORPort',
      'ExitPolicy',
      'DoSCircuitCreationEnabled',
      'AuthDirHasIPv6Connectivity',
      'HardwareAccel',
      '__ControlPort',
      'FamilyId',
      'ConfluxEnabled',
    ])
      assert.ok(TOR_OPTION_NAMES.includes(known), known);
    for (const notSettable of ['ORPortLines', 'HiddenServiceOptions', '___UsingTestNetworkDefaults'])
      assert.ok(!TOR_OPTION_NAMES.includes(notSettable), notSettable);
    assert.ok(TOR_OBSOLETE_OPTION_NAMES.includes('AllowDotExit'));
    assert.ok(!TOR_OBSOLETE_OPTION_NAMES.some((n) => lower.includes(n.toLowerCase())));
  });

  it('aliases are tor’s torrc aliases (not its command-line ones)', () => {
    const find = (alias: string) => TOR_OPTION_ALIASES.find((a) => a.alias === alias);
    assert.deepEqual(find('DirServer'), { alias: 'DirServer', canonical: 'DirAuthority', deprecated: false });
    assert.deepEqual(find('ExcludeNode'), {
      alias: 'ExcludeNode',
      canonical: 'ExcludeNodes',
      deprecated: false,
    });
    assert.deepEqual(find('MaxConn'), { alias: 'MaxConn', canonical: 'ConnLimit', deprecated: true });
    assert.equal(find('l'), undefined);
    assert.equal(find('HashedControlPassword'), undefined);
  });

  it('relayd’s tor-named options are tor’s; its own names are new (ControlSocket reuses tor’s name)', () => {
    const torLower = new Set(TOR_OPTION_NAMES.map((n) => n.toLowerCase()));
    for (const name of OPTION_NAMES) {
      const inTor = torLower.has(name.toLowerCase());
      if (OPTION_SPECS[name].origin === 'tor')
        assert.ok(inTor, `${name} is marked as tor's but tor has no such option`);
      else if (name !== 'ControlSocket') assert.ok(!inTor, `${name} clashes with a tor option`);
    }
  });

  it('resolves names: relayd, tor, obsolete, alias, unknown', () => {
    assert.deepEqual(resolveOptionName('orport'), { kind: 'relayd', name: 'ORPort', alias: null });
    assert.deepEqual(resolveOptionName('EXITPOLICY'), { kind: 'tor', name: 'ExitPolicy', alias: null });
    assert.deepEqual(resolveOptionName('AllowDotExit'), {
      kind: 'obsolete',
      name: 'AllowDotExit',
      alias: null,
    });
    assert.equal(resolveOptionName('dirserver').kind, 'relayd');
    assert.deepEqual(resolveOptionName('Workerz'), { kind: 'unknown', suggestion: 'Workers' });
    assert.deepEqual(resolveOptionName('qqqqqqqq'), { kind: 'unknown', suggestion: null });
  });
});
