/** Relay keys in a temporary DataDirectory, as a worker receives them, for the socket tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeys, type WorkerKeys, workerKeysFromSnapshot } from '@relayd/keys';

export interface TestKeys {
  readonly keys: WorkerKeys;
  readonly rsaIdentity: Uint8Array;
  readonly ed25519Identity: Uint8Array;
  readonly dataDir: string;
  remove(): void;
}

export function makeKeys(nickname = 'relaydNetTest'): TestKeys {
  const dataDir = mkdtempSync(join(tmpdir(), 'relayd-net-'));
  const store = generateKeys(dataDir, { nowMs: Date.now(), nickname });
  const keys = workerKeysFromSnapshot(store.workerSnapshot());
  return {
    keys,
    rsaIdentity: keys.rsaIdentity.publicKey.fingerprint(),
    ed25519Identity: keys.ed25519Identity,
    dataDir,
    remove: () => rmSync(dataDir, { recursive: true, force: true }),
  };
}

export async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
