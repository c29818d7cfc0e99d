/**
 * Process entry of a relayd worker (`dist/src/main.js`), forked by the
 * supervisor with an IPC channel (advanced serialization). Together with
 * relayd's own main, the only place that ends the process.
 *
 * Signals: SIGINT and SIGHUP reach every process of a terminal's process
 * group; the supervisor decides what they mean, so a worker ignores them.
 * SIGTERM stops this worker cleanly (the supervisor replaces it unless it
 * is stopping too). An error nothing else caught is reported to the
 * supervisor and ends the process with status 1; the supervisor replaces it.
 */
import { createLogger } from '@relayd/telemetry';
import { WorkerProcess } from './worker-process.js';

if (typeof process.send !== 'function') {
  process.stderr.write('relayd worker: this is started by the relayd supervisor, not by hand\n');
  process.exit(2);
}

const worker = new WorkerProcess({
  channel: {
    send: (message) => {
      process.send?.(message);
    },
    onMessage: (listener) => process.on('message', listener),
    onDisconnect: (listener) => process.once('disconnect', listener),
  },
  createLogger: (config) =>
    createLogger({
      logs: config.logs,
      safeLogging: config.safeLogging,
      bindings: { process: 'relayd-worker' },
    }),
  exit: (code) => process.exit(code),
  // This process's CPU, memory and event loop, labelled with its worker number by the supervisor.
  processMetrics: true,
});

process.on('SIGINT', () => {});
process.on('SIGHUP', () => {});
process.once('SIGTERM', () => void worker.shutdown(0));
process.on('uncaughtException', (error) => worker.fail(error));
process.on('unhandledRejection', (reason) => worker.fail(reason));
