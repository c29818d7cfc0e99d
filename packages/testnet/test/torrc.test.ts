import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RelayError } from '@relayd/common';
import fc from 'fast-check';
import {
  authorityTorrc,
  bridgeLine,
  bridgeTorrc,
  clientTorrc,
  dirAuthorityLine,
  FAST_VOTING,
  type NodeSpec,
  relaydTorrc,
  relayTorrc,
  renderTorrc,
  resolvConf,
  TestnetError,
} from '../src/index.js';

const AUTH_FP = 'E088B737DC19064080123CA624359A776592EB7C';
const V3_ID = '4CB6EE48EAFA02F2A02324369567375731D887BE';
const DIR_AUTH = `DirAuthority auth0 orport=5000 no-v2 v3ident=${V3_ID} 127.0.0.2:7000 ${AUTH_FP}`;

function node(nickname: string, address: string): NodeSpec {
  return {
    nickname,
    dataDir: `/tmp/net/${nickname}`,
    address,
    dirAuthorityLines: [DIR_AUTH],
    noticeLogPath: `/tmp/net/${nickname}/notice.log`,
    owningPid: 4242,
    geoIpFile: '/tmp/net/empty',
  };
}

const server = (nickname: string, address: string) => ({
  ...node(nickname, address),
  orPort: 5001,
  resolvConfPath: '/tmp/net/resolv.conf',
});

/** Every value of `keyword`, in order. */
function values(torrc: string, keyword: string): string[] {
  return torrc
    .split('\n')
    .filter((line) => line === keyword || line.startsWith(`${keyword} `))
    .map((line) => line.slice(keyword.length + 1));
}

function single(torrc: string, keyword: string): string | undefined {
  const found = values(torrc, keyword);
  assert.ok(found.length <= 1, `${keyword} appears ${found.length} times`);
  return found[0];
}

describe('renderTorrc', () => {
  it('writes one "Keyword value" per line, a bare keyword for an empty value', () => {
    assert.equal(
      renderTorrc([
        ['SocksPort', '0'],
        ['ServerDNSTestAddresses', ''],
        ['Log', 'notice file /x/notice.log'],
      ]),
      'SocksPort 0\nServerDNSTestAddresses\nLog notice file /x/notice.log\n',
    );
  });

  it('refuses values torrc would read differently', () => {
    for (const value of ['a\nControlPort 9051', 'a\r', 'x # comment', 'ends with \\', 'nul\0']) {
      assert.throws(
        () => renderTorrc([['Nickname', value]]),
        (e: unknown) =>
          e instanceof TestnetError && e.code === 'TESTNET_BAD_OPTION' && e instanceof RelayError,
      );
    }
    assert.throws(() => renderTorrc([['Bad Keyword', '1']]), TestnetError);
    assert.throws(() => renderTorrc([['', '1']]), TestnetError);
  });

  it('renders any safe value verbatim (property)', () => {
    const safe = fc.string().filter((s) => !/[\r\n\0#]/.test(s) && !s.endsWith('\\'));
    fc.assert(
      fc.property(safe, (value) => {
        const text = renderTorrc([['Nickname', value]]);
        assert.equal(text, value === '' ? 'Nickname\n' : `Nickname ${value}\n`);
      }),
    );
  });
});

describe('DirAuthority and Bridge lines', () => {
  it('formats the DirAuthority line every node trusts', () => {
    assert.equal(
      dirAuthorityLine({
        nickname: 'auth0',
        address: '127.0.0.2',
        orPort: 5000,
        dirPort: 7000,
        v3Identity: V3_ID,
        fingerprint: AUTH_FP,
      }),
      DIR_AUTH,
    );
  });

  it('formats a vanilla bridge line', () => {
    assert.equal(bridgeLine('127.0.0.9', 4444, AUTH_FP), `Bridge 127.0.0.9:4444 ${AUTH_FP}`);
  });

  it('rejects malformed identities and nicknames', () => {
    const good = {
      nickname: 'auth0',
      address: '127.0.0.2',
      orPort: 1,
      dirPort: 2,
      v3Identity: V3_ID,
      fingerprint: AUTH_FP,
    };
    assert.throws(() => dirAuthorityLine({ ...good, fingerprint: AUTH_FP.toLowerCase() }), TestnetError);
    assert.throws(() => dirAuthorityLine({ ...good, v3Identity: V3_ID.slice(1) }), TestnetError);
    assert.throws(() => dirAuthorityLine({ ...good, nickname: 'has-dash' }), TestnetError);
    assert.throws(() => dirAuthorityLine({ ...good, nickname: 'a'.repeat(20) }), TestnetError);
    assert.throws(() => bridgeLine('127.0.0.9', 1, 'nothex'), TestnetError);
  });
});

describe('common options', () => {
  it('puts every node in testing mode, on its own address, with its logs and authorities', () => {
    const torrc = relayTorrc(server('relay0', '127.0.0.5'));
    assert.equal(single(torrc, 'TestingTorNetwork'), '1');
    assert.equal(single(torrc, 'DataDirectory'), '/tmp/net/relay0');
    assert.equal(single(torrc, 'Nickname'), 'relay0');
    assert.equal(single(torrc, 'RunAsDaemon'), '0');
    assert.equal(single(torrc, 'OutboundBindAddress'), '127.0.0.5');
    assert.deepEqual(values(torrc, 'Log'), ['notice file /tmp/net/relay0/notice.log']);
    assert.deepEqual(values(torrc, 'DirAuthority'), [DIR_AUTH.slice('DirAuthority '.length)]);
    assert.equal(single(torrc, '__OwningControllerProcess'), '4242');
    assert.equal(single(torrc, 'GeoIPFile'), '/tmp/net/empty');
    assert.equal(single(torrc, 'GeoIPv6File'), '/tmp/net/empty');
    assert.equal(single(torrc, 'SafeLogging'), '0');
  });

  it('adds the optional verbose log', () => {
    const torrc = clientTorrc({
      ...node('client0', '127.0.0.10'),
      extraLog: { level: 'info', path: '/tmp/net/client0/info.log' },
      socksPort: 9999,
      bridgeLines: [],
    });
    assert.deepEqual(values(torrc, 'Log'), [
      'notice file /tmp/net/client0/notice.log',
      'info file /tmp/net/client0/info.log',
    ]);
  });

  it('gives servers an ORPort on their address only, no SocksPort, and a dead-end resolver', () => {
    const torrc = relayTorrc(server('relay0', '127.0.0.5'));
    assert.equal(single(torrc, 'ORPort'), '127.0.0.5:5001');
    assert.equal(single(torrc, 'Address'), '127.0.0.5');
    assert.equal(single(torrc, 'SocksPort'), '0');
    assert.equal(single(torrc, 'AssumeReachable'), '1');
    assert.equal(single(torrc, 'ServerDNSResolvConfFile'), '/tmp/net/resolv.conf');
    assert.equal(single(torrc, 'ServerDNSDetectHijacking'), '0');
    assert.equal(single(torrc, 'ServerDNSTestAddresses'), '');
    assert.equal(single(torrc, 'DirPort'), undefined);
  });

  it('lets extra entries come last so they override', () => {
    const torrc = relayTorrc({ ...server('relay0', '127.0.0.5'), extraTorrc: [['AssumeReachable', '0']] });
    assert.deepEqual(values(torrc, 'AssumeReachable'), ['1', '0']);
    assert.ok(torrc.endsWith('AssumeReachable 0\n'));
  });
});

describe('authority', () => {
  const torrc = authorityTorrc({ ...server('auth0', '127.0.0.2'), dirPort: 7000 });

  it('is a v3 authority with a DirPort on its address', () => {
    assert.equal(single(torrc, 'AuthoritativeDirectory'), '1');
    assert.equal(single(torrc, 'V3AuthoritativeDirectory'), '1');
    assert.equal(single(torrc, 'DirPort'), '127.0.0.2:7000');
    assert.equal(single(torrc, 'ExitRelay'), '0');
    assert.equal(single(torrc, 'TestingDirAuthVoteGuard'), '*');
    assert.equal(single(torrc, 'TestingDirAuthVoteExit'), '*');
    assert.equal(single(torrc, 'TestingMinExitFlagThreshold'), '0');
  });

  it('votes on the fast schedule', () => {
    assert.equal(single(torrc, 'V3AuthVotingInterval'), '10');
    assert.equal(single(torrc, 'V3AuthVoteDelay'), '2');
    assert.equal(single(torrc, 'V3AuthDistDelay'), '2');
    assert.equal(single(torrc, 'TestingV3AuthInitialVotingInterval'), '5');
    assert.equal(single(torrc, 'TestingV3AuthInitialVoteDelay'), '2');
    assert.equal(single(torrc, 'TestingV3AuthInitialDistDelay'), '2');
    assert.equal(single(torrc, 'V3AuthNIntervalsValid'), '3');
  });

  it('uses a schedule tor 0.4.9 accepts (dirauth_config.c, dirvote.h)', () => {
    const v = FAST_VOTING;
    // MIN_VOTE_SECONDS_TESTING = MIN_DIST_SECONDS_TESTING = 2
    assert.ok(v.voteDelaySeconds >= 2 && v.distDelaySeconds >= 2);
    assert.ok(v.initialVoteDelaySeconds >= 2 && v.initialDistDelaySeconds >= 2);
    // MIN_VOTE_INTERVAL_TESTING = (2+2+1)*2, MIN_VOTE_INTERVAL_TESTING_INITIAL = 2+2+1
    assert.ok(v.votingIntervalSeconds >= 10);
    assert.ok(v.initialVotingIntervalSeconds >= 5);
    assert.ok(v.voteDelaySeconds + v.distDelaySeconds < v.votingIntervalSeconds / 2);
    assert.ok(v.initialVoteDelaySeconds + v.initialDistDelaySeconds < v.initialVotingIntervalSeconds);
    assert.equal((24 * 60 * 60) % v.votingIntervalSeconds, 0);
    assert.equal((30 * 60) % v.initialVotingIntervalSeconds, 0);
    assert.ok(v.intervalsValid >= 2);
  });
});

describe('relays', () => {
  it('makes a middle relay a non-exit', () => {
    const torrc = relayTorrc(server('relay0', '127.0.0.5'));
    assert.equal(single(torrc, 'ExitRelay'), '0');
    assert.deepEqual(values(torrc, 'ExitPolicy'), []);
  });

  it('lets an exit reach all of loopback and the listed ports on any IPv4 address, nothing else', () => {
    const torrc = relayTorrc({ ...server('exit0', '127.0.0.8'), exitPorts: [28656, 443] });
    assert.equal(single(torrc, 'ExitRelay'), '1');
    assert.equal(single(torrc, 'ExitPolicyRejectPrivate'), '0');
    assert.deepEqual(values(torrc, 'ExitPolicy'), [
      'accept 127.0.0.0/8:*',
      'accept *4:28656',
      'accept *4:443',
      'reject *:*',
    ]);
  });

  it('rejects a bad exit port', () => {
    assert.throws(() => relayTorrc({ ...server('exit0', '127.0.0.8'), exitPorts: [70000] }), TestnetError);
  });
});

describe('bridge', () => {
  it('is a bridge that publishes nothing and assumes it is reachable', () => {
    const torrc = bridgeTorrc(server('bridge0', '127.0.0.9'));
    assert.equal(single(torrc, 'BridgeRelay'), '1');
    assert.equal(single(torrc, 'PublishServerDescriptor'), '0');
    assert.equal(single(torrc, 'AssumeReachable'), '1');
    assert.equal(single(torrc, 'ORPort'), '127.0.0.9:5001');
    assert.equal(single(torrc, 'ExitRelay'), '0');
    assert.equal(single(torrc, 'DirPort'), undefined);
    assert.equal(single(torrc, 'TestingTorNetwork'), '1');
  });
});

describe('client', () => {
  it('uses the given bridges and listens for SOCKS on its own address', () => {
    const line = `Bridge 127.0.0.9:4444 ${AUTH_FP}`;
    const torrc = clientTorrc({ ...node('client0', '127.0.0.10'), socksPort: 9999, bridgeLines: [line] });
    assert.equal(single(torrc, 'SocksPort'), '127.0.0.10:9999');
    assert.equal(single(torrc, 'UseBridges'), '1');
    assert.deepEqual(values(torrc, 'Bridge'), [`127.0.0.9:4444 ${AUTH_FP}`]);
    assert.equal(single(torrc, 'TestingTorNetwork'), '1');
    assert.equal(single(torrc, 'ORPort'), undefined);
  });

  it('without bridges is an ordinary client', () => {
    const torrc = clientTorrc({ ...node('client0', '127.0.0.10'), socksPort: 9999, bridgeLines: [] });
    assert.equal(single(torrc, 'UseBridges'), undefined);
  });

  it('refuses a bridge line that is not one', () => {
    assert.throws(
      () =>
        clientTorrc({ ...node('client0', '127.0.0.10'), socksPort: 9999, bridgeLines: ['127.0.0.9:4444'] }),
      /expected a "Bridge \.\.\." torrc line/,
    );
    assert.throws(
      () => clientTorrc({ ...node('client0', '127.0.0.10'), socksPort: 0, bridgeLines: [] }),
      TestnetError,
    );
  });
});

describe('resolvConf', () => {
  it('names one nameserver with its port', () => {
    assert.equal(resolvConf('127.0.0.1', 10053), 'nameserver 127.0.0.1:10053\n');
  });
});

describe('relaydTorrc', () => {
  const spec = {
    nickname: 'relayd1',
    dataDir: '/tmp/net/relayd1',
    address: '127.0.0.9',
    orPort: 5009,
    dirAuthorityLines: [DIR_AUTH],
    noticeLogPath: '/tmp/net/relayd1/notice.log',
  };

  it('is a vanilla single-process bridge by default', () => {
    const text = relaydTorrc(spec);
    assert.match(text, /^ORPort 127\.0\.0\.9:5009$/m);
    assert.doesNotMatch(text, /^(Workers|BalancerMode|ExtORPort|ServerTransport)/m);
    assert.ok(text.endsWith(`${DIR_AUTH}\n`));
  });

  it('adds workers, the balancer mode, the Extended ORPort and each managed transport with its address', () => {
    const lines = relaydTorrc({
      ...spec,
      workers: 3,
      balancerMode: 'proxy',
      extOrPort: '127.0.0.1:auto',
      transports: [{ name: 'obfs4', path: '/usr/bin/obfs4proxy', address: '127.0.0.10', port: 5010 }],
      extraTorrc: ['Log info stderr'],
    }).split('\n');
    for (const expected of [
      'Workers 3',
      'BalancerMode proxy',
      'ExtORPort 127.0.0.1:auto',
      'ServerTransportPlugin obfs4 exec /usr/bin/obfs4proxy',
      'ServerTransportListenAddr obfs4 127.0.0.10:5010',
      'Log info stderr',
    ]) {
      assert.ok(lines.includes(expected), `missing "${expected}"`);
    }
  });
});
