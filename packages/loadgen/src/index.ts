/**
 * @relayd/loadgen: many Tor clients at once against one bridge, built on
 * relayd's own client-side protocol code, with a loopback sink relay as the
 * next hop. A bench runner drives `LoadGenerator` (or `runLoad`) and
 * `SinkRelay`; the CLI (cli.js) is a thin layer over the same API.
 */
export { ClientChannel, type ClientChannelOptions, DEFAULT_MAX_BATCH_BYTES } from './client/channel.js';
export {
  type CircuitEvents,
  type CircuitPhase,
  type CircuitPlan,
  type CircuitTraffic,
  type CircuitWorkload,
  ClientCircuit,
  type RelayCellKind,
  type StreamHandler,
} from './client/circuit.js';
export { HopWindows, type SendmeProblem, StreamWindows } from './client/flow-control.js';
export {
  CREATE_HANDSHAKES,
  type CreateHandshake,
  EXTEND_HANDSHAKES,
  type ExtendHandshake,
  type HopKeys,
  startHandshake,
} from './client/hop-handshake.js';
export { HttpResponseReader, type HttpResponseSummary } from './client/http-response.js';
export {
  CircuitTransfer,
  DROP_BATCH_CELLS,
  MAX_DROP_BATCHES_IN_FLIGHT,
  type TransferAccounting,
  type TransferPlan,
  type UploadCells,
} from './client/transfer.js';
export { getCli, IncompleteRunError, LOADGEN_VERSION, UsageError } from './commands.js';
export { type LinkConnector, type TlsLinkConnectorOptions, tlsLinkConnector } from './connector.js';
export { fetchBridgeDescriptor, OWN_DESCRIPTOR_PATH } from './descriptor.js';
export { LoadgenError, type LoadgenErrorCode } from './errors.js';
export {
  DEFAULT_LOAD_TRANSPORT_NAME,
  type ExtOrPortConnectorOptions,
  extOrPortLinkConnector,
  loadgenClientAddress,
} from './ext-orport-connector.js';
export {
  LoadGenerator,
  type LoadModules,
  type LoadPhase,
  type LoadProgress,
  runLoad,
} from './load-generator.js';
export {
  cellsFor,
  defaultLoadOptions,
  type LoadOptions,
  type LoadOptionsInput,
  resolveLoadOptions,
} from './options.js';
export {
  buildReport,
  type DirectionThroughput,
  formatReport,
  LOAD_REPORT_VERSION,
  type LoadReport,
  type TrafficTotals,
} from './report.js';
export { SinkDirectory, type SinkDirectoryCounts, type SinkDirectoryOptions } from './sink/sink-directory.js';
export { type SinkCounts, SinkMetrics } from './sink/sink-metrics.js';
export {
  createSinkEngine,
  type SinkEngineModules,
  SinkRelay,
  type SinkRelayOptions,
  type SinkStats,
} from './sink/sink-relay.js';
export {
  downloadPath,
  httpGetHead,
  MAX_SINK_RESPONSE_BYTES,
  parseSinkTarget,
  releasePath,
  SINK_PATH_PREFIX,
  type SinkRequest,
  uploadPath,
} from './sink-protocol.js';
export { EMPTY_LATENCY, LatencyRecorder, type LatencySummary, percentile } from './stats/latency.js';
export { LoadStats, type MeasurementWindow, TrafficCounts } from './stats/load-stats.js';
export {
  DEFAULT_CLOCK_TICKS_PER_SECOND,
  ProcessSampler,
  type ProcessUsageSummary,
  type ProcSample,
  parseProcStat,
  parseProcStatusRss,
} from './stats/proc-sampler.js';
export {
  type BridgeTarget,
  extendLinkSpecifiers,
  type NextHop,
  type NextHopJson,
  nextHopFromJson,
  nextHopToJson,
  parseCurve25519Key,
  parseEd25519Identity,
  parseFingerprint,
  parseHostPort,
  type RelayAddress,
} from './target.js';
