/**
 * Process entry of the bench: `pnpm bench` runs `node packages/bench/dist/src/cli.js`.
 * Exit status: 0 done, 1 failed, 2 bad command line.
 */
import { describeError } from '@relayd/common';
import { BenchUsageError, getBenchCli } from './commands.js';

const io = {
  out: (t: string) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
  err: (t: string) => process.stderr.write(`${t}\n`),
};

try {
  await getBenchCli(process.argv.slice(2), io).parseAsync();
} catch (error) {
  io.err(`bench: ${describeError(error)}`);
  process.exitCode = error instanceof BenchUsageError ? 2 : 1;
}
