/** Process entry of `bin/relayctl`. The only place besides the worker entry that exits the process. */
import { describeError } from '@relayd/common';
import { getCli, UsageError } from './cli.js';

const io = {
  out: (t: string) => process.stdout.write(`${t}\n`),
  err: (t: string) => process.stderr.write(`${t}\n`),
};

try {
  await getCli(process.argv.slice(2), io).parseAsync();
} catch (error) {
  io.err(`relayctl: ${describeError(error)}`);
  process.exitCode = error instanceof UsageError ? 2 : 1;
}
