/**
 * How relayctl finds the control socket of the relayd it talks to:
 * `--socket PATH` if given, otherwise the ControlSocket of the configuration
 * file (`-f FILE`, default /etc/relayd/torrc; without a ControlSocket line,
 * `DataDirectory/control.sock`), the same file relayd runs with.
 */
import { formatDiagnostic, loadConfigFile } from '@relayd/config';
import { DEFAULT_CONTROL_TIMEOUT_MS } from '@relayd/control';
import type { Argv } from 'yargs';
import { CommandFailed, UsageError } from './exit-codes.js';

/** Where relayd (and so relayctl) looks for its configuration when `-f` is not given. */
export const DEFAULT_CONFIG_FILE = '/etc/relayd/torrc';

export interface ControlArgs {
  readonly f: string;
  readonly socket: string | undefined;
  readonly json: boolean;
  readonly timeout: number | undefined;
}

/** The options of every command that talks to the daemon. */
export function withControlOptions<T>(y: Argv<T>) {
  return y
    .option('f', {
      alias: 'torrc-file',
      type: 'string',
      default: DEFAULT_CONFIG_FILE,
      describe: "relayd's configuration file: its ControlSocket (or DataDirectory/control.sock) is used",
      requiresArg: true,
    })
    .option('socket', {
      type: 'string',
      describe: 'The control socket to use (instead of reading -f)',
      requiresArg: true,
    })
    .option('json', { type: 'boolean', default: false, describe: 'Print the answer as one JSON object' })
    .option('timeout', {
      type: 'number',
      describe: `Seconds to wait for the answer (default ${DEFAULT_CONTROL_TIMEOUT_MS / 1000}; longer for restart and reload)`,
      requiresArg: true,
    });
}

/** The control socket path for these arguments. Throws CommandFailed when the configuration says none. */
export function controlSocketPath(args: Pick<ControlArgs, 'f' | 'socket'>): string {
  if (args.socket !== undefined) return args.socket;
  const loaded = loadConfigFile(args.f);
  if (!loaded.ok) {
    const first = loaded.error.errors[0];
    const more = loaded.error.errors.length > 1 ? ` (and ${loaded.error.errors.length - 1} more errors)` : '';
    throw new CommandFailed(
      `cannot find the control socket: ${first ? formatDiagnostic(first) : args.f}${more}; give --socket PATH or -f FILE`,
    );
  }
  const socket = loaded.value.config.controlSocket;
  if (socket === null) {
    throw new CommandFailed(`the control socket is disabled in ${args.f} (ControlSocket 0)`);
  }
  return socket.path;
}

/** The client options for these arguments; `defaultTimeoutMs` unless --timeout says otherwise. */
export function clientOptions(args: ControlArgs, defaultTimeoutMs = DEFAULT_CONTROL_TIMEOUT_MS) {
  if (args.timeout !== undefined && !(Number.isFinite(args.timeout) && args.timeout > 0)) {
    throw new UsageError(`--timeout must be a positive number of seconds, not ${args.timeout}`);
  }
  return {
    path: controlSocketPath(args),
    timeoutMs: args.timeout === undefined ? defaultTimeoutMs : args.timeout * 1000,
  };
}
