/**
 * From control requests to the ControlTarget, and back to responses.
 *
 *   status, workers, bridge-lines,
 *   circuits, connections          → the target's read methods, at once
 *   workers.restart, workers.drain,
 *   reload, keys.rotate-onion      → the target's actions, one at a time in
 *                                    arrival order, each logged at notice
 *
 * The dispatcher owns two rules whatever the target does: client addresses
 * leave the daemon only while SafeLogging is 0 (the target is not even asked
 * for them otherwise, and any it returns are dropped), and a result is never
 * longer than the limit asked for. A request never makes it throw: a
 * ControlError from the target keeps its code, another RelayError becomes
 * `failed`, anything else `internal` (logged as a bug).
 */
import { describeError, type Logger, RelayError } from '@relayd/common';
import { ControlError, ControlErrorCode } from './errors.js';
import {
  type ControlMethod,
  type ControlRequest,
  type ControlResponse,
  decodeControlRequest,
  encodeControlResponse,
  errorResponse,
  successResponse,
} from './protocol.js';
import type { ConnectionsReport, ControlTarget } from './target.js';

export interface ControlDispatcherModules {
  readonly logger: Logger;
}

const ACTIONS: ReadonlySet<ControlMethod> = new Set([
  'workers.restart',
  'workers.drain',
  'reload',
  'keys.rotate-onion',
]);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class ControlDispatcher {
  private readonly logger: Logger;
  /** The tail of the action queue. */
  private actions: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly target: ControlTarget,
    modules: ControlDispatcherModules,
  ) {
    this.logger = modules.logger;
  }

  /** Answers one request line with one response line (no newline). Never rejects. */
  async answerLine(line: string): Promise<string> {
    const decoded = decodeControlRequest(line);
    const response = decoded.ok
      ? await this.dispatch(decoded.value)
      : errorResponse(decoded.error.id, decoded.error.code, decoded.error.message);
    try {
      return encodeControlResponse(response);
    } catch (error) {
      this.logger.error(
        { err: describeError(error) },
        `bug: a control response could not be encoded: ${describeError(error)}`,
      );
      return encodeControlResponse(
        errorResponse(response.id, ControlErrorCode.INTERNAL, 'bug: the answer could not be encoded'),
      );
    }
  }

  /** Runs one decoded request. Never rejects. */
  dispatch(request: ControlRequest): Promise<ControlResponse> {
    if (!ACTIONS.has(request.method)) return this.run(request);
    const queued = this.actions.then(() => this.run(request));
    this.actions = queued;
    return queued;
  }

  private async run(request: ControlRequest): Promise<ControlResponse> {
    try {
      const result = await this.call(request);
      if (!isPlainObject(result)) {
        throw new TypeError(`the ${request.method} answer is not an object`);
      }
      return successResponse(request.id, result);
    } catch (error) {
      if (error instanceof ControlError) {
        return errorResponse(request.id, error.code, error.message);
      }
      if (error instanceof RelayError && error.kind !== 'internal') {
        return errorResponse(request.id, ControlErrorCode.FAILED, error.message);
      }
      const message = describeError(error);
      this.logger.error(
        { method: request.method, err: message },
        `bug: control request ${request.method} failed: ${message}`,
      );
      return errorResponse(
        request.id,
        ControlErrorCode.INTERNAL,
        message.startsWith('bug: ') ? message : `bug: ${message}`,
      );
    }
  }

  private async call(request: ControlRequest): Promise<unknown> {
    const target = this.target;
    switch (request.method) {
      case 'status':
        return target.status();
      case 'workers':
        return target.workers();
      case 'workers.restart':
        this.logger.notice(
          { worker: request.params.worker },
          `control: restart of worker ${request.params.worker} requested`,
        );
        return target.restartWorker(request.params.worker);
      case 'workers.drain':
        this.logger.notice(
          { worker: request.params.worker },
          `control: drain of worker ${request.params.worker} requested`,
        );
        return target.drainWorker(request.params.worker);
      case 'reload':
        this.logger.notice({}, 'control: configuration reload requested');
        return target.reload();
      case 'keys.rotate-onion':
        this.logger.notice(
          { force: request.params.force },
          `control: onion key rotation requested${request.params.force ? ' (forced)' : ''}`,
        );
        return target.rotateOnionKeys({ force: request.params.force });
      case 'bridge-lines':
        return target.bridgeLines();
      case 'circuits':
        return target.circuits();
      case 'connections':
        return this.connections(request.params.limit);
    }
  }

  private async connections(limit: number): Promise<ConnectionsReport> {
    const includeClientAddresses = this.target.safeLogging() === 'none';
    const report = await this.target.connections({ includeClientAddresses, limit });
    if (!isPlainObject(report)) return report;
    const addresses = includeClientAddresses ? (report.clientAddresses ?? null) : null;
    return {
      ...report,
      clientAddresses: addresses === null ? null : addresses.slice(0, limit),
    };
  }
}
