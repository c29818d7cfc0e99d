/**
 * Throughput of tor1 relay crypto on one core, per relay-side operation.
 * Run: node packages/relay-crypto/dist/bench/relay-crypto.bench.js
 */
import { Tor1ClientCrypto, Tor1RelayCrypto } from '../src/index.js';

const CELLS = 200_000;
const keyMaterial = Uint8Array.from({ length: 92 }, (_, i) => (i * 37 + 11) & 255);

function report(name: string, cells: number, startNs: bigint): void {
  const seconds = Number(process.hrtime.bigint() - startNs) / 1e9;
  const perSecond = cells / seconds;
  console.log(
    `${name.padEnd(40)} ${Math.round(perSecond).toLocaleString('en')} cells/s  ${((perSecond * 509) / 1e6).toFixed(1)} MB/s`,
  );
}

const payload = new Uint8Array(509);

{
  const relay = Tor1RelayCrypto.fromKeyMaterial(keyMaterial);
  const start = process.hrtime.bigint();
  for (let i = 0; i < CELLS; i++) relay.encryptBackward(payload);
  report('encryptBackward (pass-through)', CELLS, start);
}
{
  const relay = Tor1RelayCrypto.fromKeyMaterial(keyMaterial);
  const start = process.hrtime.bigint();
  for (let i = 0; i < CELLS; i++) relay.originateBackward(payload);
  report('originateBackward (digest + encrypt)', CELLS, start);
}
{
  // Cells the client originated to this hop: every one is recognized.
  const client = new Tor1ClientCrypto();
  client.addHop(keyMaterial);
  const cells: Uint8Array[] = [];
  for (let i = 0; i < 100_000; i++) {
    const cell = new Uint8Array(509);
    client.originateForward(cell, 0);
    cells.push(cell);
  }
  const relay = Tor1RelayCrypto.fromKeyMaterial(keyMaterial);
  const start = process.hrtime.bigint();
  for (const cell of cells) if (!relay.decryptForward(cell)) throw new Error('not recognized');
  report('decryptForward (recognized)', cells.length, start);
}
{
  const relay = Tor1RelayCrypto.fromKeyMaterial(keyMaterial);
  const cell = new Uint8Array(509).fill(0xff);
  const start = process.hrtime.bigint();
  for (let i = 0; i < CELLS; i++) relay.decryptForward(cell);
  report('decryptForward (passed on)', CELLS, start);
}
