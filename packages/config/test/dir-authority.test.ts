import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_DIR_AUTHORITY_LINES,
  type DirAuthority,
  defaultDirAuthorities,
  parseDirAuthorityLine,
} from '../src/index.js';

/**
 * tor.git 3cb6a690be (0.4.8.1-alpha-dev) src/app/config/auth_dirs.inc, each
 * entry's C string pieces concatenated, exactly as tor hands them to
 * parse_dir_authority_line.
 */
const TOR_048_AUTH_DIRS = [
  'moria1 orport=9201 v3ident=F533C81CEF0BC0267857C99B2F471ADF249FA232 128.31.0.39:9231 1A25C6358DB91342AA51720A5038B72742732498',
  'tor26 orport=443 v3ident=14C131DFC5C6F93646BE72FA1401C02A8DF2E8B4 ipv6=[2001:858:2:2:aabb:0:563b:1526]:443 86.59.21.38:80 847B 1F85 0344 D787 6491 A548 92F9 0493 4E4E B85D',
  'dizum orport=443 v3ident=E8A9C45EDE6D711294FADF8E7951F4DE6CA56B58 45.66.35.11:80 7EA6 EAD6 FD83 083C 538F 4403 8BBF A077 587D D755',
  'Serge orport=9001 bridge 66.111.2.131:9030 BA44 A889 E64B 93FA A2B1 14E0 2C2A 279A 8555 C533',
  'gabelmoo orport=443 v3ident=ED03BB616EB2F60BEC80151114BB25CEF515B226 ipv6=[2001:638:a000:4140::ffff:189]:443 131.188.40.189:80 F204 4413 DAC2 E02E 3D6B CF47 35A1 9BCA 1DE9 7281',
  'dannenberg orport=443 v3ident=0232AF901C31A04EE9848595AF9BB7620D4C5B2E ipv6=[2001:678:558:1000::244]:443 193.23.244.244:80 7BE6 83E6 5D48 1413 21C5 ED92 F075 C553 64AC 7123',
  'maatuska orport=80 v3ident=49015F787433103580E3B66A1707A00E60F2D15B ipv6=[2001:67c:289c::9]:80 171.25.193.9:443 BD6A 8292 55CB 08E6 6FBE 7D37 4836 3586 E46B 3810',
  'longclaw orport=443 v3ident=23D15D965BC35114467363C165C4F724B64B4F66 199.58.81.140:80 74A9 1064 6BCE EFBC D2E8 74FC 1DC9 9743 0F96 8145',
  'bastet orport=443 v3ident=27102BC123E7AF1D4741AE047E160C91ADC76B21 ipv6=[2620:13:4000:6000::1000:118]:443 204.13.164.118:80 24E2 F139 121D 4394 C54B 5BCC 368B 3B41 1857 C413',
];

function parse(line: string): DirAuthority {
  const r = parseDirAuthorityLine(line);
  assert.ok(r.ok, `${line}: ${!r.ok && r.error}`);
  assert.deepEqual(r.value.warnings, []);
  return r.value.authority;
}

describe('DirAuthority lines', () => {
  it('parses every authority of tor 0.4.8’s auth_dirs.inc into typed records', () => {
    const parsed = TOR_048_AUTH_DIRS.map(parse);
    assert.deepEqual(
      parsed.map((a) => [
        a.nickname,
        a.ipv4Address,
        a.dirPort,
        a.orPort,
        a.isBridgeAuthority,
        a.isV3Authority,
        a.ipv6?.address ?? null,
      ]),
      [
        ['moria1', '128.31.0.39', 9231, 9201, false, true, null],
        ['tor26', '86.59.21.38', 80, 443, false, true, '2001:858:2:2:aabb:0:563b:1526'],
        ['dizum', '45.66.35.11', 80, 443, false, true, null],
        ['Serge', '66.111.2.131', 9030, 9001, true, false, null],
        ['gabelmoo', '131.188.40.189', 80, 443, false, true, '2001:638:a000:4140::ffff:189'],
        ['dannenberg', '193.23.244.244', 80, 443, false, true, '2001:678:558:1000::244'],
        ['maatuska', '171.25.193.9', 443, 80, false, true, '2001:67c:289c::9'],
        ['longclaw', '199.58.81.140', 80, 443, false, true, null],
        ['bastet', '204.13.164.118', 80, 443, false, true, '2620:13:4000:6000::1000:118'],
      ],
    );
  });

  it('joins a fingerprint written with spaces and keeps every field', () => {
    assert.deepEqual(parse(TOR_048_AUTH_DIRS[1]!), {
      nickname: 'tor26',
      ipv4Address: '86.59.21.38',
      dirPort: 80,
      orPort: 443,
      fingerprint: '847B1F850344D7876491A54892F904934E4EB85D',
      v3Identity: '14C131DFC5C6F93646BE72FA1401C02A8DF2E8B4',
      ipv6: { address: '2001:858:2:2:aabb:0:563b:1526', orPort: 443 },
      weight: 1,
      isBridgeAuthority: false,
      isV3Authority: true,
      extraDirPorts: [],
    });
    assert.equal(parse(TOR_048_AUTH_DIRS[3]!).fingerprint, 'BA44A889E64B93FAA2B114E02C2A279A8555C533');
    assert.equal(parse(TOR_048_AUTH_DIRS[3]!).v3Identity, null);
  });

  it('the built-in defaults parse: nine v3 authorities and one bridge authority', () => {
    const defaults = defaultDirAuthorities();
    assert.equal(defaults.length, DEFAULT_DIR_AUTHORITY_LINES.length);
    assert.equal(defaults.filter((a) => a.isV3Authority).length, 9);
    assert.deepEqual(
      defaults.filter((a) => a.isBridgeAuthority).map((a) => a.nickname),
      ['Serge'],
    );
    assert.equal(new Set(defaults.map((a) => a.fingerprint)).size, defaults.length);
  });

  it('test-network lines as chutney writes them, and the rarer flags', () => {
    const bridgeAuth = parse(
      'test001ba orport=5001 no-v2 bridge 127.0.0.1:7001 5CE4 2A8B 61A1 8E14 8A0A 1D0E 1FC4 7D10 0C8A 4E24',
    );
    assert.equal(bridgeAuth.isBridgeAuthority, true);
    assert.equal(bridgeAuth.fingerprint, '5CE42A8B61A18E148A0A1D0E1FC47D100C8A4E24');
    const a = parse(
      'test000a orport=5000 ipv6=[::1]:5000 no-v2 weight=2.5 v3ident=aabbccddeeff00112233445566778899AABBCCDD upload=http://127.0.0.1:7100/ 127.0.0.1:7000 0123456789abcdef0123456789ABCDEF01234567',
    );
    assert.deepEqual(a.ipv6, { address: '::1', orPort: 5000 });
    assert.equal(a.nickname, 'test000a');
    assert.equal(a.weight, 2.5);
    assert.equal(a.v3Identity, 'AABBCCDDEEFF00112233445566778899AABBCCDD');
    assert.equal(a.fingerprint, '0123456789ABCDEF0123456789ABCDEF01234567');
    assert.deepEqual(a.extraDirPorts, [{ usage: 'upload', address: '127.0.0.1', port: 7100 }]);
    const noName = parse('bridge 10.0.0.1:80 0123456789ABCDEF0123456789ABCDEF01234567');
    // "bridge" is itself a legal nickname, so tor takes it as one, not as the flag.
    assert.equal(noName.nickname, 'bridge');
    assert.equal(noName.isBridgeAuthority, false);
    const flagOnly = parse('orport=1 bridge 10.0.0.1:80 0123456789ABCDEF0123456789ABCDEF01234567');
    assert.equal(flagOnly.nickname, null);
    assert.equal(flagOnly.isBridgeAuthority, true);
  });

  it('warns, as tor does, about unknown and obsolete flags', () => {
    const r = parseDirAuthorityLine('x hs frob 10.0.0.1:80 0123456789ABCDEF0123456789ABCDEF01234567');
    assert.ok(r.ok);
    assert.equal(r.value.warnings.length, 2);
    assert.match(r.value.warnings[0]!, /obsolete/);
    assert.match(r.value.warnings[1]!, /unrecognized flag 'frob'/);
  });

  it('rejects malformed lines', () => {
    const fp = '0123456789ABCDEF0123456789ABCDEF01234567';
    const badLines: [string, RegExp][] = [
      ['', /no arguments/],
      ['moria1 orport=9201', /too few arguments/],
      [`x orport=0 1.2.3.4:80 ${fp}`, /invalid orport/],
      [`x orport=70000 1.2.3.4:80 ${fp}`, /invalid orport/],
      [`x v3ident=XYZ 1.2.3.4:80 ${fp}`, /v3 identity/],
      [`x weight=heavy 1.2.3.4:80 ${fp}`, /invalid weight/],
      [`x ipv6=1.2.3.4:80 1.2.3.4:80 ${fp}`, /ipv6/],
      [`x ipv6=[::1] 1.2.3.4:80 ${fp}`, /ipv6/],
      [`x upload=https://1.2.3.4:80/ 1.2.3.4:80 ${fp}`, /URL scheme/],
      [`x download=http://1.2.3.4:80/tor/ 1.2.3.4:80 ${fp}`, /URL path/],
      [`x 1.2.3.4 ${fp}`, /missing port/],
      [`x 1.2.3.4:0 ${fp}`, /bad port/],
      [`x 1.2.3.999:80 ${fp}`, /not an IPv4/],
      // '[' is not a digit, so tor reads "[::1]:80" as an (unknown) flag and then finds too few arguments.
      [`x [::1]:80 ${fp}`, /too few arguments/],
      [`x 1.2.3.4.5:80 ${fp}`, /not an IPv4/],
      [`x 1.2.3.4:80 ${fp.slice(1)}`, /length 39/],
      [`x 1.2.3.4:80 ${fp.slice(1)}G`, /not hex/],
    ];
    for (const [line, message] of badLines) {
      const r = parseDirAuthorityLine(line);
      assert.ok(!r.ok, line);
      assert.match(r.error, message, line);
    }
  });
});
