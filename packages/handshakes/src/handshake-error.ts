/**
 * The one error type every circuit extension handshake returns for bad peer
 * input. Handshakes never throw on what a peer sends; they return
 * `err(HandshakeError)` and the caller answers with a DESTROY (relay side) or
 * closes the circuit (client side).
 */
import { RelayError } from '@relayd/common';

/**
 * Why a handshake failed.
 * - `bad-length`: the handshake message has the wrong length for its type.
 * - `unknown-identity`: the client named a relay identity that is not ours.
 * - `unknown-key`: the client named an onion key we do not hold (neither current nor previous).
 * - `zero-dh`: a Diffie-Hellman output was all-zero (the peer sent a small-order point).
 * - `bad-auth`: an AUTH value, MAC or KH check failed.
 */
export type HandshakeFailure = 'bad-length' | 'unknown-identity' | 'unknown-key' | 'zero-dh' | 'bad-auth';

const CODES: Record<HandshakeFailure, string> = {
  'bad-length': 'HANDSHAKE_BAD_LENGTH',
  'unknown-identity': 'HANDSHAKE_UNKNOWN_IDENTITY',
  'unknown-key': 'HANDSHAKE_UNKNOWN_KEY',
  'zero-dh': 'HANDSHAKE_ZERO_DH',
  'bad-auth': 'HANDSHAKE_BAD_AUTH',
};

/** A failed circuit extension handshake, naming the handshake and the reason. */
export class HandshakeError extends RelayError {
  readonly failure: HandshakeFailure;
  /** Which handshake failed: "ntor", "ntor-v3" or "create-fast". */
  readonly handshake: string;

  constructor(handshake: string, failure: HandshakeFailure, detail: string) {
    super(
      failure === 'bad-length' ? 'protocol-violation' : 'crypto-failure',
      CODES[failure],
      `${handshake}: ${detail}`,
    );
    this.name = 'HandshakeError';
    this.failure = failure;
    this.handshake = handshake;
  }
}
