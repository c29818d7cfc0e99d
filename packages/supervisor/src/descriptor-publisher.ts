/**
 * Publishing the bridge's descriptor to the bridge authorities
 * (`PublishServerDescriptor 1`/`bridge`): one HTTP POST of the server
 * descriptor followed by its extra-info to `/tor/` on each authority marked
 * `bridge` (its `upload=` DirPort if it names one), as C tor's
 * router_upload_dir_desc_to_dirservers / directory_post_to_dirservers do.
 *
 * When: whenever the documents changed (a new "published" time: a key
 * rotation, a new address, or the regeneration every 18 hours that keeps
 * the descriptor fresh) and the last upload to that authority did not
 * already carry them. A failed upload is retried after a backoff that
 * doubles from one minute to an hour. Nothing here throws: outcomes are
 * logged and kept in `status()`.
 */
import { type Clock, describeError, type Logger, utf8 } from '@relayd/common';
import type { DirAuthority } from '@relayd/config';
import type { BridgeDocuments } from './bridge-documents.js';

export interface DescriptorPostRequest {
  readonly host: string;
  readonly port: number;
  readonly path: '/tor/';
  readonly body: Uint8Array;
  readonly timeoutMs: number;
}

/** Sends one upload; resolves with the HTTP status, rejects if there was no answer. */
export type DescriptorPost = (request: DescriptorPostRequest) => Promise<{ readonly status: number }>;

export const FIRST_RETRY_DELAY_MS = 60_000;
export const MAX_RETRY_DELAY_MS = 60 * 60 * 1000;
/** tor's DIR_CONN_TIMEOUT-like bound on one upload. */
export const DEFAULT_UPLOAD_TIMEOUT_MS = 60_000;

export interface PublishTarget {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

export interface PublishStatus extends PublishTarget {
  /** The "published" time of the documents this authority last accepted. */
  readonly acceptedPublished: number | undefined;
  readonly lastAttemptMs: number | undefined;
  /** "200", an HTTP status, or the failure's message. */
  readonly lastOutcome: string | undefined;
  readonly failures: number;
}

interface TargetState {
  readonly target: PublishTarget;
  acceptedPublished: number | undefined;
  lastAttemptMs: number | undefined;
  lastOutcome: string | undefined;
  failures: number;
  nextAttemptMs: number;
  inFlight: boolean;
}

/** Where uploads go: every authority with the `bridge` flag. */
export function bridgeAuthorityTargets(authorities: readonly DirAuthority[]): PublishTarget[] {
  return authorities
    .filter((a) => a.isBridgeAuthority)
    .map((a) => {
      const upload = a.extraDirPorts.find((p) => p.usage === 'upload');
      return {
        name: a.nickname ?? `${a.ipv4Address}:${a.dirPort}`,
        host: upload?.address ?? a.ipv4Address,
        port: upload?.port ?? a.dirPort,
      };
    });
}

/** The upload body: the server descriptor, then the extra-info (tor concatenates them the same way). */
export function uploadBody(documents: BridgeDocuments): Uint8Array {
  return utf8(documents.serverDescriptor + documents.extraInfo);
}

export class DescriptorPublisher {
  private readonly states: TargetState[];

  constructor(
    targets: readonly PublishTarget[],
    private readonly modules: {
      readonly post: DescriptorPost;
      readonly clock: Clock;
      readonly logger: Logger;
      readonly timeoutMs?: number;
    },
  ) {
    this.states = targets.map((target) => ({
      target,
      acceptedPublished: undefined,
      lastAttemptMs: undefined,
      lastOutcome: undefined,
      failures: 0,
      nextAttemptMs: 0,
      inFlight: false,
    }));
  }

  get targets(): readonly PublishTarget[] {
    return this.states.map((s) => s.target);
  }

  /** Uploads `documents` to every authority that needs them now. Resolves when those uploads are done. */
  async publish(documents: BridgeDocuments): Promise<void> {
    const nowMs = this.modules.clock.nowMs();
    const due = this.states.filter(
      (s) => !s.inFlight && s.acceptedPublished !== documents.publishedSeconds && nowMs >= s.nextAttemptMs,
    );
    await Promise.all(due.map((s) => this.upload(s, documents)));
  }

  status(): PublishStatus[] {
    return this.states.map((s) => ({
      ...s.target,
      acceptedPublished: s.acceptedPublished,
      lastAttemptMs: s.lastAttemptMs,
      lastOutcome: s.lastOutcome,
      failures: s.failures,
    }));
  }

  private async upload(state: TargetState, documents: BridgeDocuments): Promise<void> {
    const { clock, logger } = this.modules;
    state.inFlight = true;
    state.lastAttemptMs = clock.nowMs();
    const where = `${state.target.name} (${state.target.host}:${state.target.port})`;
    try {
      const { status } = await this.modules.post({
        host: state.target.host,
        port: state.target.port,
        path: '/tor/',
        body: uploadBody(documents),
        timeoutMs: this.modules.timeoutMs ?? DEFAULT_UPLOAD_TIMEOUT_MS,
      });
      state.lastOutcome = String(status);
      if (status === 200) {
        state.acceptedPublished = documents.publishedSeconds;
        state.failures = 0;
        state.nextAttemptMs = 0;
        logger.notice({ authority: state.target.name }, `uploaded the bridge descriptor to ${where}`);
        return;
      }
      this.failed(state, `${where} refused the descriptor with HTTP ${status}`);
    } catch (error) {
      state.lastOutcome = describeError(error);
      this.failed(state, `could not upload the bridge descriptor to ${where}: ${describeError(error)}`);
    } finally {
      state.inFlight = false;
    }
  }

  private failed(state: TargetState, message: string): void {
    state.failures++;
    const delay = Math.min(MAX_RETRY_DELAY_MS, FIRST_RETRY_DELAY_MS * 2 ** Math.min(state.failures - 1, 10));
    state.nextAttemptMs = this.modules.clock.nowMs() + delay;
    this.modules.logger.warn(
      { authority: state.target.name, failures: state.failures, retryInMs: delay },
      message,
    );
  }
}
