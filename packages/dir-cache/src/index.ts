/**
 * @relayd/dir-cache: the bridge as its clients' only directory cache — a
 * document store with tor's acceptance rules, the BEGIN_DIR HTTP service
 * (the engine's `DirectoryService`) with compression, and the fetch
 * schedule and driver that keep the consensus, authority certificates and
 * microdescriptors current. No I/O of its own: HTTP, storage, time and
 * timers are injected.
 */
export {
  type ConsensusAuthority,
  consensusAuthorities,
  type DirectoryAuthoritySource,
  v3AuthorityIdentities,
} from './authorities.js';
export {
  acceptedEncodings,
  COMPRESSION_LEVEL,
  ContentEncoding,
  chooseEncoding,
  encodeBody,
} from './compression.js';
export {
  CACHE_LIFETIME_SECONDS,
  DirCacheService,
  type DirCacheServiceModules,
  type DirCacheServiceOptions,
  ROUTER_MAX_AGE_TO_PUBLISH_SECONDS,
} from './dir-cache-service.js';
export {
  DEFAULT_DIRECTORY_REQUEST_TIMEOUT_MS,
  DEFAULT_MAX_RESPONSE_BYTES,
  type DirectoryFetch,
  DirectoryFetcher,
  type DirectoryFetcherModules,
  type DirectoryFetcherOptions,
  type DirectoryFetcherStatus,
  type DirectoryFetchProblem,
  type DirectoryFetchRequest,
  type DirectoryFetchResponse,
} from './directory-fetcher.js';
export {
  type CertificateAddResult,
  consensusLiveness,
  type DirectorySnapshot,
  DirectoryStore,
  type DirectoryStoreChange,
  type DirectoryStoreOptions,
  MICRODESCRIPTOR_UNLISTED_LIFETIME_MS,
  type MicrodescriptorAddResult,
  type OwnDescriptors,
  type StoredCertificate,
  type StoredConsensus,
  type StoredMicrodescriptor,
} from './directory-store.js';
export { DEFAULT_ENCODED_BODY_CACHE_BYTES, EncodedBodyCache } from './encoded-body-cache.js';
export { DirCacheError, type DirCacheErrorCode, MissingCertificatesError } from './errors.js';
export {
  CONSENSUS_MIN_SECONDS_BEFORE_CACHING,
  type ConsensusTimes,
  consensusFetchWindow,
  consensusIfModifiedSince,
  DEFAULT_RETRY_SCHEDULE,
  DownloadStatus,
  IF_MODIFIED_SINCE_DELAY_SECONDS,
  MAX_MICRODESCRIPTORS_PER_REQUEST,
  MIN_MICRODESCRIPTOR_REQUESTS,
  MIN_MICRODESCRIPTORS_PER_REQUEST,
  nextConsensusFetchTime,
  nextRetryDelay,
  type RetrySchedule,
  randomInt,
  splitMicrodescriptorBatches,
} from './fetch-schedule.js';
export { formatHttpDate, parseHttpDate, X_ADDRESS_HEADER } from './http-response.js';
export {
  type DirectoryFetcherMetrics,
  type DirectoryFetchKind,
  type DirectoryFetchOutcome,
  type DirectoryResourceLabel,
  type DirectoryServiceMetrics,
  noopDirectoryFetcherMetrics,
  noopDirectoryServiceMetrics,
} from './metrics.js';
export { type DirectoryGet, type DirectoryRequestKind, readDirectoryRequest } from './request-target.js';
export {
  clientLikesConsensus,
  decodeBase64Digest256,
  type FingerprintPair,
  joinFingerprintPairs,
  splitBase64Digests256,
  splitFingerprintPairs,
  splitHexDigests,
} from './resource-list.js';
export { DIRECTORY_STORAGE_NAMES, type DirectoryStorage, MemoryDirectoryStorage } from './storage.js';
