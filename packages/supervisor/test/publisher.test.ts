import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger } from '@relayd/common';
import { parseConfig } from '@relayd/config';
import {
  type BridgeDocuments,
  bridgeAuthorityTargets,
  type DescriptorPostRequest,
  DescriptorPublisher,
  uploadBody,
} from '../src/index.js';

const FP = '0000000000000000000000000000000000000001';

function docs(published: number): BridgeDocuments {
  return {
    serverDescriptor: `router a\npublished ${published}\n`,
    extraInfo: 'extra-info a\n',
    publishedSeconds: published,
  };
}

function fakeClock(start = 1_000_000) {
  let now = start;
  return { clock: { nowMs: () => now, monotonicMs: () => now }, advance: (ms: number) => (now += ms) };
}

describe('descriptor publishing', () => {
  it('sends to the authorities with the bridge flag, at their upload= port when named', () => {
    const parsed = parseConfig(
      [
        'DataDirectory /var/lib/relayd',
        'ContactInfo x',
        'ORPort 9001',
        'PublishServerDescriptor 1',
        `DirAuthority v3auth orport=1 v3ident=${'A'.repeat(40)} 192.0.2.1:80 ${FP}`,
        `DirAuthority bridgeauth bridge orport=2 192.0.2.2:81 ${FP.replace(/1$/, '2')}`,
        `DirAuthority other bridge orport=3 upload=http://192.0.2.9:8080 192.0.2.3:82 ${FP.replace(/1$/, '3')}`,
      ].join('\n'),
    );
    assert.ok(parsed.ok, JSON.stringify(!parsed.ok && parsed.error.errors));
    assert.deepEqual(bridgeAuthorityTargets(parsed.value.config.dirAuthorities), [
      { name: 'bridgeauth', host: '192.0.2.2', port: 81 },
      { name: 'other', host: '192.0.2.9', port: 8080 },
    ]);
  });

  it('posts descriptor + extra-info to /tor/ once per new document, and retries failures with a growing backoff', async () => {
    const { clock, advance } = fakeClock();
    const posts: DescriptorPostRequest[] = [];
    let answer: number | Error = 200;
    const publisher = new DescriptorPublisher([{ name: 'ba', host: '192.0.2.2', port: 81 }], {
      clock,
      logger: silentLogger,
      post: async (request) => {
        posts.push(request);
        if (answer instanceof Error) throw answer;
        return { status: answer };
      },
    });
    await publisher.publish(docs(100));
    assert.equal(posts.length, 1);
    assert.equal(posts[0]!.path, '/tor/');
    assert.deepEqual(posts[0]!.body, uploadBody(docs(100)));
    assert.equal(Buffer.from(posts[0]!.body).toString(), 'router a\npublished 100\nextra-info a\n');
    await publisher.publish(docs(100));
    assert.equal(posts.length, 1, 'the same documents are not sent again');
    assert.equal(publisher.status()[0]!.acceptedPublished, 100);

    answer = 400;
    await publisher.publish(docs(200));
    assert.equal(posts.length, 2);
    assert.equal(publisher.status()[0]!.failures, 1);
    await publisher.publish(docs(200));
    assert.equal(posts.length, 2, 'no retry before the backoff');
    advance(60_000);
    answer = new Error('connection refused');
    await publisher.publish(docs(200));
    assert.equal(posts.length, 3);
    assert.equal(publisher.status()[0]!.lastOutcome, 'connection refused');
    advance(60_000);
    await publisher.publish(docs(200));
    assert.equal(posts.length, 3, 'the second failure doubled the backoff');
    advance(60_000);
    answer = 200;
    await publisher.publish(docs(200));
    assert.equal(posts.length, 4);
    assert.deepEqual(
      { ...publisher.status()[0]!, lastAttemptMs: undefined },
      {
        name: 'ba',
        host: '192.0.2.2',
        port: 81,
        acceptedPublished: 200,
        lastAttemptMs: undefined,
        lastOutcome: '200',
        failures: 0,
      },
    );
  });
});
