/**
 * A stand-in for systemd's notification socket (sd_notify(3)), for tests
 * that run relayd with NOTIFY_SOCKET set: a Python program (Node.js has no
 * AF_UNIX datagram sockets) bound to a socket path in a temporary
 * directory, with SO_PASSCRED on as systemd has it. It writes each datagram
 * as one JSON line: the sender's credentials (SCM_CREDENTIALS: the PID
 * systemd would look the unit up by), how many descriptors came with it,
 * CLOCK_MONOTONIC at receipt, and the text. Like systemd, it closes every
 * descriptor it receives (which releases a BARRIER=1 waiter) only after
 * handling the datagrams before it.
 *
 * With `probeOnReady`, it tries to connect to that Unix stream socket as
 * soon as a READY=1 arrives, before reading anything else, and records
 * whether it could: what a unit ordered after relayd would find at that
 * moment.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ManagedProcess, type ProcessRegistry, sleep, waitForLogLine } from '@relayd/testnet';

export const PYTHON = '/usr/bin/python3';

const RECEIVER_PY = `
import array, json, os, socket, struct, sys, time
path, probe = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else '')
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
print(json.dumps({'listening': path}), flush=True)
creds_size = struct.calcsize('iII')
while True:
    data, ancillary, flags, _ = sock.recvmsg(65536, socket.CMSG_SPACE(creds_size) + socket.CMSG_SPACE(64 * 4))
    received_usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    pid = uid = None
    fds = []
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid, uid, _gid = struct.unpack('iII', payload[:creds_size])
        elif level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.extend(array.array('i', payload[: len(payload) - len(payload) % 4]))
    text = data.decode('utf-8', 'replace')
    record = {'pid': pid, 'uid': uid, 'fds': len(fds), 'receivedUsec': received_usec, 'text': text}
    if probe and 'READY=1' in text.split('\\n'):
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            client.connect(probe)
            record['probe'] = 'connected'
        except OSError as e:
            record['probe'] = e.strerror or str(e)
        finally:
            client.close()
    print(json.dumps(record), flush=True)
    for fd in fds:
        os.close(fd)
`;

export interface NotifyDatagram {
  /** The sender's PID as the kernel vouches for it (SCM_CREDENTIALS). */
  readonly pid: number;
  readonly uid: number;
  /** Descriptors that came with it (one with BARRIER=1). */
  readonly fds: number;
  /** CLOCK_MONOTONIC at receipt, microseconds. */
  readonly receivedUsec: number;
  readonly text: string;
  /** With probeOnReady, on a READY=1: 'connected' or why not. */
  readonly probe?: string;
  /** The assignments, by name. */
  readonly fields: ReadonlyMap<string, string>;
}

export class NotifyReceiver {
  private constructor(
    readonly socketPath: string,
    readonly process: ManagedProcess,
    private readonly outputPath: string,
  ) {}

  /** Starts a receiver on `dir`/`name`.sock. */
  static async start(
    registry: ProcessRegistry,
    dir: string,
    name: string,
    opts: { readonly probeOnReady?: string } = {},
  ): Promise<NotifyReceiver> {
    const script = join(dir, `${name}.py`);
    const socketPath = join(dir, `${name}.sock`);
    const outputPath = join(dir, `${name}.jsonl`);
    writeFileSync(script, RECEIVER_PY);
    const child = registry.spawn(
      name,
      PYTHON,
      ['-u', script, socketPath, ...(opts.probeOnReady ? [opts.probeOnReady] : [])],
      { stdoutPath: outputPath, stderrPath: join(dir, `${name}.stderr`) },
    );
    await waitForLogLine(outputPath, /"listening"/, {
      timeoutMs: 10_000,
      process: child,
      alsoShow: [join(dir, `${name}.stderr`)],
      what: 'the notification receiver binding its socket',
    });
    return new NotifyReceiver(socketPath, child, outputPath);
  }

  /** Every datagram received so far, in order. */
  datagrams(): NotifyDatagram[] {
    let text = '';
    try {
      text = readFileSync(this.outputPath, 'utf8');
    } catch {
      return [];
    }
    return text
      .split('\n')
      .filter((line) => line.startsWith('{"pid"'))
      .map((line) => {
        const raw = JSON.parse(line) as Omit<NotifyDatagram, 'fields'>;
        const fields = new Map<string, string>();
        for (const assignment of raw.text.split('\n')) {
          const eq = assignment.indexOf('=');
          if (eq > 0) fields.set(assignment.slice(0, eq), assignment.slice(eq + 1));
        }
        return { ...raw, fields };
      });
  }

  /** The datagrams that carry READY=1, RELOADING=1 or STOPPING=1, by that state. */
  states(): string[] {
    return this.datagrams().flatMap((d) =>
      ['READY', 'RELOADING', 'STOPPING'].filter((state) => d.fields.get(state) === '1'),
    );
  }

  /** Waits until at least `count` datagrams satisfy `match`; returns the last of them. */
  async waitFor(
    what: string,
    match: (d: NotifyDatagram) => boolean,
    opts: { readonly count?: number; readonly timeoutMs?: number; readonly sender?: ManagedProcess } = {},
  ): Promise<NotifyDatagram> {
    const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
    for (;;) {
      const found = this.datagrams().filter(match);
      if (found.length >= (opts.count ?? 1)) return found[found.length - 1]!;
      if (opts.sender && !opts.sender.running) {
        throw new Error(`${opts.sender.name} exited before ${what}; received: ${this.describe()}`);
      }
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}; received: ${this.describe()}`);
      await sleep(50);
    }
  }

  describe(): string {
    return JSON.stringify(this.datagrams().map((d) => d.text));
  }
}
