/**
 * Runs the private network by hand:
 *
 *   node packages/testnet/dist/src/run-network.js [--clients N] [--no-bridge] [--info] [--keep]
 *
 * Starts the authorities, relays and payload server, a C tor bridge (unless
 * --no-bridge) and N clients using it; prints where everything is, downloads
 * the payload once through each client, then keeps running until Ctrl-C,
 * which stops every process and removes the directory (unless --keep).
 */
import { parseArgs } from 'node:util';
import { describeError } from '@relayd/common';
import { startNetwork, type TestNetwork } from './network.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      clients: { type: 'string', default: '1' },
      'no-bridge': { type: 'boolean', default: false },
      info: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
    },
  });
  const clientCount = Number(values.clients);
  if (!Number.isInteger(clientCount) || clientCount < 0)
    throw new Error(`--clients: not a count: ${values.clients}`);
  const started = Date.now();
  const network = await startNetwork({
    keepFiles: values.keep,
    ...(values.info ? { extraLogLevel: 'info' } : {}),
  });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    console.log('stopping every process by PID...');
    network.close().then(
      () => console.log(values.keep ? `files kept in ${network.baseDir}` : 'done'),
      (e: unknown) => console.error(describeError(e)),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  console.log(`network ready after ${Date.now() - started} ms (${JSON.stringify(network.timings)})`);
  try {
    await addBridgeAndClients(network, values['no-bridge'], clientCount);
  } catch (e) {
    console.error(describeError(e));
    process.exitCode = 1;
    stop();
  }
}

async function addBridgeAndClients(
  network: TestNetwork,
  noBridge: boolean,
  clientCount: number,
): Promise<void> {
  const bridge = noBridge ? undefined : await network.startBridge();
  if (bridge) console.log(`bridge ready: ${bridge.bridgeLine}`);
  const clients = await Promise.all(
    Array.from({ length: clientCount }, () =>
      network.startClient({ bridgeLines: bridge ? [bridge.bridgeLine] : [] }),
    ),
  );
  for (const client of clients) {
    const ms = await client.waitForBootstrap(90_000);
    const download = await client.download();
    const ok = download.sha256Hex === network.payload.sha256Hex;
    console.log(
      `${client.nickname}: bootstrapped in ${ms} ms; downloaded ${download.body.length} bytes in ` +
        `${download.elapsedMs} ms, sha256 ${ok ? 'matches' : 'DIFFERS'}`,
    );
  }
  console.log(network.describe());
  console.log('\nDirAuthority lines for anything joining this network:');
  for (const line of network.dirAuthorityLines) console.log(`  ${line}`);
  console.log('\nrunning; Ctrl-C stops everything');
}

main().catch((e: unknown) => {
  console.error(describeError(e));
  process.exitCode = 1;
});
