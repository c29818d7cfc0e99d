/**
 * The README's first command (`npm run demo`, via scripts/demo.sh): a
 * private Tor network of real C tor relays on this machine, relayd started
 * as its bridge, and a real tor client that knows nothing but relayd's
 * bridge line bootstrapping through it and downloading the payload, with
 * progress, timing and a SHA-256 check. Then relayd and the network keep
 * running until Ctrl-C, which stops every process by PID.
 *
 *   node packages/testnet/dist/src/demo.js [--once] [--keep] [--size MiB]
 *
 *   --once   stop everything after the download instead of waiting for Ctrl-C
 *   --keep   keep the network's directory (logs, relayd's DataDirectory)
 *   --size   payload size in MiB (default 16)
 *
 * Exit status 0 when the download arrived intact, 1 otherwise.
 */
import { parseArgs } from 'node:util';
import { describeError, toHex } from '@relayd/common';
import { sha256 } from '@relayd/crypto';
import { parseHttpResponse } from './http-response.js';
import { startNetwork, type TestNetwork } from './network.js';
import { startRelaydBridge } from './relayd-bridge.js';
import type { ClientNode } from './roles.js';
import { openSocks5Stream } from './socks5-client.js';

const MIB = 1024 * 1024;
const isTty = process.stdout.isTTY === true;

function say(text = ''): void {
  process.stdout.write(`${text}\n`);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function progressBar(received: number, total: number, elapsedMs: number): string {
  const fraction = total > 0 ? Math.min(1, received / total) : 0;
  const width = 30;
  const filled = Math.round(fraction * width);
  const speed = elapsedMs > 0 ? received / 1e6 / (elapsedMs / 1000) : 0;
  return (
    `      [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ` +
    `${(received / MIB).toFixed(1)} MiB  ${speed.toFixed(1)} MB/s`
  );
}

/** Downloads `url` through the client's SocksPort, drawing progress; resolves with the body and the time taken. */
async function downloadWithProgress(
  client: ClientNode,
  url: string,
  expectedBytes: number,
): Promise<{ body: Uint8Array; elapsedMs: number }> {
  const parsed = new URL(url);
  const started = Date.now();
  const socket = await openSocks5Stream({
    proxy: { host: client.address, port: client.socksPort },
    target: { host: parsed.hostname, port: Number(parsed.port) },
    timeoutMs: 60_000,
  });
  const raw = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let lastDrawn = 0;
    let lastQuarter = 0;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the download did not finish within 120 s (${received} bytes)`));
    }, 120_000);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      const now = Date.now();
      if (isTty && now - lastDrawn >= 100) {
        lastDrawn = now;
        process.stdout.write(`\r${progressBar(received, expectedBytes, now - started)}`);
      } else if (!isTty && received >= ((lastQuarter + 1) * expectedBytes) / 4) {
        lastQuarter++;
        say(progressBar(received, expectedBytes, now - started));
      }
    });
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.once('end', () => {
      clearTimeout(timer);
      if (isTty) process.stdout.write(`\r${progressBar(received, expectedBytes, Date.now() - started)}\n`);
      socket.end();
      resolve(Buffer.concat(chunks));
    });
    socket.write(`GET ${parsed.pathname} HTTP/1.0\r\nHost: ${parsed.host}\r\n\r\n`);
    socket.resume();
  });
  const elapsedMs = Date.now() - started;
  const response = parseHttpResponse(new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength));
  if (!response.ok) throw new Error(`the payload server's answer did not parse: ${response.error.message}`);
  if (response.value.status !== 200) throw new Error(`the payload server answered ${response.value.status}`);
  return { body: response.value.body, elapsedMs };
}

async function run(network: TestNetwork, once: boolean): Promise<boolean> {
  say('[2/4] starting relayd as a bridge of that network (bin/relayd -f <torrc>)...');
  const relayd = await startRelaydBridge(network);
  say(
    `      ready in ${seconds(relayd.readyMs)}: pid ${relayd.pid}, ORPort ${relayd.address}:${relayd.orPort}`,
  );
  say(`      bridge line: ${relayd.bridgeLine}`);

  say("[3/4] starting a tor client that knows only relayd's bridge line...");
  const client = await network.startClient({ bridgeLines: [relayd.bridgeLine] });
  const bootstrapMs = await client.waitForBootstrap(90_000);
  say(
    `      Bootstrapped 100% in ${seconds(bootstrapMs)} (pid ${client.pid}, SocksPort ${client.address}:${client.socksPort})`,
  );

  const payload = network.payload;
  say(
    `[4/4] downloading ${(payload.sizeBytes / MIB).toFixed(0)} MiB through client → relayd → middle → exit → ${payload.url}`,
  );
  const { body, elapsedMs } = await downloadWithProgress(client, payload.url, payload.sizeBytes);
  const digest = toHex(sha256(body));
  const intact = body.length === payload.sizeBytes && digest === payload.sha256Hex;
  say(
    `      ${(body.length / MIB).toFixed(1)} MiB in ${seconds(elapsedMs)} ` +
      `(${(body.length / 1e6 / (elapsedMs / 1000)).toFixed(1)} MB/s); sha256 ${digest}`,
  );
  say(
    intact
      ? "      sha256 matches the payload server's: the bytes came through relayd intact"
      : `      MISMATCH: the payload server's sha256 is ${payload.sha256Hex}`,
  );
  say();
  say(`relayd's bridge line: ${relayd.bridgeLine}`);
  say(`relayd: pid ${relayd.pid}, DataDirectory ${relayd.dataDir}, log ${relayd.noticeLogPath}`);
  if (!once) {
    say(`try it: curl -s --socks5-hostname ${client.address}:${client.socksPort} ${payload.url} | sha256sum`);
    say('relayd and the network keep running; press Ctrl-C to stop them.');
  }
  return intact;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      once: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      size: { type: 'string', default: '16' },
    },
  });
  const sizeMiB = Number(values.size);
  if (!Number.isInteger(sizeMiB) || sizeMiB < 1 || sizeMiB > 1024)
    throw new Error(`--size: not a size in MiB: ${values.size}`);
  say(
    'relayd demo: a private Tor network on this machine, relayd as its bridge, a real tor client through it.',
  );
  say(
    '[1/4] starting the private network (3 directory authorities, 2 middle relays, 2 exits, a payload server)...',
  );
  const started = Date.now();
  const network = await startNetwork({ payloadBytes: sizeMiB * MIB, keepFiles: values.keep });
  say(`      ready in ${seconds(Date.now() - started)} (${network.baseDir})`);

  let stopping = false;
  const stop = (exitCode: number) => {
    if (stopping) return;
    stopping = true;
    void (async () => {
      say('stopping relayd and every tor process by PID...');
      try {
        await network.close();
        say(values.keep ? `stopped; files kept in ${network.baseDir}` : 'stopped.');
      } catch (error) {
        say(`could not stop everything: ${describeError(error)}`);
        exitCode = 1;
      }
      process.exit(exitCode);
    })();
  };
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(0));
  try {
    const intact = await run(network, values.once);
    if (values.once || !intact) stop(intact ? 0 : 1);
  } catch (error) {
    say(`demo failed: ${describeError(error)}`);
    stop(1);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${describeError(error)}\n`);
  process.exit(1);
});
