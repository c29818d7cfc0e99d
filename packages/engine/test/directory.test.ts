import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DestroyReason, EndReason, RELAY_DATA_MAX_LENGTH } from '@relayd/cells';
import { bytesEqual, concatBytes, utf8 } from '@relayd/common';
import { FakeDirectory, httpGet, testNetwork } from './support/harness.js';

const BODY = 600 * 1024;

describe('directory streams', () => {
  it('serves a multi-hundred-KB response as DATA cells under SENDME v1 flow control, then END DONE', async () => {
    const net = testNetwork(11);
    const relay = net.relay();
    relay.directory.bodyLength = BODY;
    const client = net.client(relay, '192.0.2.77');
    const circuit = await client.createFast(net.time);
    circuit.send(0, 5, { type: 'begin-dir' });
    circuit.send(0, 5, { type: 'data', data: httpGet('/tor/server/authority.z') });
    await net.time.settle();

    const expected = FakeDirectory.response(BODY);
    assert.ok(bytesEqual(circuit.dataOn(5), expected), 'the whole response, in order');
    const data = circuit.messages('data');
    assert.ok(data.length > 1000, `needs more than one circuit window: ${data.length} cells`);
    assert.ok(data.every((d) => d.message.data.length <= RELAY_DATA_MAX_LENGTH));
    assert.equal(data.length, Math.ceil(expected.length / RELAY_DATA_MAX_LENGTH), 'cells are filled');
    const ends = circuit.messages('end');
    assert.equal(ends.length, 1);
    assert.equal(ends[0]!.message.reason, EndReason.DONE);
    assert.equal(ends[0]!.cell.streamId, 5);
    assert.equal(circuit.destroyReason, undefined);
    assert.equal(relay.metrics.count('directoryStream:served'), 1);
    assert.equal(relay.engine.stats.directoryStreams, 0);

    // The service saw the request and where it came from.
    const [seen] = relay.directory.requests;
    assert.ok(seen);
    assert.ok(seen.request.parsed.ok);
    assert.equal(seen.request.parsed.value.target, '/tor/server/authority.z');
    assert.equal(seen.context.remoteAddress, '192.0.2.77');
    assert.equal(seen.context.createdFast, true);
    assert.equal(seen.context.transportName, 'obfs4');
  });

  it('stops at the circuit window without SENDMEs and resumes when they come', async () => {
    const net = testNetwork(12);
    const relay = net.relay();
    relay.directory.bodyLength = BODY;
    const client = net.client(relay);
    const circuit = await client.create2(net.time, relay.description);
    circuit.autoCircuitSendme = false;
    circuit.send(0, 9, { type: 'begin-dir' });
    circuit.send(0, 9, { type: 'data', data: httpGet('/tor/status-vote/current/consensus-microdesc.z') });
    await net.time.settle();
    assert.equal(circuit.messages('data').length, 1000, 'exactly one circuit window');

    // Acknowledge the 100th cell: exactly 100 more may follow.
    const tags = circuit.dataTags.get(0)!;
    circuit.send(0, 0, { type: 'sendme', kind: 'v1', digest: tags[99]! });
    await net.time.settle();
    assert.equal(circuit.messages('data').length, 1100);
    // The remaining acknowledgements, in order, release the rest.
    for (let i = 199; i < 1100; i += 100)
      circuit.send(0, 0, { type: 'sendme', kind: 'v1', digest: tags[i]! });
    circuit.autoCircuitSendme = true;
    await net.time.settle();
    assert.ok(bytesEqual(circuit.dataOn(9), FakeDirectory.response(BODY)));
    assert.equal(circuit.destroyReason, undefined);
  });

  it('stops at the stream window without stream SENDMEs', async () => {
    const net = testNetwork(13);
    const relay = net.relay();
    relay.directory.bodyLength = BODY;
    const client = net.client(relay);
    const circuit = await client.createFast(net.time);
    circuit.autoStreamSendme = false;
    circuit.send(0, 2, { type: 'begin-dir' });
    circuit.send(0, 2, { type: 'data', data: httpGet('/tor/keys/fp/x.z') });
    await net.time.settle();
    assert.equal(circuit.messages('data').length, 500);
    circuit.send(0, 2, { type: 'sendme', kind: 'v0' });
    await net.time.settle();
    assert.equal(circuit.messages('data').length, 550);
  });

  it('closes the circuit with PROTOCOL on a SENDME with the wrong digest', async () => {
    const net = testNetwork(14);
    const relay = net.relay();
    relay.directory.bodyLength = BODY;
    const client = net.client(relay);
    const circuit = await client.createFast(net.time);
    circuit.autoCircuitSendme = false;
    circuit.send(0, 4, { type: 'begin-dir' });
    circuit.send(0, 4, { type: 'data', data: httpGet('/tor/micro/d/a.z') });
    await net.time.settle();
    const wrong = circuit.dataTags.get(0)![98]!;
    circuit.send(0, 0, { type: 'sendme', kind: 'v1', digest: wrong });
    await net.time.settle();
    assert.equal(circuit.destroyReason, DestroyReason.PROTOCOL);
    assert.equal(relay.engine.stats.circuits, 0);
  });

  it('refuses a v0 circuit SENDME by default and accepts it when sendmeAcceptMinVersion is 0', async () => {
    for (const [minVersion, expectClosed] of [
      [1, true],
      [0, false],
    ] as const) {
      const net = testNetwork(15);
      const relay = net.relay({ sendmeAcceptMinVersion: minVersion });
      relay.directory.bodyLength = BODY;
      const client = net.client(relay);
      const circuit = await client.createFast(net.time);
      circuit.autoCircuitSendme = false;
      circuit.send(0, 4, { type: 'begin-dir' });
      circuit.send(0, 4, { type: 'data', data: httpGet('/tor/micro/d/a.z') });
      await net.time.settle();
      circuit.send(0, 0, { type: 'sendme', kind: 'v0' });
      await net.time.settle();
      assert.equal(
        circuit.destroyReason === DestroyReason.PROTOCOL,
        expectClosed,
        `min version ${minVersion}`,
      );
      if (!expectClosed) assert.equal(circuit.messages('data').length, 1100);
    }
  });

  it('closes the circuit on a SENDME nobody asked for', async () => {
    const net = testNetwork(16);
    const relay = net.relay();
    const client = net.client(relay);
    const circuit = await client.createFast(net.time);
    circuit.send(0, 0, { type: 'sendme', kind: 'v1', digest: new Uint8Array(20) });
    await net.time.settle();
    assert.equal(circuit.destroyReason, DestroyReason.PROTOCOL);
  });

  it('sends SENDME v1 carrying the digest of the 100th DATA cell it received, and stream SENDMEs every 50', async () => {
    const net = testNetwork(17);
    const relay = net.relay();
    const client = net.client(relay);
    const circuit = await client.createFast(net.time);
    circuit.send(0, 6, { type: 'begin-dir' });
    // A request head followed by data the directory side ignores (still counted by the windows).
    const tags: Uint8Array[] = [];
    tags.push(circuit.send(0, 6, { type: 'data', data: httpGet('/tor/server/authority') }));
    for (let i = 1; i < 100; i++) tags.push(circuit.send(0, 6, { type: 'data', data: new Uint8Array(10) }));
    await net.time.settle();
    const sendmes = circuit.messages('sendme');
    const circuitLevel = sendmes.filter((s) => s.cell.streamId === 0);
    const streamLevel = sendmes.filter((s) => s.cell.streamId === 6);
    assert.equal(circuitLevel.length, 1);
    const message = circuitLevel[0]!.message;
    assert.equal(message.kind, 'v1');
    assert.ok(message.kind === 'v1' && bytesEqual(message.digest, tags[99]!), 'echoes the 100th cell');
    assert.equal(streamLevel.length, 2);
    assert.ok(streamLevel.every((s) => s.message.kind === 'v0'));
  });

  it('collects a request split over several DATA cells', async () => {
    const net = testNetwork(18);
    const relay = net.relay();
    relay.directory.bodyLength = 10;
    const client = net.client(relay);
    const circuit = await client.createFast(net.time);
    circuit.send(0, 1, { type: 'begin-dir' });
    const request = httpGet('/tor/server/authority');
    circuit.send(0, 1, { type: 'data', data: request.subarray(0, 10) });
    circuit.send(0, 1, { type: 'data', data: request.subarray(10, request.length - 1) });
    await net.time.settle();
    assert.equal(relay.directory.requests.length, 0, 'not before the empty line');
    circuit.send(0, 1, {
      type: 'data',
      data: concatBytes(request.subarray(request.length - 1), utf8('junk')),
    });
    await net.time.settle();
    assert.equal(relay.directory.requests.length, 1);
    assert.ok(bytesEqual(relay.directory.requests[0]!.request.head, request));
    assert.ok(bytesEqual(circuit.dataOn(1), FakeDirectory.response(10)));
  });

  it('ends a stream whose request head exceeds the cap with END DONE, and keeps the circuit', async () => {
    const net = testNetwork(19);
    const relay = net.relay({ maxDirectoryRequestBytes: 1024 });
    const client = net.client(relay);
    const circuit = await client.createFast(net.time);
    circuit.send(0, 3, { type: 'begin-dir' });
    for (let i = 0; i < 3; i++) circuit.send(0, 3, { type: 'data', data: new Uint8Array(400).fill(0x41) });
    await net.time.settle();
    const end = circuit.messages('end');
    assert.equal(end.length, 1);
    assert.equal(end[0]!.message.reason, EndReason.DONE);
    assert.equal(relay.directory.requests.length, 0);
    assert.equal(relay.metrics.count('directoryStream:request-too-large'), 1);
    assert.equal(circuit.destroyReason, undefined);
  });

  it('ends the stream with END INTERNAL when the directory service fails', async () => {
    const net = testNetwork(20);
    const relay = net.relay();
    relay.directory.fail = true;
    const client = net.client(relay);
    const circuit = await client.createFast(net.time);
    circuit.send(0, 8, { type: 'begin-dir' });
    circuit.send(0, 8, { type: 'data', data: httpGet('/tor/server/authority') });
    await net.time.settle();
    const end = circuit.messages('end');
    assert.equal(end.length, 1);
    assert.equal(end[0]!.message.reason, EndReason.INTERNAL);
    assert.equal(relay.metrics.count('directoryStream:service-failed'), 1);
  });

  it('answers BEGIN with END TORPROTOCOL from a client: a bridge is no exit', async () => {
    const net = testNetwork(21);
    const relay = net.relay();
    const client = net.client(relay);
    const circuit = await client.createFast(net.time);
    circuit.send(0, 12, { type: 'begin', address: 'example.com', port: 443, flags: 0 });
    circuit.send(0, 0, { type: 'begin-dir' });
    await net.time.settle();
    const end = circuit.messages('end');
    assert.equal(end.length, 1);
    assert.equal(end[0]!.cell.streamId, 12);
    assert.equal(end[0]!.message.reason, EndReason.TORPROTOCOL);
    assert.equal(circuit.messages('connected').length, 0, 'BEGIN_DIR on stream 0 is dropped');
    assert.equal(circuit.destroyReason, undefined);
  });

  it('forgets a stream the client ends, and abandons its response', async () => {
    const net = testNetwork(22);
    const relay = net.relay();
    relay.directory.bodyLength = BODY;
    const client = net.client(relay);
    const circuit = await client.createFast(net.time);
    circuit.autoStreamSendme = false;
    circuit.send(0, 5, { type: 'begin-dir' });
    circuit.send(0, 5, { type: 'data', data: httpGet('/tor/x') });
    await net.time.settle();
    assert.equal(circuit.messages('data').length, 500);
    circuit.send(0, 5, { type: 'end', reason: EndReason.DONE, exitPolicy: null });
    circuit.send(0, 5, { type: 'sendme', kind: 'v0' });
    await net.time.settle();
    assert.equal(circuit.messages('data').length, 500, 'nothing more after END');
    assert.equal(circuit.messages('end').length, 0, 'no END answers an END');
    assert.equal(relay.metrics.count('directoryStream:abandoned'), 1);
    assert.equal(relay.engine.stats.directoryStreams, 0);
  });
});
