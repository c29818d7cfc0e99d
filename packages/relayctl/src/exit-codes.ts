/**
 * relayctl's exit statuses, and which failure gets which (docs/relayctl.md):
 *
 *   0  success
 *   1  error: the daemon refused or failed the request, a configuration or
 *      key file is unusable, anything else
 *   2  usage: a mistake on the command line
 *   3  relayd is not running or does not answer (no socket, nothing
 *      listening on it, no answer in time, the connection broke)
 *   4  permission denied: the control socket (or a directory above it), or
 *      a file, is closed to this user
 */
import { describeError } from '@relayd/common';
import { ControlClientError } from '@relayd/control';

export const ExitCode = {
  OK: 0,
  ERROR: 1,
  USAGE: 2,
  NOT_RUNNING: 3,
  PERMISSION_DENIED: 4,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A mistake on the command line: reported as one line, exit status 2. */
export class UsageError extends Error {}

/** A command that ran and failed after printing what went wrong (exit status 1). */
export class CommandFailed extends Error {}

function hasErrno(error: unknown, codes: readonly string[], depth = 0): boolean {
  if (depth > 8 || typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && codes.includes(code)) return true;
  return hasErrno((error as { cause?: unknown }).cause, codes, depth + 1);
}

export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof UsageError) return ExitCode.USAGE;
  if (error instanceof ControlClientError) {
    switch (error.failure) {
      case 'not-running':
      case 'timeout':
      case 'connection':
        return ExitCode.NOT_RUNNING;
      case 'permission-denied':
        return ExitCode.PERMISSION_DENIED;
      default:
        return ExitCode.ERROR;
    }
  }
  if (hasErrno(error, ['EACCES', 'EPERM'])) return ExitCode.PERMISSION_DENIED;
  return ExitCode.ERROR;
}

/** The one line relayctl prints for a failure (after "relayctl: "). */
export function describeFailure(error: unknown): string {
  if (error instanceof ControlClientError && error.failure === 'remote') {
    return `relayd refused (${error.remoteCode}): ${error.message}`;
  }
  return describeError(error);
}
