/**
 * The transport side of the Extended ORPort as a sans-IO state machine:
 * what relayd runs when it proxies a connection to a backend that speaks
 * ExtORPort itself (a C tor instance, another relayd), passing on the
 * client address and transport name it received (ext-orport-spec 2,
 * 2.1.3, 3; goptlib `DialOr` is the reference transport implementation).
 *
 *   server -> us : AuthTypes* | EndAuthTypes (0)
 *   us -> server : AuthType (1) | ClientNonce [32]          (AuthType 0 if SAFE_COOKIE is not offered)
 *   server -> us : ServerHash [32] | ServerNonce [32]
 *   us -> server : ClientHash [32]                           (only if ServerHash is right)
 *   server -> us : Status [1]
 *   us -> server : [USERADDR] [TRANSPORT] DONE
 *   server -> us : OKAY or DENY                              (unknown commands skipped)
 *
 * Refused, each with a typed error: an AuthTypes list without SAFE_COOKIE
 * or without its terminator within 256 bytes, a wrong ServerHash ("the
 * client MUST terminate the connection"), a Status other than 1, a frame
 * over the body limit and too many commands before OKAY/DENY. Bytes after
 * OKAY belong to the Tor link and come back as `leftover`.
 */
import { concatBytes, constantTimeEqual, InternalError, type Random } from '@relayd/common';
import type { AddressPort } from './address-port.js';
import { CommandReader } from './command-reader.js';
import { ExtOrError } from './ext-or-error.js';
import { DEFAULT_MAX_EXT_OR_BODY_LENGTH, decodeExtOrMessage, encodeExtOrMessage } from './frame.js';
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
import { isValidTransportName } from './transport-name.js';

/** AuthTypes holds distinct values 1-255, so a list without EndAuthTypes within 256 bytes is broken (goptlib's bound). */
const MAX_AUTH_TYPES_LENGTH = 256;

export interface ExtOrClientOptions {
  /** The 32-byte CookieString from the backend's cookie file. */
  readonly cookie: Uint8Array;
  /** For the ClientNonce. */
  readonly random: Random;
  /** Sent as USERADDR when given. */
  readonly clientAddress?: AddressPort;
  /** Sent as TRANSPORT when given; must be a C identifier. */
  readonly transportName?: string;
  /** Default DEFAULT_MAX_EXT_OR_BODY_LENGTH. */
  readonly maxBodyLength?: number;
  /** Most commands accepted before OKAY or DENY. Default DEFAULT_MAX_EXT_OR_COMMANDS. */
  readonly maxCommands?: number;
}

/** The result of feeding bytes to the client. `output` always goes to the server, in order, first. */
export type ExtOrClientStep =
  /** More bytes are needed. */
  | { readonly status: 'running'; readonly output: Uint8Array }
  /** The server sent OKAY: the connection is now a Tor link; `leftover` arrived after OKAY. */
  | { readonly status: 'accepted'; readonly output: Uint8Array; readonly leftover: Uint8Array }
  /** The server sent DENY: close. */
  | { readonly status: 'denied'; readonly output: Uint8Array }
  /** Send `output` (AuthType 0 when SAFE_COOKIE was not offered, otherwise nothing), then close. */
  | { readonly status: 'failed'; readonly output: Uint8Array; readonly error: ExtOrError };

export type ExtOrClientPhase =
  | 'auth-types'
  | 'server-hash'
  | 'auth-status'
  | 'reply'
  | 'accepted'
  | 'denied'
  | 'failed';

export class ExtOrClient {
  private readonly cookie: Uint8Array;
  private readonly random: Random;
  private readonly metadata: Uint8Array;
  private readonly inbound = new InboundBuffer();
  private readonly commands: CommandReader;
  private state: ExtOrClientPhase = 'auth-types';
  private authTypesSeen = 0;
  private safeCookieOffered = false;
  private clientNonce: Uint8Array | undefined;

  /** Throws InternalError for a bad cookie or transport name (caller bugs: both come from trusted state). */
  constructor(opts: ExtOrClientOptions) {
    checkCookie(opts.cookie);
    this.cookie = opts.cookie.slice();
    this.random = opts.random;
    this.commands = new CommandReader(this.inbound, {
      maxBodyLength: opts.maxBodyLength ?? DEFAULT_MAX_EXT_OR_BODY_LENGTH,
      maxCommands: opts.maxCommands ?? DEFAULT_MAX_EXT_OR_COMMANDS,
      sender: 'server',
      lastCommand: 'OKAY',
    });
    if (opts.transportName !== undefined && !isValidTransportName(opts.transportName)) {
      throw new InternalError(`not a pluggable transport name: ${JSON.stringify(opts.transportName)}`);
    }
    const frames: Uint8Array[] = [];
    if (opts.clientAddress !== undefined) {
      frames.push(encodeExtOrMessage({ type: 'useraddr', address: opts.clientAddress }));
    }
    if (opts.transportName !== undefined) {
      frames.push(encodeExtOrMessage({ type: 'transport', name: opts.transportName }));
    }
    frames.push(encodeExtOrMessage({ type: 'done' }));
    this.metadata = concatBytes(...frames);
  }

  /** Where the exchange stands. The server speaks first, so there is no start(). */
  get phase(): ExtOrClientPhase {
    return this.state;
  }

  /**
   * Feeds bytes received from the server and advances as far as they
   * allow. Never throws for any input; calling it after the exchange ended
   * is a caller bug (InternalError).
   */
  receive(bytes: Uint8Array): ExtOrClientStep {
    if (this.state === 'accepted' || this.state === 'denied' || this.state === 'failed') {
      throw new InternalError(`ExtOrClient.receive() in phase ${this.state}`);
    }
    this.inbound.push(bytes);
    const output: Uint8Array[] = [];
    for (;;) {
      const step = this.advance(output);
      if (step === 'wait') return { status: 'running', output: concatBytes(...output) };
      if (step !== 'progress') return step;
    }
  }

  private advance(output: Uint8Array[]): 'wait' | 'progress' | ExtOrClientStep {
    switch (this.state) {
      case 'auth-types':
        return this.takeAuthType(output);
      case 'server-hash': {
        const reply = this.inbound.take(SAFE_COOKIE_HASH_LENGTH + SAFE_COOKIE_NONCE_LENGTH);
        if (reply === undefined) return 'wait';
        const serverHash = reply.subarray(0, SAFE_COOKIE_HASH_LENGTH);
        const serverNonce = reply.subarray(SAFE_COOKIE_HASH_LENGTH);
        const clientNonce = this.clientNonce!;
        this.clientNonce = undefined;
        const expected = safeCookieServerHash(this.cookie, clientNonce, serverNonce);
        if (!constantTimeEqual(serverHash, expected)) {
          return this.fail(
            output,
            new ExtOrError(
              'SERVER_HASH_MISMATCH',
              'server sent a wrong ServerHash: it does not hold the cookie',
            ),
          );
        }
        output.push(safeCookieClientHash(this.cookie, clientNonce, serverNonce));
        this.state = 'auth-status';
        return 'progress';
      }
      case 'auth-status': {
        const status = this.inbound.take(1);
        if (status === undefined) return 'wait';
        if (status[0] !== ExtOrAuthStatus.SUCCESS) {
          return this.fail(output, new ExtOrError('AUTH_REJECTED', `server answered Status ${status[0]}`));
        }
        output.push(this.metadata);
        this.state = 'reply';
        return 'progress';
      }
      case 'reply':
        return this.takeReply(output);
      default:
        throw new InternalError(`ExtOrClient advanced in phase ${this.state}`);
    }
  }

  private takeAuthType(output: Uint8Array[]): 'wait' | 'progress' | ExtOrClientStep {
    const byte = this.inbound.take(1);
    if (byte === undefined) return 'wait';
    this.authTypesSeen++;
    if (byte[0] !== ExtOrAuthType.NONE) {
      if (byte[0] === ExtOrAuthType.SAFE_COOKIE) this.safeCookieOffered = true;
      if (this.authTypesSeen >= MAX_AUTH_TYPES_LENGTH) {
        return this.fail(
          output,
          new ExtOrError('MALFORMED_AUTH_TYPES', `no EndAuthTypes within ${MAX_AUTH_TYPES_LENGTH} bytes`),
        );
      }
      return 'progress';
    }
    if (!this.safeCookieOffered) {
      // "A value of 0 means that the client did not like the authentication types offered by the server."
      output.push(Uint8Array.of(ExtOrAuthType.NONE));
      return this.fail(output, new ExtOrError('NO_COMMON_AUTH_TYPE', 'server did not offer SAFE_COOKIE (1)'));
    }
    this.clientNonce = drawNonce(this.random);
    output.push(Uint8Array.of(ExtOrAuthType.SAFE_COOKIE), this.clientNonce);
    this.state = 'server-hash';
    return 'progress';
  }

  private takeReply(output: Uint8Array[]): 'wait' | 'progress' | ExtOrClientStep {
    const read = this.commands.next();
    if (read.kind === 'incomplete') return 'wait';
    if (read.kind === 'refused') return this.fail(output, read.error);
    const decoded = decodeExtOrMessage(read.frame);
    // Only OKAY and DENY mean anything to a transport; a USERADDR or
    // TRANSPORT that does not parse is as meaningless as the rest.
    if (decoded.ok && decoded.value.type === 'okay') {
      this.state = 'accepted';
      return { status: 'accepted', output: concatBytes(...output), leftover: this.inbound.takeRest() };
    }
    if (decoded.ok && decoded.value.type === 'deny') {
      this.state = 'denied';
      this.inbound.takeRest();
      return { status: 'denied', output: concatBytes(...output) };
    }
    return 'progress';
  }

  private fail(output: Uint8Array[], error: ExtOrError): ExtOrClientStep {
    this.state = 'failed';
    this.inbound.takeRest();
    return { status: 'failed', output: concatBytes(...output), error };
  }
}
