/**
 * The TLS side of relayd's link: the short-term TLS key and certificates,
 * the node:tls settings both directions use, and the two-hourly rotation.
 *
 * Like C tor (router.c `router_initialize_tls_context`, tortls.c
 * `tor_tls_context_init_certificates`), every context has a fresh RSA-2048
 * link key, a link certificate signed by the RSA identity under a random
 * "www.<random>.net" name, and a fresh self-signed identity certificate
 * under a random "www.<random>.com" name (built by @relayd/crypto's x509
 * module). The responder's CERTS contents are built with the context, so a
 * connection is always answered with the type 1 and type 5 certificates of
 * the TLS certificate it actually saw.
 *
 * Rotation: C tor replaces its TLS context every MAX_SSL_KEY_LIFETIME_INTERNAL
 * (2 hours, mainloop.c `rotate_x509_certificate_callback`). New connections
 * get the new context; connections already open keep theirs.
 *
 * TLS settings (tortls_openssl.c `tor_tls_context_new`): TLS 1.2 or 1.3
 * (tor 0.4.9 negotiates 1.3; C tor still accepts 1.0, relayd does not),
 * server cipher preference, no session tickets, no compression, the server
 * asks for (and ignores) a client certificate as C tor's SSL_VERIFY_PEER with
 * an always-accept callback does, ECDHE groups P-256 first as C tor
 * configures them. Certificates are never checked by TLS itself: the link
 * handshake's CERTS cell is what authenticates a relay.
 */
import { type ConnectionOptions, createSecureContext, type SecureContext } from 'node:tls';
import { type Clock, type Logger, type Random, silentLogger } from '@relayd/common';
import {
  createRelayTlsCertificates,
  type Ed25519SigningKey,
  type RsaPrivateKey,
  randomTlsHostname,
  secureRandom,
  x509DerToPem,
} from '@relayd/crypto';
import { buildResponderCredentials, type ResponderCredentials } from '@relayd/link-handshake';

/** C tor MAX_SSL_KEY_LIFETIME_INTERNAL: a new TLS key and certificate every two hours. */
export const LINK_TLS_ROTATION_INTERVAL_MS = 2 * 60 * 60 * 1000;

/** Lowest TLS version relayd speaks. Every supported tor (0.4.x, OpenSSL >= 1.1.1) does 1.3. */
export const LINK_TLS_MIN_VERSION = 'TLSv1.2';

/** ECDHE groups, P-256 first as C tor sets them ("P-256:P-224"); X25519 as a fallback for other clients. */
export const LINK_TLS_GROUPS = 'P-256:X25519:P-384';

/** The keys a link TLS context is made from; a worker's WorkerKeys fits. */
export interface LinkKeyMaterial {
  readonly rsaIdentity: RsaPrivateKey;
  readonly ed25519Identity: Uint8Array;
  readonly signingKey: Ed25519SigningKey;
  /** The type 4 certificate (identity -> signing key). */
  readonly signingCert: Uint8Array;
}

/** One TLS identity of the ORPort and the CERTS contents that go with it. */
export interface LinkTlsContext {
  /** For node:tls server sockets. */
  readonly secureContext: SecureContext;
  /** DER of the link certificate TLS presents (CERTS type 1). */
  readonly linkCertificate: Uint8Array;
  /** The responder CERTS contents for connections that used this context. */
  readonly credentials: ResponderCredentials;
  readonly createdMs: number;
}

export interface CreateLinkTlsContextOptions {
  readonly nowMs: number;
  readonly random?: Random;
  /** A link key to use instead of a fresh RSA-2048 one (tests). */
  readonly linkKey?: RsaPrivateKey;
}

// OpenSSL's SSL_OP_* bits (ssl.h; node:crypto `constants`, which only the crypto package may import).
const SSL_OP_NO_TICKET = 0x4000;
const SSL_OP_NO_COMPRESSION = 0x20000;
const SSL_OP_CIPHER_SERVER_PREFERENCE = 0x400000;
const SERVER_SECURE_OPTIONS = SSL_OP_NO_TICKET | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE;

/** Makes a fresh TLS context: link key, link and identity certificates, and the responder credentials. */
export function createLinkTlsContext(
  keys: LinkKeyMaterial,
  opts: CreateLinkTlsContextOptions,
): LinkTlsContext {
  const random = opts.random ?? secureRandom;
  const x509 = createRelayTlsCertificates({
    identityKey: keys.rsaIdentity,
    nowMs: opts.nowMs,
    random,
    ...(opts.linkKey ? { linkKey: opts.linkKey } : {}),
  });
  const credentials = buildResponderCredentials({
    rsaIdentity: keys.rsaIdentity,
    ed25519Identity: keys.ed25519Identity,
    signingKey: keys.signingKey,
    signingCert: keys.signingCert,
    identityCertificate: x509.identityCertificate,
    linkCertificate: x509.linkCertificate,
    nowMs: opts.nowMs,
  });
  const secureContext = createSecureContext({
    key: x509.linkKey.toPem(),
    cert: x509DerToPem(x509.linkCertificate),
    minVersion: LINK_TLS_MIN_VERSION,
    ecdhCurve: LINK_TLS_GROUPS,
    secureOptions: SERVER_SECURE_OPTIONS,
  });
  return Object.freeze({
    secureContext,
    linkCertificate: x509.linkCertificate,
    credentials,
    createdMs: opts.nowMs,
  });
}

/** Options for an outgoing link's tls.connect (certificates are checked by the link handshake, not TLS). */
export function linkClientTlsOptions(random: Random = secureRandom): ConnectionOptions {
  return {
    rejectUnauthorized: false,
    minVersion: LINK_TLS_MIN_VERSION,
    ecdhCurve: LINK_TLS_GROUPS,
    // tortls_openssl.c `tor_tls_new`: clients send a random "www.<4-25 chars>.com" server name.
    servername: randomTlsHostname('.com', random),
  };
}

export interface LinkTlsContextsOptions {
  readonly clock: Clock;
  readonly random?: Random;
  /** Default LINK_TLS_ROTATION_INTERVAL_MS. */
  readonly rotationIntervalMs?: number;
  readonly logger?: Logger;
}

/**
 * The ORPort's current TLS context and its rotation. Hand it to the listener;
 * call `startRotation()` to replace the context on tor's schedule, and
 * `updateKeys()` when the signing key changes (a new worker key snapshot).
 */
export class LinkTlsContexts {
  private keys: LinkKeyMaterial;
  private context: LinkTlsContext;
  private timer: NodeJS.Timeout | undefined;
  private readonly opts: LinkTlsContextsOptions;

  constructor(keys: LinkKeyMaterial, opts: LinkTlsContextsOptions) {
    this.keys = keys;
    this.opts = opts;
    this.context = this.make();
  }

  /** The context new connections use. */
  get current(): LinkTlsContext {
    return this.context;
  }

  /** Replaces the context now (new link key and certificates). Connections already open are unaffected. */
  rotate(): LinkTlsContext {
    this.context = this.make();
    (this.opts.logger ?? silentLogger).debug({}, 'rotated the link TLS context');
    return this.context;
  }

  /** New key material (a renewed signing key): rotates at once so CERTS carry the new type 4 certificate. */
  updateKeys(keys: LinkKeyMaterial): void {
    this.keys = keys;
    this.rotate();
  }

  /** Rotates every `rotationIntervalMs` until `stopRotation()`. The timer does not keep the process alive. */
  startRotation(): void {
    if (this.timer) return;
    const interval = this.opts.rotationIntervalMs ?? LINK_TLS_ROTATION_INTERVAL_MS;
    this.timer = setInterval(() => {
      try {
        this.rotate();
      } catch (error) {
        (this.opts.logger ?? silentLogger).error({ err: error }, 'bug: link TLS context rotation failed');
      }
    }, interval);
    this.timer.unref();
  }

  stopRotation(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private make(): LinkTlsContext {
    return createLinkTlsContext(this.keys, {
      nowMs: this.opts.clock.nowMs(),
      ...(this.opts.random ? { random: this.opts.random } : {}),
    });
  }
}
