/**
 * CPU time and resident memory of a process by PID, from Linux's /proc, for
 * the workers relayctl lists (the supervisor reads its workers' files; the
 * heartbeat does not carry these).
 *
 * CPU: utime + stime of /proc/PID/stat (fields 14 and 15, proc(5)), in clock
 * ticks of USER_HZ, which the kernel fixes at 100 for user space on every
 * architecture Node runs on (x86, ARM, POWER, s390x). Memory: VmRSS of
 * /proc/PID/status. The `comm` field of stat may hold spaces and
 * parentheses, so fields are counted from the last ')'.
 */
import { readFileSync } from 'node:fs';

export const USER_HZ = 100;

export interface ProcessUsage {
  readonly cpuSeconds: number;
  readonly rssBytes: number;
}

/** Parses /proc/PID/stat: user + system CPU seconds, or undefined. Pure and total. */
export function parseProcStat(text: string): number | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  // After ") " come field 3 (state) onwards: utime is field 14, stime field 15.
  const fields = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const utime = Number(fields[14 - 3]);
  const stime = Number(fields[15 - 3]);
  if (!Number.isSafeInteger(utime) || !Number.isSafeInteger(stime) || utime < 0 || stime < 0)
    return undefined;
  return (utime + stime) / USER_HZ;
}

/** Parses /proc/PID/status: VmRSS in bytes, or undefined (kernel threads have none). Pure and total. */
export function parseProcStatusRss(text: string): number | undefined {
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(text);
  if (!match) return undefined;
  const kib = Number(match[1]);
  return Number.isSafeInteger(kib) ? kib * 1024 : undefined;
}

/** The usage of process `pid`, or undefined when it is gone or /proc is not there. */
export function readProcessUsage(pid: number, procRoot = '/proc'): ProcessUsage | undefined {
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  try {
    const cpuSeconds = parseProcStat(readFileSync(`${procRoot}/${pid}/stat`, 'latin1'));
    const rssBytes = parseProcStatusRss(readFileSync(`${procRoot}/${pid}/status`, 'latin1'));
    if (cpuSeconds === undefined || rssBytes === undefined) return undefined;
    return { cpuSeconds, rssBytes };
  } catch {
    return undefined;
  }
}
