/**
 * The responder side of the v3 ("in-protocol") link handshake: what a bridge
 * does with a connection a client or relay opened (tor-spec 4, 4.1-4.5;
 * C tor channeltls.c `channel_tls_process_versions_cell` and friends with
 * `started_here` false).
 *
 *   peer -> us : [VPADDING | AUTHORIZE]* VERSIONS
 *   us -> peer : VERSIONS CERTS(1,2,4,5,7) AUTH_CHALLENGE([3]) NETINFO
 *   peer -> us : NETINFO                          (a client or bridge: unauthenticated)
 *           or : CERTS(2,4,6,7) AUTHENTICATE NETINFO   (a relay proving its identities)
 *
 * Refused, each with a typed error: a first cell other than VERSIONS (after
 * optional VPADDING/AUTHORIZE), a malformed VERSIONS or one with no version
 * in common, fixed-length cells other than NETINFO, AUTH_CHALLENGE (we did
 * not open the connection), a second CERTS or AUTHENTICATE, AUTHENTICATE
 * without CERTS, a CERTS chain or AUTHENTICATE that does not verify, and a
 * NETINFO whose OTHERADDR is not an IP address. A peer that sent CERTS but
 * then NETINFO without AUTHENTICATE is accepted as unauthenticated, as C tor
 * does. RSA-only initiator authentication (AUTH0001) is not offered.
 */
import {
  type ChannelCell,
  type ChannelMessage,
  encodeChannelMessageCell,
  type IpAddress,
} from '@relayd/cells';
import {
  type CheckedInitiatorCerts,
  checkAuthenticate,
  checkInitiatorCerts,
  createAuthChallenge,
  type VerifiedInitiatorIdentity,
} from '@relayd/certs';
import type { Random } from '@relayd/common';
import { sha256 } from '@relayd/crypto';
import {
  auth0003TlsSecrets,
  type CellVerdict,
  checkCertsCellHeader,
  type LinkHandshakeCommonOptions,
  LinkHandshakeCore,
  type LinkHandshakeOutcome,
  unexpected,
} from './handshake-core.js';
import type { ResponderCredentials } from './link-credentials.js';
import { LinkHandshakeError } from './link-error.js';
import type { LinkTlsSession } from './link-tls.js';

export interface LinkResponderOptions extends LinkHandshakeCommonOptions {
  /** Our CERTS contents for the TLS context this connection used. */
  readonly credentials: ResponderCredentials;
  /** The TLS session, for the AUTHENTICATE exporter value. */
  readonly tls: LinkTlsSession;
  /** The peer's address as we see it (OTHERADDR of our NETINFO). */
  readonly peerAddress: IpAddress;
  /** Our own addresses (MYADDR of our NETINFO). */
  readonly localAddresses?: readonly IpAddress[];
  /** For the AUTH_CHALLENGE challenge. */
  readonly random: Random;
}

export interface ResponderOutcome extends LinkHandshakeOutcome {
  readonly initiatedLocally: false;
  /** The peer's proven identities, when it authenticated (a relay); undefined for clients and bridges. */
  readonly verifiedInitiator: VerifiedInitiatorIdentity | undefined;
}

export class LinkResponder extends LinkHandshakeCore<ResponderOutcome> {
  private readonly opts: LinkResponderOptions;
  private initiatorCerts: CheckedInitiatorCerts | undefined;
  private verifiedInitiator: VerifiedInitiatorIdentity | undefined;
  private authenticateSeen = false;

  constructor(opts: LinkResponderOptions) {
    super(opts);
    this.opts = opts;
  }

  protected override handleMessage(
    message: ChannelMessage,
    cell: ChannelCell,
  ): CellVerdict<ResponderOutcome> {
    switch (message.type) {
      case 'versions':
        return this.onVersions(message.versions);
      case 'certs':
        return this.onCerts(message.certs, cell);
      case 'authenticate':
        return this.onAuthenticate(message.authType, message.authentication);
      case 'netinfo':
        return this.onNetinfo(cell);
      default:
        return unexpected(cell.command, 'sent to a responder');
    }
  }

  private onVersions(versions: readonly number[]): CellVerdict<ResponderOutcome> {
    const version = this.adoptLinkVersion(versions, 'peer');
    if (version instanceof LinkHandshakeError) return version;
    // Our VERSIONS goes out with 2-byte circuit IDs like every first VERSIONS
    // cell; everything after it uses the negotiated framing.
    this.send(encodeChannelMessageCell(0, { type: 'versions', versions: this.linkVersions }, 'negotiating'));
    this.send(encodeChannelMessageCell(0, { type: 'certs', certs: this.opts.credentials.certs }, version));
    const challenge = createAuthChallenge(this.opts.random);
    this.send(
      encodeChannelMessageCell(
        0,
        { type: 'auth-challenge', challenge: challenge.challenge, methods: challenge.methods },
        version,
      ),
    );
    this.sendNetinfo({
      timestampSeconds: this.nowSeconds(),
      otherAddress: this.opts.peerAddress,
      myAddresses: this.opts.localAddresses ?? [],
    });
    return undefined;
  }

  private onCerts(
    entries: readonly { certType: number; body: Uint8Array }[],
    cell: ChannelCell,
  ): CellVerdict<ResponderOutcome> {
    if (this.initiatorCerts !== undefined || this.authenticateSeen) {
      return new LinkHandshakeError('UNEXPECTED_CELL', 'a second CERTS cell');
    }
    const badHeader = checkCertsCellHeader(cell);
    if (badHeader) return badHeader;
    const checked = checkInitiatorCerts(entries, this.clock.nowMs());
    if (!checked.ok) {
      return new LinkHandshakeError('BAD_CERTS', `initiator CERTS refused: ${checked.error.message}`, {
        certError: checked.error,
      });
    }
    this.initiatorCerts = checked.value;
    return undefined;
  }

  private onAuthenticate(authType: number, authentication: Uint8Array): CellVerdict<ResponderOutcome> {
    if (this.authenticateSeen) return new LinkHandshakeError('UNEXPECTED_CELL', 'a second AUTHENTICATE cell');
    this.authenticateSeen = true;
    const certs = this.initiatorCerts;
    if (!certs) return new LinkHandshakeError('UNEXPECTED_CELL', 'AUTHENTICATE before CERTS');
    const exporterOutput = auth0003TlsSecrets(this.opts.tls, certs.rsaIdentityKey);
    if (exporterOutput instanceof LinkHandshakeError) return exporterOutput;
    const credentials = this.opts.credentials;
    const verified = checkAuthenticate(authType, authentication, {
      initiatorCerts: certs,
      responderRsaIdentity: credentials.rsaIdentityKey,
      responderEd25519Identity: credentials.ed25519Identity,
      responderLogDigest: this.sentLog.peek(),
      initiatorLogDigest: this.receivedLog.peek(),
      responderTlsCertificateDigest: sha256(credentials.tlsCertificate),
      tlsExporterOutput: exporterOutput,
    });
    if (!verified.ok) {
      return new LinkHandshakeError('BAD_AUTHENTICATE', `AUTHENTICATE refused: ${verified.error.message}`, {
        certError: verified.error,
      });
    }
    this.verifiedInitiator = verified.value;
    return undefined;
  }

  private onNetinfo(cell: ChannelCell): CellVerdict<ResponderOutcome> {
    const netinfo = this.readNetinfo(cell);
    if (netinfo instanceof LinkHandshakeError) return netinfo;
    const peer = this.verifiedInitiator;
    return {
      finish: {
        ...netinfo,
        initiatedLocally: false,
        rsaIdentity: peer ? Uint8Array.from(peer.rsaIdentity) : undefined,
        ed25519Identity: peer ? Uint8Array.from(peer.ed25519Identity) : undefined,
        verifiedInitiator: peer,
      },
    };
  }
}
