/**
 * @relayd/engine: a worker's sans-IO relay engine. It adopts channels after
 * their link handshake and serves circuits, relay cells, EXTEND2 and
 * directory streams; sockets, keys on disk and the directory cache live
 * behind the interfaces exported here.
 */
export type { ChannelPeer, ChannelProvider, EstablishedChannel, ExtendTarget } from './channel-types.js';
export { MAX_RELAY_EARLY_CELLS_PER_CIRCUIT } from './circuit.js';
export type { X25519KeypairLike } from './create-handshake.js';
export type { DirectoryRequest, DirectoryRequestContext, DirectoryService } from './directory-service.js';
export { RelayEngine, type RelayEngineModules, type RelayEngineStats, type RelayIdentity } from './engine.js';
export {
  CIRCUIT_WINDOW_INCREMENT,
  CIRCUIT_WINDOW_START,
  STREAM_WINDOW_INCREMENT,
  STREAM_WINDOW_START,
} from './flow-control.js';
export { findHeadEnd, type HttpRequestHead, parseHttpRequestHead } from './http-request.js';
export {
  type ChannelCloseCause,
  type DirectoryStreamOutcome,
  type EngineMetrics,
  type ExtendOutcome,
  type HandshakeLabel,
  noopEngineMetrics,
  type OnionskinOutcome,
} from './metrics.js';
export {
  type CreateQueueOptions,
  defaultCreateQueueOptions,
  defaultRelayEngineOptions,
  type RelayEngineOptions,
  type RelayEngineOptionsInput,
  resolveEngineOptions,
} from './options.js';
export { type Scheduler, systemScheduler, type TimerHandle } from './scheduler.js';
