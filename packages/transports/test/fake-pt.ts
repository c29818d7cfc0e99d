/**
 * A fake managed server transport for tests: a small node script written
 * into a temporary directory, started by the manager as
 * `ServerTransportPlugin <names> exec <node> <script> <behaviour file>`.
 *
 * Each launch reads the behaviour file (JSON), takes the entry for its
 * launch number (the last entry repeats), records what it was started with
 * in `<TOR_PT_STATE_LOCATION>/launch-<n>.json`, and then speaks the PT
 * stdout protocol as told. It opens no sockets: the ports it "listens" on
 * are the ones it was asked for, or `portBase + n` for port 0.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '@relayd/common';
import type { TransportTimerHandle, TransportTimers } from '../src/index.js';

/** What one launch of the fake transport does. */
export interface FakeLaunch {
  /** Printed instead of "VERSION 1" (e.g. "VERSION 2", "VERSION-ERROR no-version"). */
  readonly versionLine?: string;
  /** Printed first, then exit 1 (goptlib's behaviour for a bad environment). */
  readonly envError?: string;
  /** Lines printed after VERSION and before the methods. */
  readonly extraLines?: readonly string[];
  /** Per transport: an SMETHOD-ERROR message instead of an SMETHOD. */
  readonly methodErrors?: Readonly<Record<string, string>>;
  /** Ports that count as taken: asked for one, the transport answers SMETHOD-ERROR. */
  readonly takenPorts?: readonly number[];
  /** Stop after VERSION (never says SMETHODS DONE). */
  readonly hang?: boolean;
  /** Exit with this status right away, saying nothing. */
  readonly crash?: number;
  /** Exit with `exitCode` this long after SMETHODS DONE. */
  readonly exitAfterMs?: number;
  readonly exitCode?: number;
  /** Do not exit when stdin closes. */
  readonly ignoreStdinClose?: boolean;
  /** Ignore SIGTERM. */
  readonly ignoreSigterm?: boolean;
  /** A line for stderr. */
  readonly stderrLine?: string;
}

export interface FakeBehaviour {
  readonly launches: readonly FakeLaunch[];
  /** Port reported for a transport asked to bind port 0: portBase + launch number. */
  readonly portBase: number;
  /** ARGS text for each SMETHOD; default "cert=fake\\,cert,iat-mode=0". */
  readonly argsText?: string;
}

/** What a launch recorded. */
export interface FakeLaunchRecord {
  readonly launch: number;
  readonly pid: number;
  readonly argv: string[];
  readonly env: Record<string, string>;
}

const SCRIPT = String.raw`
import { readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
const behaviourFile = process.argv[2];
const behaviour = JSON.parse(readFileSync(behaviourFile, 'utf8'));
const state = process.env.TOR_PT_STATE_LOCATION;
mkdirSync(state, { recursive: true });
const counter = join(state, 'launches');
const n = existsSync(counter) ? Number(readFileSync(counter, 'utf8')) + 1 : 1;
writeFileSync(counter, String(n));
const env = {};
for (const [k, v] of Object.entries(process.env)) env[k] = v;
writeFileSync(join(state, 'launch-' + n + '.json'), JSON.stringify({ launch: n, pid: process.pid, argv: process.argv.slice(2), env }));
const me = behaviour.launches[Math.min(n, behaviour.launches.length) - 1] ?? {};
const out = (line) => process.stdout.write(line + '\n');
if (me.ignoreSigterm) process.on('SIGTERM', () => {});
if (!me.ignoreStdinClose && process.env.TOR_PT_EXIT_ON_STDIN_CLOSE === '1') {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
} else {
  process.stdin.on('data', () => {});
  process.stdin.on('end', () => {});
  process.stdin.resume();
}
setInterval(() => {}, 1 << 30);
if (me.stderrLine) process.stderr.write(me.stderrLine + '\n');
if (me.crash !== undefined) process.exit(me.crash);
if (me.envError !== undefined) { out('ENV-ERROR ' + me.envError); process.exit(1); }
out(me.versionLine ?? 'VERSION 1');
for (const line of me.extraLines ?? []) out(line);
if (!me.hang) {
  const bind = new Map();
  for (const pair of (process.env.TOR_PT_SERVER_BINDADDR ?? '').split(',').filter(Boolean)) {
    const dash = pair.indexOf('-');
    bind.set(pair.slice(0, dash), pair.slice(dash + 1));
  }
  for (const name of (process.env.TOR_PT_SERVER_TRANSPORTS ?? '').split(',')) {
    const error = (me.methodErrors ?? {})[name];
    if (error !== undefined) { out('SMETHOD-ERROR ' + name + ' ' + error); continue; }
    const asked = bind.get(name) ?? '127.0.0.1:0';
    const colon = asked.lastIndexOf(':');
    const host = asked.slice(0, colon);
    const askedPort = Number(asked.slice(colon + 1));
    if ((me.takenPorts ?? []).includes(askedPort)) { out('SMETHOD-ERROR ' + name + ' listen tcp ' + asked + ': bind: address already in use'); continue; }
    const port = askedPort === 0 ? behaviour.portBase + n : askedPort;
    const reported = host === '0.0.0.0' ? '[::]' : host;
    out('SMETHOD ' + name + ' ' + reported + ':' + port + ' ARGS:' + (behaviour.argsText ?? 'cert=fake\\,cert,iat-mode=0'));
  }
  out('SMETHODS DONE');
  if (me.exitAfterMs !== undefined) setTimeout(() => process.exit(me.exitCode ?? 1), me.exitAfterMs);
}
`;

/** A temporary directory with the fake transport script and its behaviour file. */
export class FakePt {
  readonly root: string;
  readonly script: string;
  readonly behaviourFile: string;
  readonly dataDirectory: string;

  constructor(behaviour: FakeBehaviour) {
    this.root = mkdtempSync(join(tmpdir(), 'relayd-fake-pt-'));
    this.script = join(this.root, 'fake-pt.mjs');
    this.behaviourFile = join(this.root, 'behaviour.json');
    this.dataDirectory = join(this.root, 'data');
    writeFileSync(this.script, SCRIPT);
    this.setBehaviour(behaviour);
  }

  setBehaviour(behaviour: FakeBehaviour): void {
    writeFileSync(this.behaviourFile, JSON.stringify(behaviour));
  }

  /** The `ServerTransportPlugin` value that runs this fake. */
  pluginLine(transports: string): string {
    return `${transports} exec ${process.execPath} ${this.script} ${this.behaviourFile}`;
  }

  get stateLocation(): string {
    return join(this.dataDirectory, 'pt_state');
  }

  /** What launch `n` (from 1) recorded, if it got that far. */
  launch(n: number): FakeLaunchRecord | undefined {
    const file = join(this.stateLocation, `launch-${n}.json`);
    return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as FakeLaunchRecord) : undefined;
  }

  /** How many launches ran. */
  launches(): number {
    const file = join(this.stateLocation, 'launches');
    return existsSync(file) ? Number(readFileSync(file, 'utf8')) : 0;
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** Waits (real time, bounded) until `probe` returns a value. */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false,
  timeoutMs = 10_000,
  context: () => string = () => '',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) assert.fail(`no ${what} within ${timeoutMs} ms\n${context()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** True while a process with this PID exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Timers run by hand: nothing fires until the test says so. */
export class FakeTimers implements TransportTimers {
  private nextId = 1;
  readonly pending = new Map<number, { readonly delayMs: number; readonly callback: () => void }>();
  /** Every delay ever scheduled, in order. */
  readonly scheduled: number[] = [];

  setTimeout(callback: () => void, delayMs: number): TransportTimerHandle {
    const id = this.nextId++;
    this.pending.set(id, { delayMs, callback });
    this.scheduled.push(delayMs);
    return id;
  }

  clearTimeout(handle: TransportTimerHandle): void {
    this.pending.delete(handle as number);
  }

  /** True while a timer of `delayMs` is pending. */
  has(delayMs: number): boolean {
    return [...this.pending.values()].some((t) => t.delayMs === delayMs);
  }

  /** Fires the oldest pending timer of `delayMs`; fails if there is none. */
  fire(delayMs: number): void {
    const entry = [...this.pending.entries()].find(([, t]) => t.delayMs === delayMs);
    assert.ok(
      entry,
      `no pending timer of ${delayMs} ms (pending: ${[...this.pending.values()].map((t) => t.delayMs)})`,
    );
    this.pending.delete(entry[0]);
    entry[1].callback();
  }
}

/** One line a RecordingLogger kept. */
export interface LoggedLine {
  readonly level: string;
  readonly fields: object;
  readonly message: string;
}

/** A logger that keeps every line (its children write into the same list). */
export class RecordingLogger implements Logger {
  constructor(
    private readonly bindings: object = {},
    readonly lines: LoggedLine[] = [],
  ) {}

  private add(level: string, fields: object, message: string): void {
    this.lines.push({ level, fields: { ...this.bindings, ...fields }, message });
  }
  error(fields: object, message: string): void {
    this.add('error', fields, message);
  }
  warn(fields: object, message: string): void {
    this.add('warn', fields, message);
  }
  notice(fields: object, message: string): void {
    this.add('notice', fields, message);
  }
  info(fields: object, message: string): void {
    this.add('info', fields, message);
  }
  debug(fields: object, message: string): void {
    this.add('debug', fields, message);
  }
  child(bindings: object): Logger {
    return new RecordingLogger({ ...this.bindings, ...bindings }, this.lines);
  }

  find(level: string, pattern: RegExp): LoggedLine | undefined {
    return this.lines.find((l) => l.level === level && pattern.test(l.message));
  }
}
