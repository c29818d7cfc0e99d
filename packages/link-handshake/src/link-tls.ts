/**
 * What the link handshake needs from the TLS session under it, as plain
 * values and one function, so the handshake stays free of sockets.
 */

/** The RFC 5705 exporter of a TLS session (node:tls `TLSSocket.exportKeyingMaterial`). */
export interface LinkTlsSession {
  /**
   * Keying material exported with `label` and `context` (tor's AUTH0003 uses
   * a context). May throw if the TLS layer cannot export; the handshake then
   * fails with TLS_UNAVAILABLE.
   */
  exportKeyingMaterial(label: string, context: Uint8Array, length: number): Uint8Array;
}
