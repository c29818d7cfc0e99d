/**
 * What the supervisor sees of each server transport: one state per
 * transport name (a managed proxy may provide several), in the order of
 * the configuration. Plain data; a new array on every change.
 *
 *   starting ──SMETHOD + SMETHODS DONE──► running ──exit──► failed (retryAtMs set)
 *      │                                                      │ backoff timer
 *      ├──SMETHOD-ERROR / not reported──► failed (no retry)   ▼
 *      ├──exit / launch timeout──► failed (retryAtMs set) ──► starting
 *      └──ENV-ERROR, VERSION-ERROR, cannot execute──► failed (no retry)
 *   any ──stop()──► stopped
 */
import type { PtArg } from '@relayd/ext-orport';

interface TransportStateBase {
  /** The transport name, e.g. "obfs4". */
  readonly name: string;
  /** The managed proxy providing it (its transports joined by ","). */
  readonly proxy: string;
  /** The executable. */
  readonly path: string;
  /** Relaunches of the managed proxy so far. */
  readonly restarts: number;
}

/** Launched, configuration not finished yet. */
export interface StartingTransport extends TransportStateBase {
  readonly status: 'starting';
  readonly pid: number | undefined;
}

/** Listening: what goes into the extra-info and the bridge line. */
export interface RunningTransport extends TransportStateBase {
  readonly status: 'running';
  readonly pid: number;
  /** The address the transport reported (0.0.0.0 or :: when it listens on every interface). */
  readonly address: string;
  readonly family: 'ipv4' | 'ipv6';
  readonly port: number;
  /** SMETHOD ARGS, decoded (obfs4: cert, iat-mode). */
  readonly args: readonly PtArg[];
  /** SMETHOD ARGS as written, escapes intact; undefined without ARGS. */
  readonly argsText: string | undefined;
  /** What the transport said it is (STATUS TYPE=version), if it did. */
  readonly implementation: { readonly name: string; readonly version: string } | undefined;
  /** Clock time (ms) at which it reported its methods. */
  readonly sinceMs: number;
}

/** Not serving. */
export interface FailedTransport extends TransportStateBase {
  readonly status: 'failed';
  readonly error: string;
  /** Clock time (ms) of the next launch; undefined when relayd will not retry (until restarted). */
  readonly retryAtMs: number | undefined;
}

/** Stopped on shutdown. */
export interface StoppedTransport extends TransportStateBase {
  readonly status: 'stopped';
}

export type ServerTransportState = StartingTransport | RunningTransport | FailedTransport | StoppedTransport;

/** Only the running transports. */
export function runningTransports(states: readonly ServerTransportState[]): RunningTransport[] {
  return states.filter((s): s is RunningTransport => s.status === 'running');
}
