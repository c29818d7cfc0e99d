/** Process entry of `bin/relayctl`. The only place besides the worker entry that exits the process. */
import { getCli } from './cli.js';
import { describeFailure, exitCodeFor } from './exit-codes.js';

const io = {
  out: (t: string) => process.stdout.write(`${t}\n`),
  err: (t: string) => process.stderr.write(`${t}\n`),
};

try {
  await getCli(process.argv.slice(2), io).parseAsync();
} catch (error) {
  io.err(`relayctl: ${describeFailure(error)}`);
  process.exitCode = exitCodeFor(error);
}
