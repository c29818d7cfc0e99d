/**
 * Bounded polling for tests: ask `probe` until it has an answer, and fail
 * the test with what was awaited (and any context the caller adds) once the
 * time is up.
 */
import assert from 'node:assert/strict';

/** Polls `probe` every `intervalMs` until it returns a value; fails the test after `timeoutMs`. */
export async function pollFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => T | undefined,
  context = () => '',
  intervalMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`no ${what} within ${timeoutMs} ms\n${context()}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
