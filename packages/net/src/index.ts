/**
 * @relayd/net: the only package that opens sockets. The ORPort listener and
 * outgoing channels run TLS and the link handshake and hand the engine
 * `EstablishedChannel`s whose transports are sockets. The MetricsPort's
 * HTTP server serves what its caller collects, to the peers its policy allows.
 */
export {
  type AcceptLinkOptions,
  type AcceptLinksOptions,
  acceptLinkOnSocket,
  acceptLinks,
  DEFAULT_MAX_PENDING_HANDSHAKES,
  type LinkListener,
} from './accept-links.js';
export { normalizeAddressText, socketIpAddress } from './addresses.js';
export {
  DEFAULT_CONNECT_TIMEOUT_MS,
  TlsChannelProvider,
  type TlsChannelProviderOptions,
} from './channel-provider.js';
export {
  type DialExtOrOptions,
  dialExtOrPort,
  type ExtOrDialResult,
  type ExtOrServeResult,
  type ServeExtOrOptions,
  serveExtOrPort,
} from './ext-or-socket.js';
export {
  HttpClientError,
  type HttpClientErrorCode,
  type HttpRequestOptions,
  type HttpResponse,
  httpRequest,
} from './http-client.js';
export {
  type HandshakeMachine,
  type RunLinkHandshakeOptions,
  runLinkHandshake,
  socketExporter,
} from './link-driver.js';
export {
  type CreateLinkTlsContextOptions,
  createLinkTlsContext,
  LINK_TLS_GROUPS,
  LINK_TLS_MIN_VERSION,
  LINK_TLS_ROTATION_INTERVAL_MS,
  type LinkKeyMaterial,
  type LinkTlsContext,
  LinkTlsContexts,
  type LinkTlsContextsOptions,
  linkClientTlsOptions,
} from './link-tls-context.js';
export {
  DEFAULT_MAX_CONCURRENT_SCRAPES,
  DEFAULT_MAX_METRICS_CONNECTIONS,
  DEFAULT_SCRAPE_TIMEOUT_MS,
  METRICS_PATH,
  type MetricsHttpServer,
  type MetricsHttpServerOptions,
  startMetricsHttpServer,
} from './metrics-http-server.js';
export { NetError, type NetErrorCode } from './net-error.js';
export {
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_MAX_HELD_INPUT_BYTES,
  DEFAULT_WRITE_HIGH_WATER_MARK,
  SocketByteTransport,
  type SocketTransportOptions,
} from './socket-transport.js';
export {
  connectTcp,
  DEFAULT_PIPE_LINGER_MS,
  DEFAULT_TCP_CONNECT_TIMEOUT_MS,
  listenTcp,
  type PipeOptions,
  type PipeResult,
  pipeSockets,
  type SocketTimers,
  socketPeer,
  stopReading,
  systemErrorCode,
  systemSocketTimers,
  type TcpConnectOptions,
  type TcpListener,
  type TcpListenOptions,
  type TcpSocket,
} from './tcp.js';
