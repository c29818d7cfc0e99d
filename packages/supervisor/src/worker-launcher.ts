/**
 * How the supervisor gets workers: a launcher turns plain start data into
 * a running worker's handle. Today's launcher runs the worker in the
 * supervisor's own process; a forked launcher (one process per core,
 * talking over IPC) will return handles with the same contract, so the
 * supervisor's logic does not change when it arrives.
 */

import type { Logger } from '@relayd/common';
import type { DirectoryService } from '@relayd/engine';
import { startWorker, type WorkerHandle, type WorkerStartData } from '@relayd/worker';

export interface WorkerLauncher {
  /** Starts one worker. Rejects (leaving nothing running) if it cannot start, e.g. its ORPort is taken. */
  start(data: WorkerStartData): Promise<WorkerHandle>;
  /** "in-process", or a forked launcher's own name. */
  readonly kind: string;
}

/** Runs each worker inside this process, sharing the supervisor's directory service and logger. */
export function inProcessWorkerLauncher(services: {
  readonly directoryService: DirectoryService;
  readonly logger: Logger;
}): WorkerLauncher {
  return {
    kind: 'in-process',
    start: (data) => startWorker(data, services),
  };
}
