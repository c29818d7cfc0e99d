/**
 * The sinks the lower packages report to: every EngineMetrics call, the
 * directory service's and fetcher's, and the channel tracking behind C
 * tor's connection metrics, each checked by the values it leaves in the
 * registry.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChannelCommand, DestroyReason } from '@relayd/cells';
import type { ByteTransport, TransportHandlers } from '@relayd/common';
import type { DirectoryFetcherMetrics, DirectoryServiceMetrics } from '@relayd/dir-cache';
import type { ChannelProvider, EngineMetrics, EstablishedChannel } from '@relayd/engine';
import {
  addressFamily,
  ChannelConnectionMetrics,
  createMetricsRegistry,
  DirectoryFetcherMetricsSink,
  DirectoryServiceMetricsSink,
  EngineMetricsSink,
} from '../src/index.js';
import { family, read, value } from './metrics-helpers.js';

function engineSink() {
  const registry = createMetricsRegistry({ processMetrics: false });
  const sink = new EngineMetricsSink(registry);
  // The engine takes it as its sink interface.
  const asEngine: EngineMetrics = sink;
  return { registry, sink, asEngine };
}

describe('EngineMetricsSink', () => {
  it('counts onionskins by C tor type and action, unknown handshakes as "unknown"', async () => {
    const { registry, asEngine } = engineSink();
    for (let i = 0; i < 3; i++) asEngine.onionskin('ntor', 'processed');
    asEngine.onionskin('ntor_v3', 'dropped');
    asEngine.onionskin('fast', 'failed');
    asEngine.onionskin('unknown', 'failed');
    asEngine.onionskin('tap', 'failed');
    const json = await read(registry);
    const n = 'tor_relay_load_onionskins_total';
    assert.equal(value(json, n, { type: 'ntor', action: 'processed' }), 3);
    assert.equal(value(json, n, { type: 'ntor_v3', action: 'dropped' }), 1);
    assert.equal(value(json, n, { type: 'fast', action: 'failed' }), 1);
    assert.equal(value(json, n, { type: 'unknown', action: 'failed' }), 1);
    assert.equal(value(json, n, { type: 'tap', action: 'failed' }), 1);
    assert.equal(value(json, n, { type: 'fast', action: 'processed' }), 0);
    assert.equal(value(json, n, { type: 'unknown', action: 'processed' }), undefined, 'unknown only fails');
  });

  it('counts circuits created by type and closed by DESTROY reason name', async () => {
    const { registry, asEngine } = engineSink();
    asEngine.circuitOpened('fast');
    asEngine.circuitOpened('ntor');
    asEngine.circuitOpened('ntor');
    asEngine.circuitClosed(DestroyReason.RESOURCELIMIT);
    asEngine.circuitClosed(DestroyReason.FINISHED);
    asEngine.circuitClosed(DestroyReason.FINISHED);
    asEngine.circuitClosed(200);
    const json = await read(registry);
    assert.equal(value(json, 'relayd_circuits_created_total', { type: 'ntor' }), 2);
    assert.equal(value(json, 'relayd_circuits_created_total', { type: 'fast' }), 1);
    assert.equal(value(json, 'relayd_circuits_closed_total', { reason: 'resourcelimit' }), 1);
    assert.equal(value(json, 'relayd_circuits_closed_total', { reason: 'finished' }), 2);
    assert.equal(value(json, 'relayd_circuits_closed_total', { reason: 'unknown' }), 1);
  });

  it('counts cells by direction and command name, unknown commands together', async () => {
    const { registry, asEngine } = engineSink();
    for (let i = 0; i < 1000; i++) asEngine.cellReceived(ChannelCommand.RELAY);
    asEngine.cellReceived(ChannelCommand.RELAY_EARLY);
    asEngine.cellReceived(77);
    asEngine.cellReceived(78);
    for (let i = 0; i < 500; i++) asEngine.cellSent(ChannelCommand.RELAY);
    asEngine.cellSent(ChannelCommand.CREATED2);
    asEngine.cellSent(ChannelCommand.VPADDING);
    const json = await read(registry);
    const n = 'relayd_cells_total';
    assert.equal(value(json, n, { direction: 'received', command: 'relay' }), 1000);
    assert.equal(value(json, n, { direction: 'received', command: 'relay_early' }), 1);
    assert.equal(value(json, n, { direction: 'received', command: 'unknown' }), 2);
    assert.equal(value(json, n, { direction: 'sent', command: 'relay' }), 500);
    assert.equal(value(json, n, { direction: 'sent', command: 'created2' }), 1);
    assert.equal(value(json, n, { direction: 'sent', command: 'vpadding' }), 1);
    assert.equal(value(json, n, { direction: 'sent', command: 'destroy' }), undefined, 'commands never seen');
    // Read twice: the arrays are read, not drained.
    const again = await read(registry);
    assert.equal(value(again, n, { direction: 'received', command: 'relay' }), 1000);
  });

  it('counts channels, padding, extends, directory streams and violations with underscored labels', async () => {
    const { registry, asEngine } = engineSink();
    asEngine.channelOpened(false);
    asEngine.channelOpened(false);
    asEngine.channelOpened(true);
    asEngine.channelClosed('wrong-identity');
    asEngine.channelClosed('idle');
    asEngine.paddingNegotiate();
    asEngine.extend('new-channel');
    asEngine.extend('reused-channel');
    asEngine.extend('reused-channel');
    asEngine.directoryStream('request-too-large');
    asEngine.protocolViolation('zero-circ-id');
    asEngine.protocolViolation('circuit-queue-full');
    asEngine.protocolViolation('circuit-queue-full');
    const json = await read(registry);
    assert.equal(value(json, 'relayd_channels_opened_total', { direction: 'received' }), 2);
    assert.equal(value(json, 'relayd_channels_opened_total', { direction: 'initiated' }), 1);
    assert.equal(value(json, 'relayd_channels_closed_total', { cause: 'wrong_identity' }), 1);
    assert.equal(value(json, 'relayd_channels_closed_total', { cause: 'idle' }), 1);
    assert.equal(value(json, 'relayd_channels_closed_total', { cause: 'remote' }), 0);
    assert.equal(value(json, 'relayd_padding_negotiate_total'), 1);
    assert.equal(value(json, 'relayd_extend_total', { outcome: 'new_channel' }), 1);
    assert.equal(value(json, 'relayd_extend_total', { outcome: 'reused_channel' }), 2);
    assert.equal(value(json, 'relayd_extend_total', { outcome: 'failed' }), 0);
    assert.equal(value(json, 'relayd_directory_streams_ended_total', { outcome: 'request_too_large' }), 1);
    assert.equal(value(json, 'relayd_protocol_violations_total', { what: 'zero_circ_id' }), 1);
    assert.equal(value(json, 'relayd_protocol_violations_total', { what: 'circuit_queue_full' }), 2);
    // A circuit queue that overflowed is C tor's circuit_killed_max_cell.
    assert.equal(value(json, 'tor_relay_dos_total', { type: 'circuit_killed_max_cell' }), 2);
  });

  it('puts create queue waits into second buckets and ignores impossible waits', async () => {
    const { registry, sink } = engineSink();
    sink.createQueueWait(0.5);
    sink.createQueueWait(40);
    sink.createQueueWait(3000);
    sink.createQueueWait(-1);
    sink.createQueueWait(Number.NaN);
    const json = await read(registry);
    const n = 'relayd_create_queue_wait_seconds';
    assert.equal(value(json, n, {}, `${n}_count`), 3);
    assert.ok(Math.abs(value(json, n, {}, `${n}_sum`)! - 3.0405) < 1e-9);
    assert.equal(value(json, n, { le: 0.001 }, `${n}_bucket`), 1);
    assert.equal(value(json, n, { le: 0.05 }, `${n}_bucket`), 2);
    assert.equal(value(json, n, { le: 2.5 }, `${n}_bucket`), 2);
    assert.equal(value(json, n, { le: 5 }, `${n}_bucket`), 3);
    assert.equal(value(json, n, { le: '+Inf' }, `${n}_bucket`), 3);
  });
});

describe('directory sinks', () => {
  it('counts BEGIN_DIR responses by resource, status and encoding, and their bytes', async () => {
    const registry = createMetricsRegistry({ processMetrics: false });
    const sink: DirectoryServiceMetrics = new DirectoryServiceMetricsSink(registry);
    sink.response('consensus', 200, 'deflate', 4000);
    sink.response('consensus', 200, 'deflate', 4100);
    sink.response('server-descriptor', 200, 'identity', 900);
    sink.response('microdescriptors', 404, undefined, 60);
    const json = await read(registry);
    const n = 'relayd_directory_responses_total';
    assert.equal(value(json, n, { resource: 'consensus', status: '200', encoding: 'deflate' }), 2);
    assert.equal(value(json, n, { resource: 'server_descriptor', status: '200', encoding: 'identity' }), 1);
    assert.equal(value(json, n, { resource: 'microdescriptors', status: '404', encoding: 'none' }), 1);
    assert.equal(value(json, 'relayd_directory_response_bytes_total', { resource: 'consensus' }), 8100);
    assert.equal(value(json, 'relayd_directory_response_bytes_total', { resource: 'microdescriptors' }), 60);
  });

  it('counts fetches by kind and outcome, every series present from the start', async () => {
    const registry = createMetricsRegistry({ processMetrics: false });
    const sink: DirectoryFetcherMetrics = new DirectoryFetcherMetricsSink(registry);
    let json = await read(registry);
    assert.equal(family(json, 'relayd_directory_fetches_total').values.length, 15);
    sink.fetch('consensus', 'ok', 2_000_000);
    sink.fetch('consensus', 'not-modified', 0);
    sink.fetch('microdescriptors', 'rejected', 500);
    json = await read(registry);
    const n = 'relayd_directory_fetches_total';
    assert.equal(value(json, n, { kind: 'consensus', outcome: 'ok' }), 1);
    assert.equal(value(json, n, { kind: 'consensus', outcome: 'not_modified' }), 1);
    assert.equal(value(json, n, { kind: 'microdescriptors', outcome: 'rejected' }), 1);
    assert.equal(value(json, n, { kind: 'certificates', outcome: 'failed' }), 0);
    assert.equal(value(json, 'relayd_directory_fetch_bytes_total', { kind: 'consensus' }), 2_000_000);
    assert.equal(value(json, 'relayd_directory_fetch_bytes_total', { kind: 'microdescriptors' }), 500);
  });
});

/** A transport that records what it is asked and lets the test deliver its close. */
class FakeTransport implements ByteTransport {
  handlers: TransportHandlers | undefined;
  written: Uint8Array[] = [];
  closes = 0;
  bufferedBytes = 7;
  write(bytes: Uint8Array): boolean {
    this.written.push(bytes);
    return true;
  }
  close(): void {
    this.closes++;
  }
  attach(handlers: TransportHandlers): void {
    this.handlers = handlers;
  }
}

function established(remoteAddress: string, initiatedLocally: boolean, transport = new FakeTransport()) {
  const channel: EstablishedChannel = {
    transport,
    peer: {
      linkVersion: 5,
      initiatedLocally,
      rsaIdentity: undefined,
      ed25519Identity: undefined,
      remoteAddress,
      remotePort: 443,
    },
    leftover: new Uint8Array([1, 2]),
  };
  return { channel, transport };
}

describe('ChannelConnectionMetrics', () => {
  const opened = (direction: string, fam: string) => ({
    type: 'OR',
    direction,
    state: 'opened',
    family: fam,
  });
  const created = (direction: string, fam: string) => ({
    type: 'OR',
    direction,
    state: 'created',
    family: fam,
  });

  it('reads address families as C tor labels them', () => {
    assert.equal(addressFamily('192.0.2.1'), 'ipv4');
    assert.equal(addressFamily('::ffff:192.0.2.1'), 'ipv4');
    assert.equal(addressFamily('2001:db8::1'), 'ipv6');
    assert.equal(addressFamily('::1'), 'ipv6');
  });

  it('counts a tracked channel as created and open until its transport reports it closed', async () => {
    const registry = createMetricsRegistry({ processMetrics: false });
    const metrics = new ChannelConnectionMetrics(registry);
    const a = established('192.0.2.1', false);
    const b = established('2001:db8::7', false);
    const trackedA = metrics.track(a.channel);
    const trackedB = metrics.track(b.channel);
    assert.equal(trackedA.peer, a.channel.peer);
    assert.deepEqual([...trackedA.leftover], [1, 2]);

    // What the engine does with it: attach, read, write, close.
    const seen: string[] = [];
    trackedA.transport.attach({
      data: (bytes) => seen.push(`data ${bytes.length}`),
      drained: () => seen.push('drained'),
      closed: () => seen.push('closed'),
    });
    a.transport.handlers!.data(new Uint8Array(3));
    a.transport.handlers!.drained();
    assert.equal(trackedA.transport.write(new Uint8Array(5)), true);
    assert.equal(a.transport.written.length, 1);
    assert.equal(trackedA.transport.bufferedBytes, 7);

    let json = await read(registry);
    assert.equal(value(json, 'tor_relay_connections_total', created('received', 'ipv4')), 1);
    assert.equal(value(json, 'tor_relay_connections_total', created('received', 'ipv6')), 1);
    assert.equal(value(json, 'tor_relay_connections', opened('received', 'ipv4')), 1);
    assert.equal(value(json, 'tor_relay_connections', opened('received', 'ipv6')), 1);

    trackedA.transport.close();
    assert.equal(a.transport.closes, 1);
    json = await read(registry);
    assert.equal(
      value(json, 'tor_relay_connections', opened('received', 'ipv4')),
      1,
      'open until it is gone',
    );
    a.transport.handlers!.closed();
    a.transport.handlers!.closed();
    assert.deepEqual(seen, ['data 3', 'drained', 'closed', 'closed']);
    json = await read(registry);
    assert.equal(value(json, 'tor_relay_connections', opened('received', 'ipv4')), 0, 'counted down once');
    assert.equal(value(json, 'tor_relay_connections_total', created('received', 'ipv4')), 1);

    // A channel closed before anything attached (the engine refused it) never reports a close event.
    trackedB.transport.close();
    trackedB.transport.close();
    json = await read(registry);
    assert.equal(value(json, 'tor_relay_connections', opened('received', 'ipv6')), 0);
  });

  it('tracks the channels a provider opens as initiated', async () => {
    const registry = createMetricsRegistry({ processMetrics: false });
    const metrics = new ChannelConnectionMetrics(registry);
    const out = established('198.51.100.9', true);
    const inner: ChannelProvider = { openChannel: async () => out.channel };
    const provider = metrics.trackProvider(inner);
    const channel = await provider.openChannel({
      addresses: [{ address: '198.51.100.9', port: 9001 }],
      rsaIdentity: new Uint8Array(20),
      ed25519Identity: undefined,
    });
    assert.notEqual(channel.transport, out.transport, 'the transport is watched');
    const json = await read(registry);
    assert.equal(value(json, 'tor_relay_connections_total', created('initiated', 'ipv4')), 1);
    assert.equal(value(json, 'tor_relay_connections', opened('initiated', 'ipv4')), 1);
    assert.equal(value(json, 'tor_relay_connections', opened('received', 'ipv4')), 0);
  });
});
