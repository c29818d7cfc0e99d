/**
 * The control protocol between relayctl and the supervisor: newline-
 * delimited JSON over a unix stream socket, one request per line, one
 * response per request, in order.
 *
 *   request   {"v":1,"id":7,"method":"workers.restart","params":{"worker":2}}
 *   response  {"v":1,"id":7,"ok":true,"result":{…}}
 *             {"v":1,"id":7,"ok":false,"error":{"code":"no-such-worker","message":"…"}}
 *
 * `v` is the protocol version (CONTROL_PROTOCOL_VERSION); a request of
 * another version gets `unsupported-version`. `id` is the caller's (a
 * non-negative safe integer or a string of at most 128 characters) and is
 * echoed; a response to a line whose id could not be read has `"id":null`.
 * `params` may be left out when a method takes none; unknown fields are
 * refused, so a typo never silently means a default.
 *
 * Decoding is total: any line (any bytes, any JSON) gives either a request
 * or the problem to answer with; nothing here throws on input.
 */
import { err, ok, type Result } from '@relayd/common';
import { MAX_WORKERS } from '@relayd/config';
import { CONTROL_ERROR_CODES, ControlErrorCode } from './errors.js';
import type {
  BridgeLinesReport,
  CircuitsReport,
  ConnectionsReport,
  OnionKeysReport,
  ReloadReport,
  StatusReport,
  WorkerActionReport,
  WorkersReport,
} from './target.js';

export const CONTROL_PROTOCOL_VERSION = 1;
/** Requests longer than this (bytes, without the newline) are refused and the connection closed. */
export const DEFAULT_MAX_REQUEST_BYTES = 16 * 1024;
export const MAX_REQUEST_ID_LENGTH = 128;
/** Client addresses a `connections` request lists unless it asks for another number. */
export const DEFAULT_CLIENT_ADDRESS_LIMIT = 100;
export const MAX_CLIENT_ADDRESS_LIMIT = 10_000;

/** The methods, by their wire names. */
export const ControlMethod = {
  STATUS: 'status',
  WORKERS: 'workers',
  RESTART_WORKER: 'workers.restart',
  DRAIN_WORKER: 'workers.drain',
  RELOAD: 'reload',
  ROTATE_ONION_KEYS: 'keys.rotate-onion',
  BRIDGE_LINES: 'bridge-lines',
  CIRCUITS: 'circuits',
  CONNECTIONS: 'connections',
} as const;
export type ControlMethod = (typeof ControlMethod)[keyof typeof ControlMethod];
export const CONTROL_METHODS: readonly ControlMethod[] = Object.values(ControlMethod);

type NoParams = Readonly<Record<string, never>>;

/** Each method's parameters, defaults filled in. */
export interface ControlParams {
  status: NoParams;
  workers: NoParams;
  'workers.restart': { readonly worker: number };
  'workers.drain': { readonly worker: number };
  reload: NoParams;
  'keys.rotate-onion': { readonly force: boolean };
  'bridge-lines': NoParams;
  circuits: NoParams;
  connections: { readonly limit: number };
}

/** Each method's result. */
export interface ControlResults {
  status: StatusReport;
  workers: WorkersReport;
  'workers.restart': WorkerActionReport;
  'workers.drain': WorkerActionReport;
  reload: ReloadReport;
  'keys.rotate-onion': OnionKeysReport;
  'bridge-lines': BridgeLinesReport;
  circuits: CircuitsReport;
  connections: ConnectionsReport;
}

export type RequestId = number | string;

export type ControlRequest = {
  [M in ControlMethod]: { readonly id: RequestId; readonly method: M; readonly params: ControlParams[M] };
}[ControlMethod];

export interface ControlErrorBody {
  readonly code: string;
  readonly message: string;
}

export type ControlResponse =
  | { readonly v: number; readonly id: RequestId | null; readonly ok: true; readonly result: unknown }
  | {
      readonly v: number;
      readonly id: RequestId | null;
      readonly ok: false;
      readonly error: ControlErrorBody;
    };

/** Why a line is not a request: the error response to send. */
export interface RequestProblem {
  readonly id: RequestId | null;
  readonly code: ControlErrorCode;
  readonly message: string;
}

// ------------------------------------------------------------ parameters

type FieldCheck = (value: unknown) => string | undefined;

interface FieldSpec {
  readonly check: FieldCheck;
  /** Absent: the field is required. */
  readonly default?: unknown;
}

function integerIn(min: number, max: number): FieldCheck {
  return (value) =>
    typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max
      ? undefined
      : `must be an integer from ${min} to ${max}`;
}

const booleanField: FieldCheck = (value) =>
  typeof value === 'boolean' ? undefined : 'must be true or false';

const workerField: FieldSpec = { check: integerIn(1, MAX_WORKERS) };

const PARAM_SPECS: { readonly [M in ControlMethod]: Readonly<Record<string, FieldSpec>> } = {
  status: {},
  workers: {},
  'workers.restart': { worker: workerField },
  'workers.drain': { worker: workerField },
  reload: {},
  'keys.rotate-onion': { force: { check: booleanField, default: false } },
  'bridge-lines': {},
  circuits: {},
  connections: {
    limit: { check: integerIn(1, MAX_CLIENT_ADDRESS_LIMIT), default: DEFAULT_CLIENT_ADDRESS_LIMIT },
  },
};

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function own(record: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function isControlMethod(value: string): value is ControlMethod {
  return (CONTROL_METHODS as readonly string[]).includes(value);
}

function describeKey(key: string): string {
  return JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key);
}

/** Checks and completes `params` for `method`; undefined params mean {}. */
export function checkParams<M extends ControlMethod>(
  method: M,
  params: unknown,
): Result<ControlParams[M], string> {
  const specs = PARAM_SPECS[method];
  const given = params === undefined ? {} : params;
  if (!isPlainObject(given)) return err(`params of ${method} must be an object`);
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(specs, key)) {
      const known = Object.keys(specs);
      return err(
        `${method} takes no parameter ${describeKey(key)}` +
          (known.length > 0 ? ` (its parameters: ${known.join(', ')})` : ' (it takes none)'),
      );
    }
  }
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(specs)) {
    const value = own(given, key);
    if (value === undefined) {
      if (!('default' in spec)) return err(`${method} needs the parameter ${key}`);
      out[key] = spec.default;
      continue;
    }
    const problem = spec.check(value);
    if (problem !== undefined) return err(`${method}: ${key} ${problem}`);
    out[key] = value;
  }
  return ok(out as unknown as ControlParams[M]);
}

// ------------------------------------------------------------ requests

function readId(value: unknown): RequestId | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === 'string' && value.length <= MAX_REQUEST_ID_LENGTH) return value;
  return undefined;
}

const REQUEST_FIELDS = ['v', 'id', 'method', 'params'];

/** Reads one request line (without its newline). Total: every input gives a request or a problem. */
export function decodeControlRequest(line: string): Result<ControlRequest, RequestProblem> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return err({ id: null, code: ControlErrorCode.MALFORMED, message: 'the request is not valid JSON' });
  }
  if (!isPlainObject(parsed)) {
    return err({ id: null, code: ControlErrorCode.MALFORMED, message: 'the request is not a JSON object' });
  }
  const id = readId(own(parsed, 'id'));
  if (id === undefined) {
    return err({
      id: null,
      code: ControlErrorCode.MALFORMED,
      message: `the request needs an "id": a non-negative integer or a string of at most ${MAX_REQUEST_ID_LENGTH} characters`,
    });
  }
  const v = own(parsed, 'v');
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    return err({
      id,
      code: ControlErrorCode.MALFORMED,
      message: 'the request needs "v", the protocol version',
    });
  }
  if (v !== CONTROL_PROTOCOL_VERSION) {
    return err({
      id,
      code: ControlErrorCode.UNSUPPORTED_VERSION,
      message: `protocol version ${v} is not supported; this relayd speaks version ${CONTROL_PROTOCOL_VERSION}`,
    });
  }
  for (const key of Object.keys(parsed)) {
    if (!REQUEST_FIELDS.includes(key)) {
      return err({
        id,
        code: ControlErrorCode.MALFORMED,
        message: `unknown request field ${describeKey(key)}`,
      });
    }
  }
  const method = own(parsed, 'method');
  if (typeof method !== 'string') {
    return err({ id, code: ControlErrorCode.MALFORMED, message: 'the request needs a "method" string' });
  }
  if (!isControlMethod(method)) {
    return err({
      id,
      code: ControlErrorCode.UNKNOWN_METHOD,
      message: `unknown method ${describeKey(method)} (known: ${CONTROL_METHODS.join(', ')})`,
    });
  }
  const params = checkParams(method, own(parsed, 'params'));
  if (!params.ok) return err({ id, code: ControlErrorCode.BAD_PARAMS, message: params.error });
  return ok({ id, method, params: params.value } as ControlRequest);
}

/** One request line, without the newline. */
export function encodeControlRequest<M extends ControlMethod>(
  id: RequestId,
  method: M,
  params: Partial<ControlParams[M]> = {},
): string {
  return JSON.stringify({ v: CONTROL_PROTOCOL_VERSION, id, method, params });
}

// ------------------------------------------------------------ responses

export function successResponse(id: RequestId, result: unknown): ControlResponse {
  return { v: CONTROL_PROTOCOL_VERSION, id, ok: true, result };
}

export function errorResponse(
  id: RequestId | null,
  code: ControlErrorCode,
  message: string,
): ControlResponse {
  return { v: CONTROL_PROTOCOL_VERSION, id, ok: false, error: { code, message } };
}

/** One response line, without the newline. */
export function encodeControlResponse(response: ControlResponse): string {
  return JSON.stringify(response);
}

/** Longest error code and message a client keeps from a response. */
const MAX_ERROR_CODE_LENGTH = 64;
const MAX_ERROR_MESSAGE_LENGTH = 4096;

/**
 * Reads one response line. Total. A response of another protocol version, or
 * one that is not a response at all, is a problem (a string saying what).
 */
export function decodeControlResponse(line: string): Result<ControlResponse, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return err('the answer is not valid JSON');
  }
  if (!isPlainObject(parsed)) return err('the answer is not a JSON object');
  const v = own(parsed, 'v');
  if (v !== CONTROL_PROTOCOL_VERSION) {
    return err(
      `the answer is of protocol version ${JSON.stringify(v)}; this relayctl speaks version ${CONTROL_PROTOCOL_VERSION}`,
    );
  }
  const rawId = own(parsed, 'id');
  const id = rawId === null ? null : readId(rawId);
  if (id === undefined) return err('the answer has no valid "id"');
  const status = own(parsed, 'ok');
  if (status === true) {
    const result = own(parsed, 'result');
    if (!isPlainObject(result)) return err('the answer has no "result" object');
    return ok({ v, id, ok: true, result });
  }
  if (status === false) {
    const error = own(parsed, 'error');
    if (!isPlainObject(error)) return err('the error answer has no "error" object');
    const code = own(error, 'code');
    const message = own(error, 'message');
    if (typeof code !== 'string' || code.length === 0 || code.length > MAX_ERROR_CODE_LENGTH)
      return err('the error answer has no valid "code"');
    if (typeof message !== 'string') return err('the error answer has no "message"');
    return ok({
      v,
      id,
      ok: false,
      error: { code, message: message.slice(0, MAX_ERROR_MESSAGE_LENGTH) },
    });
  }
  return err('the answer has no "ok" true or false');
}

/** Whether `code` is one of this version's error codes (a newer daemon may send others). */
export function isKnownErrorCode(code: string): code is ControlErrorCode {
  return (CONTROL_ERROR_CODES as readonly string[]).includes(code);
}
