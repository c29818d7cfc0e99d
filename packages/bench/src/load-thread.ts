/**
 * One load thread: a LoadGenerator on its own event loop, so the bench's
 * main thread stays free to sample /proc on time and several threads can
 * share the load. Talks to its parent (load.ts) in plain messages:
 *
 *   parent → thread  workerData: LoadThreadData; later { type: 'stop' }
 *   thread → parent  { type: 'running', runStartMs }   (absolute ms, once circuits launch)
 *                    { type: 'report', report } | { type: 'error', code, message }
 */
import { parentPort, workerData } from 'node:worker_threads';
import { describeError, RelayError } from '@relayd/common';
import {
  extOrPortLinkConnector,
  LoadGenerator,
  type LoadOptionsInput,
  type LoadReport,
  loadgenClientAddress,
} from '@relayd/loadgen';
import { absoluteNowMs } from './proc-tree.js';

/** How the thread's connections reach the bridge. */
export type ConnectorSpec =
  | { readonly kind: 'orport' }
  | {
      readonly kind: 'ext-orport';
      readonly address: string;
      readonly port: number;
      readonly cookie: Uint8Array;
    };

export interface LoadThreadData {
  readonly options: LoadOptionsInput;
  readonly connector: ConnectorSpec;
  /** The first connection's number over all threads (distinct USERADDRs across threads). */
  readonly connectionOffset: number;
}

export type LoadThreadMessage =
  | { readonly type: 'running'; readonly runStartMs: number }
  | { readonly type: 'report'; readonly report: LoadReport }
  | { readonly type: 'error'; readonly code: string; readonly message: string };

function post(message: LoadThreadMessage): void {
  parentPort?.postMessage(message);
}

const data = workerData as LoadThreadData;
const spec = data.connector;
const connector =
  spec.kind === 'ext-orport'
    ? extOrPortLinkConnector({
        extOrPort: { address: spec.address, port: spec.port },
        cookie: spec.cookie,
        sourceAddresses: data.options.sourceAddresses ?? [],
        clientAddress: (index) => loadgenClientAddress(data.connectionOffset + index),
        ...(data.options.connectTimeoutMs !== undefined
          ? { connectTimeoutMs: data.options.connectTimeoutMs }
          : {}),
      })
    : undefined;

let announced = false;
const generator = new LoadGenerator(data.options, {
  ...(connector ? { connector } : {}),
  onProgress: (progress) => {
    if (announced || progress.phase !== 'running') return;
    announced = true;
    post({ type: 'running', runStartMs: absoluteNowMs() - progress.elapsedMs });
  },
});
parentPort?.on('message', (message: { type?: string }) => {
  if (message.type === 'stop') generator.stop();
});
generator.run().then(
  (report) => post({ type: 'report', report }),
  (error: unknown) =>
    post({
      type: 'error',
      code: error instanceof RelayError ? error.code : 'ERROR',
      message: describeError(error),
    }),
);
