/**
 * The initiator side of the v3 link handshake: what relayd does when it
 * opens a connection to the next relay of a circuit (tor-spec 4, 4.1-4.5;
 * C tor channeltls.c with `started_here` true).
 *
 *   us -> peer : VERSIONS
 *   peer -> us : VERSIONS CERTS(1,2,4,5,7) AUTH_CHALLENGE NETINFO
 *   us -> peer : NETINFO                        (default: a bridge does not authenticate)
 *           or : CERTS(2,4,6,7) AUTHENTICATE NETINFO   (option `authenticate`: playing a relay)
 *
 * A bridge never authenticates when it initiates, exactly as C tor with
 * `public_server_mode()` false: it sends NETINFO (time 0, no addresses of
 * its own) as soon as the responder's CERTS verify, and ignores the
 * AUTH_CHALLENGE. With `authenticate`, it sends its CERTS right after the
 * responder's VERSIONS, and AUTHENTICATE (method 3) + NETINFO on
 * AUTH_CHALLENGE, as a C tor relay does.
 *
 * The responder's CERTS must verify against the TLS certificate this
 * connection actually presented (type 5 binds to its SHA-256), and prove the
 * expected identities when `expectedPeer` is given. Refused: a
 * first cell other than VERSIONS (after optional VPADDING/AUTHORIZE), a
 * malformed VERSIONS or one with nothing in common, NETINFO or
 * AUTH_CHALLENGE before CERTS, a second CERTS or AUTH_CHALLENGE, CERTS or
 * AUTH_CHALLENGE on a nonzero circuit ID, AUTHENTICATE (we opened the
 * connection), fixed-length cells other than NETINFO, a CERTS chain that
 * does not verify, and a NETINFO whose OTHERADDR is not an IP address.
 */
import {
  type ChannelCell,
  type ChannelMessage,
  encodeChannelMessageCell,
  type IpAddress,
} from '@relayd/cells';
import {
  AUTH0003_NONCE_BYTES,
  checkResponderCerts,
  createEd25519Authenticator,
  LinkAuthMethod,
  selectLinkAuthMethod,
  type VerifiedResponderIdentity,
} from '@relayd/certs';
import { InternalError, type Random } from '@relayd/common';
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
import type { InitiatorCredentials } from './link-credentials.js';
import { LinkHandshakeError } from './link-error.js';
import type { LinkTlsSession } from './link-tls.js';
import { checkPeerIdentity, type ExpectedPeerIdentity } from './peer-identity.js';

/** Authenticating as a relay (CERTS + AUTHENTICATE): never for a bridge; for a load generator playing a relay. */
export interface InitiatorAuthentication {
  readonly credentials: InitiatorCredentials;
  /** Our addresses for the MYADDR field of NETINFO (a relay names its own). */
  readonly localAddresses?: readonly IpAddress[];
  /** The TLS session's exporter, for the AUTHENTICATE cell. */
  readonly tls: LinkTlsSession;
}

export interface LinkInitiatorOptions extends LinkHandshakeCommonOptions {
  /** DER of the certificate the responder presented in TLS: its CERTS type 5 must certify exactly this. */
  readonly peerTlsCertificate: Uint8Array;
  /** The responder's address as we see it (OTHERADDR of our NETINFO). */
  readonly peerAddress: IpAddress;
  /** For the AUTHENTICATE nonce. */
  readonly random: Random;
  /** Set to authenticate as a relay; absent for a bridge (the default, as C tor bridges do). */
  readonly authenticate?: InitiatorAuthentication;
  /**
   * The identities the responder must prove (an EXTEND2 target). Checked as
   * soon as its CERTS verify, before we send anything more, as C tor does;
   * a mismatch fails the handshake with IDENTITY_MISMATCH.
   */
  readonly expectedPeer?: ExpectedPeerIdentity;
}

export interface InitiatorOutcome extends LinkHandshakeOutcome {
  readonly initiatedLocally: true;
  readonly rsaIdentity: Uint8Array;
  /** The responder's verified identities (Ed25519 undefined only for an RSA-only responder). */
  readonly verifiedResponder: VerifiedResponderIdentity;
  /** Whether we sent an AUTHENTICATE cell. */
  readonly authenticated: boolean;
}

export class LinkInitiator extends LinkHandshakeCore<InitiatorOutcome> {
  private readonly opts: LinkInitiatorOptions;
  private started = false;
  private responder: VerifiedResponderIdentity | undefined;
  private authChallengeSeen = false;
  private authenticated = false;

  constructor(opts: LinkInitiatorOptions) {
    super(opts);
    this.opts = opts;
  }

  /** Our first flight: the VERSIONS cell. Call once, before `receive`. */
  start(): Uint8Array {
    if (this.started) throw new InternalError('link initiator started twice');
    this.started = true;
    this.send(encodeChannelMessageCell(0, { type: 'versions', versions: this.linkVersions }, 'negotiating'));
    return this.takeOutput();
  }

  protected override handleMessage(
    message: ChannelMessage,
    cell: ChannelCell,
  ): CellVerdict<InitiatorOutcome> {
    if (!this.started) throw new InternalError('link initiator received bytes before start()');
    switch (message.type) {
      case 'versions':
        return this.onVersions(message.versions);
      case 'certs':
        return this.onCerts(message.certs, cell);
      case 'auth-challenge':
        return this.onAuthChallenge(message.methods, cell);
      case 'netinfo':
        return this.onNetinfo(cell);
      default:
        return unexpected(cell.command, 'sent to an initiator');
    }
  }

  private onVersions(versions: readonly number[]): CellVerdict<InitiatorOutcome> {
    const version = this.adoptLinkVersion(versions, 'responder');
    if (version instanceof LinkHandshakeError) return version;
    const auth = this.opts.authenticate;
    if (auth)
      this.send(encodeChannelMessageCell(0, { type: 'certs', certs: auth.credentials.certs }, version));
    return undefined;
  }

  private onCerts(
    entries: readonly { certType: number; body: Uint8Array }[],
    cell: ChannelCell,
  ): CellVerdict<InitiatorOutcome> {
    if (this.responder) return new LinkHandshakeError('UNEXPECTED_CELL', 'a second CERTS cell');
    const badHeader = checkCertsCellHeader(cell);
    if (badHeader) return badHeader;
    const verified = checkResponderCerts(entries, this.opts.peerTlsCertificate, this.clock.nowMs());
    if (!verified.ok) {
      return new LinkHandshakeError('BAD_CERTS', `responder CERTS refused: ${verified.error.message}`, {
        certError: verified.error,
      });
    }
    if (this.opts.expectedPeer) {
      const matches = checkPeerIdentity(verified.value, this.opts.expectedPeer);
      if (!matches.ok) return matches.error;
    }
    this.responder = verified.value;
    // Not authenticating: we know who we talk to, so NETINFO can go now (channeltls.c).
    if (!this.opts.authenticate) this.sendOurNetinfo();
    return undefined;
  }

  private onAuthChallenge(methods: readonly number[], cell: ChannelCell): CellVerdict<InitiatorOutcome> {
    if (!this.responder) return new LinkHandshakeError('UNEXPECTED_CELL', 'AUTH_CHALLENGE before CERTS');
    if (this.authChallengeSeen)
      return new LinkHandshakeError('UNEXPECTED_CELL', 'a second AUTH_CHALLENGE cell');
    if (cell.circId !== 0) {
      return new LinkHandshakeError('NONZERO_CIRCUIT_ID', 'AUTH_CHALLENGE cell with a nonzero circuit ID');
    }
    this.authChallengeSeen = true;
    const auth = this.opts.authenticate;
    if (!auth || this.hasSentNetinfo) return undefined;
    // AUTH0003 names the responder's Ed25519 identity; an RSA-only responder cannot be answered.
    const responderEd = this.responder.ed25519Identity;
    if (selectLinkAuthMethod(methods) === LinkAuthMethod.ED25519_SHA256_RFC5705 && responderEd) {
      const failure = this.sendAuthenticate(auth, this.responder);
      if (failure) return failure;
    }
    this.sendOurNetinfo();
    return undefined;
  }

  private sendAuthenticate(
    auth: InitiatorAuthentication,
    responder: VerifiedResponderIdentity,
  ): LinkHandshakeError | undefined {
    const credentials = auth.credentials;
    const exporterOutput = auth0003TlsSecrets(auth.tls, credentials.rsaIdentityKey);
    if (exporterOutput instanceof LinkHandshakeError) return exporterOutput;
    const authentication = createEd25519Authenticator({
      // Our received transcript already holds the AUTH_CHALLENGE being answered.
      responderLogDigest: this.receivedLog.peek(),
      initiatorLogDigest: this.sentLog.peek(),
      responderTlsCertificateDigest: sha256(this.opts.peerTlsCertificate),
      tlsExporterOutput: exporterOutput,
      initiatorRsaIdentity: credentials.rsaIdentityKey,
      responderRsaIdentity: responder.rsaIdentityKey,
      initiatorEd25519Identity: credentials.ed25519Identity,
      responderEd25519Identity: responder.ed25519Identity,
      nonce: this.opts.random.bytes(AUTH0003_NONCE_BYTES),
      authenticationKey: credentials.authenticationKey,
    });
    this.send(
      encodeChannelMessageCell(
        0,
        { type: 'authenticate', authType: LinkAuthMethod.ED25519_SHA256_RFC5705, authentication },
        this.linkVersion!,
      ),
    );
    this.authenticated = true;
    return undefined;
  }

  private sendOurNetinfo(): void {
    const auth = this.opts.authenticate;
    this.sendNetinfo({
      // connection_or_send_netinfo: only a relay reveals its clock and addresses on connections it opens.
      timestampSeconds: auth ? this.nowSeconds() : 0,
      otherAddress: this.opts.peerAddress,
      myAddresses: auth?.localAddresses ?? [],
    });
  }

  private onNetinfo(cell: ChannelCell): CellVerdict<InitiatorOutcome> {
    const responder = this.responder;
    // "Got a NETINFO cell from server, but no authentication." (channeltls.c)
    if (!responder) return new LinkHandshakeError('UNEXPECTED_CELL', 'NETINFO before CERTS');
    const netinfo = this.readNetinfo(cell);
    if (netinfo instanceof LinkHandshakeError) return netinfo;
    // An authenticating initiator that got no AUTH_CHALLENGE still owes its NETINFO.
    if (!this.hasSentNetinfo) this.sendOurNetinfo();
    return {
      finish: {
        ...netinfo,
        initiatedLocally: true,
        rsaIdentity: Uint8Array.from(responder.rsaIdentity),
        ed25519Identity: responder.ed25519Identity ? Uint8Array.from(responder.ed25519Identity) : undefined,
        verifiedResponder: responder,
        authenticated: this.authenticated,
      },
    };
  }
}
