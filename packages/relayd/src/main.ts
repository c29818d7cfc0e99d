/** Process entry of `bin/relayd`. The only place besides the worker entry that exits the process. */
import { describeError } from '@relayd/common';
import { getCli, UsageError } from './cli.js';
import { DaemonExit } from './daemon.js';

const io = {
  out: (t: string) => process.stdout.write(`${t}\n`),
  err: (t: string) => process.stderr.write(`${t}\n`),
};

try {
  await getCli(process.argv.slice(2), io).parseAsync();
} catch (error) {
  if (error instanceof DaemonExit) {
    // Already reported, to the logs and standard error.
    process.exitCode = error.exitCode;
  } else {
    io.err(`relayd: ${describeError(error)}`);
    process.exitCode = error instanceof UsageError ? 2 : 1;
  }
}
// Whatever a peer's half-closed connection or a pending timer still holds, the daemon is done.
process.exit();
