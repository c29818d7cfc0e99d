/**
 * The bridge side of the Extended ORPort as a sans-IO state machine: what
 * relayd's front end runs on every connection a pluggable transport opens
 * to TOR_PT_EXTENDED_SERVER_PORT (ext-orport-spec 2, 2.1.3, 3; C tor
 * ext_orport.c with the same states and the same answers).
 *
 *   us -> PT : AuthTypes (1) | EndAuthTypes (0)                  start()
 *   PT -> us : AuthType (1)                                       other value: close
 *   PT -> us : ClientNonce [32]
 *   us -> PT : ServerHash [32] | ServerNonce [32]
 *   PT -> us : ClientHash [32]
 *   us -> PT : Status [1]                                         0: close
 *   PT -> us : (USERADDR | TRANSPORT | unknown command)* DONE
 *   us -> PT : OKAY or DENY, as the admission policy decides
 *
 * Refused, each with a typed error and the connection closed: any AuthType
 * but SAFE_COOKIE, a wrong ClientHash (after Status 0 is sent, as C tor
 * does), a USERADDR or TRANSPORT body that does not parse, a frame over the
 * body limit, and more commands before DONE than the command limit. Unknown
 * commands (and bridge-to-transport codes sent the wrong way) are counted
 * and ignored. A repeated USERADDR or TRANSPORT replaces the earlier one,
 * as in C tor. Bytes after DONE are the tunneled Tor link ("The next bytes
 * sent by the transport will be those tunneled over it"); they come back
 * as `leftover` for the caller to feed to the link handshake first. (C tor
 * closes a connection that sends them before its OKAY; goptlib never does.)
 *
 * Deadlines are the caller's: see EXT_OR_HANDSHAKE_DEADLINE_MS.
 */
import { concatBytes, constantTimeEqual, InternalError, type Random } from '@relayd/common';
import type { AddressPort } from './address-port.js';
import { CommandReader } from './command-reader.js';
import { ExtOrError } from './ext-or-error.js';
import {
  DEFAULT_MAX_EXT_OR_BODY_LENGTH,
  decodeExtOrMessage,
  ExtOrCommand,
  encodeExtOrFrame,
} from './frame.js';
import { InboundBuffer } from './inbound-buffer.js';
import { DEFAULT_MAX_EXT_OR_COMMANDS } from './limits.js';
import {
  checkCookie,
  drawNonce,
  ExtOrAuthStatus,
  ExtOrAuthType,
  SAFE_COOKIE_HASH_LENGTH,
  SAFE_COOKIE_NONCE_LENGTH,
  safeCookieClientHash,
  safeCookieServerHash,
} from './safe-cookie.js';

/** What the transport told us about the client before DONE. */
export interface ExtOrMetadata {
  /** USERADDR: the client's address as the transport saw it; undefined if none was sent. */
  readonly clientAddress: AddressPort | undefined;
  /** TRANSPORT: the transport's name; undefined if none was sent (C tor then logs it as "<??>"). */
  readonly transportName: string | undefined;
  /** Commands skipped because we do not understand them (ext-orport-spec 3.1 "MUST ignore"). */
  readonly ignoredCommands: number;
}

export type ExtOrDecision = 'okay' | 'deny';

/**
 * Decides, once DONE has arrived, whether to take the connection (OKAY) or
 * turn it away (DENY: "Tor would prefer not to get more traffic from this
 * address for a while"). Runs synchronously inside `receive`; whatever it
 * throws propagates to the caller as a bug.
 */
export type ExtOrAdmissionPolicy = (metadata: ExtOrMetadata) => ExtOrDecision;

export interface ExtOrServerOptions {
  /** The 32-byte CookieString from the cookie file the transports read. */
  readonly cookie: Uint8Array;
  /** For the ServerNonce. */
  readonly random: Random;
  /** Default: accept everything. */
  readonly admit?: ExtOrAdmissionPolicy;
  /** Default DEFAULT_MAX_EXT_OR_BODY_LENGTH. */
  readonly maxBodyLength?: number;
  /** Default DEFAULT_MAX_EXT_OR_COMMANDS. */
  readonly maxCommands?: number;
}

export interface ExtOrAcceptedOutcome extends ExtOrMetadata {
  /** Bytes that arrived after DONE: the start of the Tor link, to be processed before anything read later. */
  readonly leftover: Uint8Array;
}

/** The result of feeding bytes to the server. `output` always goes to the transport, in order, first. */
export type ExtOrServerStep =
  /** More bytes are needed. */
  | { readonly status: 'running'; readonly output: Uint8Array }
  /** OKAY is in `output`: send it, then the connection is a Tor link (starting with `outcome.leftover`). */
  | { readonly status: 'accepted'; readonly output: Uint8Array; readonly outcome: ExtOrAcceptedOutcome }
  /** DENY is in `output`: send it, then close. */
  | { readonly status: 'denied'; readonly output: Uint8Array; readonly metadata: ExtOrMetadata }
  /** Send `output` (Status 0 after a wrong ClientHash, otherwise nothing), then close. */
  | { readonly status: 'failed'; readonly output: Uint8Array; readonly error: ExtOrError };

export type ExtOrServerPhase =
  | 'new'
  | 'auth-type'
  | 'client-nonce'
  | 'client-hash'
  | 'metadata'
  | 'accepted'
  | 'denied'
  | 'failed';

const acceptEverything: ExtOrAdmissionPolicy = () => 'okay';

export class ExtOrServer {
  private readonly cookie: Uint8Array;
  private readonly random: Random;
  private readonly admit: ExtOrAdmissionPolicy;
  private readonly inbound = new InboundBuffer();
  private readonly commands: CommandReader;
  private state: ExtOrServerPhase = 'new';
  private expectedClientHash: Uint8Array | undefined;
  private clientAddress: AddressPort | undefined;
  private transportName: string | undefined;
  private ignoredCommands = 0;

  constructor(opts: ExtOrServerOptions) {
    checkCookie(opts.cookie);
    this.cookie = opts.cookie.slice();
    this.random = opts.random;
    this.admit = opts.admit ?? acceptEverything;
    this.commands = new CommandReader(this.inbound, {
      maxBodyLength: opts.maxBodyLength ?? DEFAULT_MAX_EXT_OR_BODY_LENGTH,
      maxCommands: opts.maxCommands ?? DEFAULT_MAX_EXT_OR_COMMANDS,
      sender: 'transport',
      lastCommand: 'DONE',
    });
  }

  /** Where the exchange stands. */
  get phase(): ExtOrServerPhase {
    return this.state;
  }

  /** The greeting to send as soon as the transport connects: AuthTypes [SAFE_COOKIE] and EndAuthTypes. */
  start(): Uint8Array {
    if (this.state !== 'new') throw new InternalError(`ExtOrServer.start() in phase ${this.state}`);
    this.state = 'auth-type';
    return Uint8Array.of(ExtOrAuthType.SAFE_COOKIE, ExtOrAuthType.NONE);
  }

  /**
   * Feeds bytes received from the transport and advances as far as they
   * allow. Never throws for any input; calling it before start() or after
   * the exchange ended is a caller bug (InternalError).
   */
  receive(bytes: Uint8Array): ExtOrServerStep {
    if (
      this.state === 'new' ||
      this.state === 'accepted' ||
      this.state === 'denied' ||
      this.state === 'failed'
    ) {
      throw new InternalError(`ExtOrServer.receive() in phase ${this.state}`);
    }
    this.inbound.push(bytes);
    const output: Uint8Array[] = [];
    for (;;) {
      const step = this.advance(output);
      if (step === 'wait') return { status: 'running', output: concatBytes(...output) };
      if (step !== 'progress') return step;
    }
  }

  /** Handles one unit of input: a field or a frame. */
  private advance(output: Uint8Array[]): 'wait' | 'progress' | ExtOrServerStep {
    switch (this.state) {
      case 'auth-type': {
        const authType = this.inbound.take(1);
        if (authType === undefined) return 'wait';
        // "If the client sent an AuthType of value 0, or an AuthType that the
        // server does not support, the server MUST close the connection."
        if (authType[0] !== ExtOrAuthType.SAFE_COOKIE) {
          return this.fail(
            output,
            new ExtOrError(
              'NO_COMMON_AUTH_TYPE',
              `transport chose auth type ${authType[0]}, not SAFE_COOKIE (1)`,
            ),
          );
        }
        this.state = 'client-nonce';
        return 'progress';
      }
      case 'client-nonce': {
        const clientNonce = this.inbound.take(SAFE_COOKIE_NONCE_LENGTH);
        if (clientNonce === undefined) return 'wait';
        const serverNonce = drawNonce(this.random);
        output.push(safeCookieServerHash(this.cookie, clientNonce, serverNonce), serverNonce);
        this.expectedClientHash = safeCookieClientHash(this.cookie, clientNonce, serverNonce);
        this.state = 'client-hash';
        return 'progress';
      }
      case 'client-hash': {
        const clientHash = this.inbound.take(SAFE_COOKIE_HASH_LENGTH);
        if (clientHash === undefined) return 'wait';
        const expected = this.expectedClientHash!;
        this.expectedClientHash = undefined;
        if (!constantTimeEqual(clientHash, expected)) {
          output.push(Uint8Array.of(ExtOrAuthStatus.FAILURE));
          return this.fail(
            output,
            new ExtOrError(
              'CLIENT_HASH_MISMATCH',
              'transport sent a wrong ClientHash: it does not hold our cookie',
            ),
          );
        }
        output.push(Uint8Array.of(ExtOrAuthStatus.SUCCESS));
        this.state = 'metadata';
        return 'progress';
      }
      case 'metadata':
        return this.takeCommand(output);
      default:
        throw new InternalError(`ExtOrServer advanced in phase ${this.state}`);
    }
  }

  private takeCommand(output: Uint8Array[]): 'wait' | 'progress' | ExtOrServerStep {
    const read = this.commands.next();
    if (read.kind === 'incomplete') return 'wait';
    if (read.kind === 'refused') return this.fail(output, read.error);
    const frame = read.frame;
    const decoded = decodeExtOrMessage(frame);
    if (!decoded.ok) {
      const code = frame.command === ExtOrCommand.USERADDR ? 'BAD_USERADDR' : 'BAD_TRANSPORT';
      return this.fail(output, new ExtOrError(code, decoded.error.message, { cause: decoded.error }));
    }
    const message = decoded.value;
    switch (message.type) {
      case 'useraddr':
        this.clientAddress = message.address;
        return 'progress';
      case 'transport':
        this.transportName = message.name;
        return 'progress';
      case 'done':
        return this.finish(output);
      default:
        // OKAY, DENY and CONTROL only travel bridge -> transport; from a
        // transport they mean nothing, like any unknown code.
        this.ignoredCommands++;
        return 'progress';
    }
  }

  private finish(output: Uint8Array[]): ExtOrServerStep {
    const metadata: ExtOrMetadata = {
      clientAddress: this.clientAddress,
      transportName: this.transportName,
      ignoredCommands: this.ignoredCommands,
    };
    const decision = this.admit(metadata);
    if (decision === 'okay') {
      output.push(encodeExtOrFrame(ExtOrCommand.OKAY));
      this.state = 'accepted';
      return {
        status: 'accepted',
        output: concatBytes(...output),
        outcome: { ...metadata, leftover: this.inbound.takeRest() },
      };
    }
    if (decision !== 'deny') {
      throw new InternalError(`Extended ORPort admission policy returned ${String(decision)}`);
    }
    output.push(encodeExtOrFrame(ExtOrCommand.DENY));
    this.inbound.takeRest();
    this.state = 'denied';
    return { status: 'denied', output: concatBytes(...output), metadata };
  }

  private fail(output: Uint8Array[], error: ExtOrError): ExtOrServerStep {
    this.state = 'failed';
    this.inbound.takeRest();
    return { status: 'failed', output: concatBytes(...output), error };
  }
}
