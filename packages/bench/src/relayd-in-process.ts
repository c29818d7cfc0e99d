/**
 * relayd with its worker inside the supervisor's process, for CPU
 * profiling only: `node --cpu-prof packages/bench/dist/src/relayd-in-process.js -f TORRC`.
 * relayd forks its workers with an explicit, empty `execArgv` (node flags
 * are not inherited), so a profile of `bin/relayd` sees the supervisor and
 * none of the relay work. Run this way, the same worker code (link TLS,
 * the relay engine, crypto) runs in the profiled process; what is missing
 * is only the hand-over between processes.
 */
import { describeError } from '@relayd/common';
import { DaemonExit, RELAYD_VERSION, runDaemon } from '@relayd/relayd';

const io = {
  out: (t: string) => process.stdout.write(`${t}\n`),
  err: (t: string) => process.stderr.write(`${t}\n`),
};
const args = process.argv.slice(2);
const file = args[0] === '-f' ? args[1] : undefined;
if (!file) {
  io.err('usage: relayd-in-process.js -f TORRC');
  process.exitCode = 2;
} else {
  try {
    await runDaemon(file, RELAYD_VERSION, io, { workers: 'in-process' });
  } catch (error) {
    if (!(error instanceof DaemonExit)) io.err(`relayd: ${describeError(error)}`);
    process.exitCode = error instanceof DaemonExit ? error.exitCode : 1;
  }
}
// As bin/relayd: whatever a half-closed connection still holds, the daemon is done (the profile is written on exit).
process.exit();
