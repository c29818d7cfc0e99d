/**
 * The configuration protocol of one managed server transport (pt-spec 3.3),
 * as a sans-IO state machine: stdout lines in, one outcome per line out.
 *
 *   launched ──VERSION 1──► accepting-methods ──SMETHODS DONE──► configured
 *       │                       │  SMETHOD / SMETHOD-ERROR recorded
 *       └──ENV-ERROR, VERSION-ERROR, another version, a malformed
 *          VERSION/SMETHOD/SMETHODS line, a method line out of order──► broken
 *
 * The order and the fatal cases are C tor's (transports.c
 * `handle_proxy_line`): a broken proxy is "destroyed", i.e. killed and not
 * relaunched, because what it said will not change on a retry. An
 * SMETHOD-ERROR only fails that one transport ("Log the error but do not
 * kill the managed proxy"). LOG and STATUS are accepted in every phase.
 *
 * Two places where relayd is gentler than C tor, both logged:
 * - a method line after SMETHODS DONE is ignored (C tor destroys the
 *   proxy, taking working listeners down with it);
 * - an SMETHOD for a transport that was not asked for is ignored (pt-spec:
 *   the transport reports "each transport initialized" of those requested).
 *
 * Also understood: tor 0.4.9's `STATUS TYPE=version IMPLEMENTATION=…
 * VERSION=…` (the transport names itself for the extra-info
 * "transport-info" line), which may come without a TRANSPORT key.
 */
import {
  type AddressPort,
  type PtArg,
  type PtLogSeverity,
  type PtMessage,
  parseKvLine,
  parsePtLine,
} from '@relayd/ext-orport';

/** "The version of the Pluggable Transport specification as of this document is "1"." */
const SUPPORTED_VERSION = '1';

export type ProxyPhase = 'launched' | 'accepting-methods' | 'configured' | 'broken';

/** A listener the transport reported with SMETHOD. */
export interface ServerMethod {
  readonly transport: string;
  /** Where it listens, as reported (0.0.0.0 or [::] when bound to every interface). */
  readonly address: AddressPort;
  /** ARGS, decoded. */
  readonly args: readonly PtArg[];
  /** ARGS exactly as written after "ARGS:", escapes intact (what C tor copies into extra-info). */
  readonly argsText: string | undefined;
  /** Options other than ARGS, verbatim. */
  readonly options: readonly string[];
}

/** What one line meant. */
export type ProxyLineOutcome =
  /** The line advanced the protocol (VERSION, SMETHOD, SMETHOD-ERROR). */
  | { readonly kind: 'progress'; readonly message: PtMessage }
  /** SMETHODS DONE: the methods are final. */
  | { readonly kind: 'configured' }
  /** The proxy failed the protocol; kill it and do not relaunch it. */
  | { readonly kind: 'broken'; readonly reason: string }
  /** A LOG line, to forward to the log at its severity. */
  | { readonly kind: 'log'; readonly severity: PtLogSeverity; readonly message: string }
  /** A STATUS line (TRANSPORT=… plus the transport's own keys). */
  | { readonly kind: 'status'; readonly transport: string; readonly values: readonly PtArg[] }
  /** STATUS TYPE=version: which implementation and version the transport is. */
  | { readonly kind: 'implementation'; readonly implementation: string; readonly version: string }
  /** Nothing to act on; `reason` says why, for a log line at `severity`. */
  | { readonly kind: 'ignored'; readonly severity: 'notice' | 'warn'; readonly reason: string };

export class ServerProxyConfiguration {
  private currentPhase: ProxyPhase = 'launched';
  private readonly reported = new Map<string, ServerMethod>();
  private readonly errors = new Map<string, string>();

  /** `requested`: TOR_PT_SERVER_TRANSPORTS, in order. */
  constructor(readonly requested: readonly string[]) {}

  get phase(): ProxyPhase {
    return this.currentPhase;
  }

  /** SMETHOD lines received so far, by transport. */
  get methods(): ReadonlyMap<string, ServerMethod> {
    return this.reported;
  }

  /** SMETHOD-ERROR messages received so far, by transport. */
  get methodErrors(): ReadonlyMap<string, string> {
    return this.errors;
  }

  /** Handles one stdout line (without its NL). */
  receive(line: string): ProxyLineOutcome {
    const parsed = parsePtLine(line);
    if (!parsed.ok) return this.malformed(line, parsed.error.message);
    const message = parsed.value;
    switch (message.type) {
      case 'log':
        return { kind: 'log', severity: message.severity, message: message.message };
      case 'status':
        return (
          versionReport(message.values) ?? {
            kind: 'status',
            transport: message.transport,
            values: message.values,
          }
        );
      case 'env-error':
        return this.break(`the transport did not understand its environment: ${message.message}`);
      case 'version-error':
        return this.break(`the transport supports no protocol version we offered (${message.message})`);
      case 'version':
        if (this.currentPhase !== 'launched') return this.outOfOrder('VERSION');
        if (message.version !== SUPPORTED_VERSION) {
          return this.break(`the transport chose protocol version ${message.version}; only 1 exists`);
        }
        this.currentPhase = 'accepting-methods';
        return { kind: 'progress', message };
      case 'smethod':
        if (this.currentPhase !== 'accepting-methods') return this.outOfOrder('SMETHOD');
        if (!this.requested.includes(message.transport)) {
          return ignored('warn', `SMETHOD for ${message.transport}, which was not asked for`);
        }
        if (this.reported.has(message.transport)) {
          return ignored('warn', `a second SMETHOD for ${message.transport}; the first stands`);
        }
        this.reported.set(message.transport, {
          transport: message.transport,
          address: message.address,
          args: message.args,
          argsText: message.argsText,
          options: message.options,
        });
        return { kind: 'progress', message };
      case 'smethod-error':
        if (this.currentPhase !== 'accepting-methods') return this.outOfOrder('SMETHOD-ERROR');
        this.errors.set(message.transport, message.message || '(no message)');
        return { kind: 'progress', message };
      case 'smethods-done':
        if (this.currentPhase !== 'accepting-methods') return this.outOfOrder('SMETHODS DONE');
        this.currentPhase = 'configured';
        return { kind: 'configured' };
      case 'cmethod':
      case 'cmethod-error':
      case 'cmethods-done':
      case 'proxy-done':
      case 'proxy-error':
        return ignored('warn', `a client-side line (${message.type}) from a server transport`);
      case 'unknown':
        // "The parent process MUST ignore lines received from PT proxies with unknown keywords."
        return ignored('notice', `unknown line "${message.keyword}"`);
    }
  }

  private malformed(line: string, detail: string): ProxyLineOutcome {
    const keyword = line.split(' ', 1)[0] ?? '';
    if (keyword === 'STATUS') {
      // Not a TRANSPORT status: perhaps TYPE=version.
      const values = parseKvLine(line.slice('STATUS'.length), 'STATUS');
      const report = values.ok ? versionReport(values.value) : undefined;
      if (report) return report;
    }
    // A bad LOG or STATUS costs only that line (C tor `parse_log_line`, `parse_status_line`).
    if (keyword === 'LOG' || keyword === 'STATUS')
      return ignored('warn', `malformed ${keyword} line: ${detail}`);
    if (this.currentPhase === 'configured' || this.currentPhase === 'broken') {
      return ignored('warn', `malformed line after configuration: ${detail}`);
    }
    return this.break(`malformed line: ${detail}`);
  }

  private outOfOrder(what: string): ProxyLineOutcome {
    if (this.currentPhase === 'configured' || this.currentPhase === 'broken') {
      return ignored('warn', `${what} after the configuration ended`);
    }
    return this.break(`${what} out of order (in phase ${this.currentPhase})`);
  }

  private break(reason: string): ProxyLineOutcome {
    if (this.currentPhase === 'configured') {
      // Listeners are up and in use; C tor would kill them, we only report it.
      return ignored('warn', `after configuration: ${reason}`);
    }
    this.currentPhase = 'broken';
    return { kind: 'broken', reason };
  }
}

function ignored(severity: 'notice' | 'warn', reason: string): ProxyLineOutcome {
  return { kind: 'ignored', severity, reason };
}

/** `TYPE=version IMPLEMENTATION=… VERSION=…`; tor 0.4.9 warns when either key is missing, and so do we. */
function versionReport(values: readonly PtArg[]): ProxyLineOutcome | undefined {
  if (values.find((v) => v.key === 'TYPE')?.value !== 'version') return undefined;
  const implementation = values.find((v) => v.key === 'IMPLEMENTATION')?.value;
  const version = values.find((v) => v.key === 'VERSION')?.value;
  if (implementation === undefined || version === undefined) {
    return ignored('warn', 'STATUS TYPE=version without IMPLEMENTATION or VERSION');
  }
  return { kind: 'implementation', implementation, version };
}
