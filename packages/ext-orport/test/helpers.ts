/** Test helpers: fixtures, scripted randomness and an in-memory pump between the two state machines. */
import { readFileSync } from 'node:fs';
import { concatBytes, fromHex, type Random } from '@relayd/common';
import { sha256 } from '@relayd/crypto';
import type { ExtOrClient, ExtOrClientStep, ExtOrServer, ExtOrServerStep } from '../src/index.js';

/** Reads test/fixtures/<name> (tests run from dist/test). */
export function loadFixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../../test/fixtures/${name}`, import.meta.url), 'utf8')) as T;
}

/** Hex that must parse (fixtures are trusted). */
export function h(text: string): Uint8Array {
  const out = fromHex(text);
  if (!out) throw new Error(`bad hex: ${text}`);
  return out;
}

export function ascii(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** A Random that hands out the given byte strings in order and fails the test if asked for more. */
export function scriptedRandom(...outputs: Uint8Array[]): Random {
  const queue = [...outputs];
  return {
    bytes(n: number): Uint8Array {
      const next = queue.shift();
      if (!next) throw new Error('scriptedRandom exhausted');
      if (next.length !== n) throw new Error(`scriptedRandom: asked for ${n} bytes, scripted ${next.length}`);
      return next;
    },
  };
}

/** A deterministic Random: SHA-256(seed | counter) blocks. */
export function seededRandom(seed: string): Random {
  let counter = 0;
  const seedBytes = ascii(seed);
  return {
    bytes(n: number): Uint8Array {
      const out = new Uint8Array(n);
      for (let o = 0; o < n; o += 32) {
        const block = sha256(
          concatBytes(seedBytes, Uint8Array.of(counter >>> 24, counter >>> 16, counter >>> 8, counter)),
        );
        counter++;
        out.set(block.subarray(0, Math.min(32, n - o)), o);
      }
      return out;
    },
  };
}

export interface PumpResult {
  readonly server: ExtOrServerStep;
  readonly client: ExtOrClientStep;
  /** Every byte the server sent, in order. */
  readonly serverSent: Uint8Array;
  /** Every byte the client sent, in order. */
  readonly clientSent: Uint8Array;
}

/**
 * Runs a client against a server in memory until neither has anything left
 * to say, delivering each side's output to the other in one piece.
 * `clientExtra` is sent right after the client's last handshake bytes (link
 * bytes pipelined after DONE).
 */
export function pump(
  server: ExtOrServer,
  client: ExtOrClient,
  clientExtra: Uint8Array = new Uint8Array(0),
): PumpResult {
  const serverSent: Uint8Array[] = [];
  const clientSent: Uint8Array[] = [];
  let toClient: Uint8Array = server.start();
  serverSent.push(toClient);
  let toServer: Uint8Array = new Uint8Array(0);
  let serverStep: ExtOrServerStep | undefined;
  let clientStep: ExtOrClientStep | undefined;
  const running = (step: { status: string } | undefined) => step === undefined || step.status === 'running';
  for (;;) {
    let progressed = false;
    if (toClient.length > 0 && running(clientStep)) {
      clientStep = client.receive(toClient);
      toServer = concatBytes(toServer, clientStep.output);
      clientSent.push(clientStep.output);
      // The client has just sent DONE: pipeline the extra bytes behind it.
      if (client.phase === 'reply' && clientExtra.length > 0) {
        toServer = concatBytes(toServer, clientExtra);
        clientSent.push(clientExtra);
        clientExtra = new Uint8Array(0);
      }
      progressed = true;
    }
    toClient = new Uint8Array(0);
    if (toServer.length > 0 && running(serverStep)) {
      serverStep = server.receive(toServer);
      toClient = serverStep.output;
      serverSent.push(toClient);
      progressed = true;
    }
    toServer = new Uint8Array(0);
    if (!progressed) break;
  }
  if (!serverStep || !clientStep) throw new Error('pump did not run');
  return {
    server: serverStep,
    client: clientStep,
    serverSent: concatBytes(...serverSent),
    clientSent: concatBytes(...clientSent),
  };
}
