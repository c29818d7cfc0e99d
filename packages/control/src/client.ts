/**
 * relayctl's side of the control socket: one connection, one request, one
 * answer. Every way of not getting a result is a ControlClientError whose
 * `failure` says which (see errors.ts), so relayctl can tell "relayd is not
 * running" from "you may not talk to it" from "it said no".
 */
import { createConnection } from 'node:net';
import { describeError } from '@relayd/common';
import { ControlClientError } from './errors.js';
import { LineReader } from './line-reader.js';
import {
  type ControlMethod,
  type ControlParams,
  type ControlResults,
  decodeControlResponse,
  encodeControlRequest,
} from './protocol.js';

/** Largest answer accepted (a connections list of 10,000 addresses is well under 1 MiB). */
export const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
export const DEFAULT_CONTROL_TIMEOUT_MS = 30_000;

export interface ControlClientOptions {
  /** The control socket. */
  readonly path: string;
  /** Connecting and answering together must finish within this. */
  readonly timeoutMs?: number;
  readonly maxResponseBytes?: number;
}

function errnoOf(error: unknown): string | undefined {
  return (error as { code?: string }).code;
}

/** The ControlClientError for a failed connect to `path`. */
export function connectFailure(path: string, error: unknown): ControlClientError {
  const code = errnoOf(error);
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new ControlClientError(
        'not-running',
        `relayd is not running: there is no control socket at ${path}`,
        { cause: error },
      );
    case 'ECONNREFUSED':
      return new ControlClientError(
        'not-running',
        `relayd is not running: nothing answers on the control socket ${path} (left over from an earlier run?)`,
        { cause: error },
      );
    case 'ENOTSOCK':
      return new ControlClientError('not-running', `${path} is not a socket; is it the control socket?`, {
        cause: error,
      });
    case 'EACCES':
    case 'EPERM':
      return new ControlClientError(
        'permission-denied',
        `permission denied on the control socket ${path}: run relayctl as root or as relayd's user, ` +
          'or as a member of ControlSocketGroup when the socket is GroupWritable ' +
          '(the directories above it must let you in too)',
        { cause: error },
      );
    default:
      return new ControlClientError(
        'connection',
        `cannot connect to the control socket ${path}: ${describeError(error)}`,
        { cause: error },
      );
  }
}

/** Sends one request and resolves with its result; rejects with ControlClientError. */
export function controlCall<M extends ControlMethod>(
  options: ControlClientOptions,
  method: M,
  params: Partial<ControlParams[M]> = {},
): Promise<ControlResults[M]> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_CONTROL_TIMEOUT_MS;
  const id = 1;
  return new Promise((resolve, reject) => {
    const socket = createConnection({ path: options.path });
    const reader = new LineReader(options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES);
    let connected = false;
    let settled = false;
    const finish = (outcome: { result: ControlResults[M] } | { error: ControlClientError }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if ('error' in outcome) reject(outcome.error);
      else resolve(outcome.result);
    };
    const timer = setTimeout(
      () =>
        finish({
          error: new ControlClientError(
            'timeout',
            connected
              ? `relayd did not answer ${method} within ${timeoutMs / 1000} s on ${options.path}`
              : `could not connect to ${options.path} within ${timeoutMs / 1000} s`,
          ),
        }),
      timeoutMs,
    );
    const onLine = (line: string) => {
      const decoded = decodeControlResponse(line);
      if (!decoded.ok) {
        finish({
          error: new ControlClientError('protocol', `relayd's answer to ${method}: ${decoded.error}`),
        });
        return;
      }
      const response = decoded.value;
      if (!response.ok) {
        finish({
          error: new ControlClientError('remote', response.error.message, {
            remoteCode: response.error.code,
          }),
        });
        return;
      }
      if (response.id !== id) {
        finish({
          error: new ControlClientError(
            'protocol',
            `relayd answered request ${String(response.id)}, not ${id}`,
          ),
        });
        return;
      }
      finish({ result: response.result as ControlResults[M] });
    };
    socket.once('connect', () => {
      connected = true;
      socket.write(`${encodeControlRequest(id, method, params)}\n`);
    });
    socket.on('data', (chunk: Buffer) => {
      const pushed = reader.push(chunk);
      if (pushed.overflow) {
        finish({ error: new ControlClientError('protocol', `relayd's answer to ${method} is too large`) });
        return;
      }
      const first = pushed.lines.find((l) => l.trim() !== '');
      if (first !== undefined) onLine(first);
    });
    socket.on('end', () => {
      const last = reader.finish();
      if (last !== undefined && last.trim() !== '') onLine(last);
      finish({
        error: new ControlClientError(
          'connection',
          `relayd closed the control connection without answering ${method}`,
        ),
      });
    });
    socket.on('error', (error) => {
      finish({
        error: connected
          ? new ControlClientError('connection', `control connection: ${describeError(error)}`, {
              cause: error,
            })
          : connectFailure(options.path, error),
      });
    });
  });
}
