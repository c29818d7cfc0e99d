/**
 * Process entry of the load generator: `node packages/loadgen/dist/src/cli.js ...`.
 * Exit status: 0 done, 1 failed, 2 bad command line, 3 a --check run that
 * did not account for every byte.
 */
import { describeError } from '@relayd/common';
import { getCli, IncompleteRunError, UsageError } from './commands.js';

const io = {
  out: (t: string) => process.stdout.write(`${t}\n`),
  err: (t: string) => process.stderr.write(`${t}\n`),
};

try {
  await getCli(process.argv.slice(2), io).parseAsync();
} catch (error) {
  io.err(`loadgen: ${describeError(error)}`);
  process.exitCode = error instanceof UsageError ? 2 : error instanceof IncompleteRunError ? 3 : 1;
}
