/**
 * `DirAuthority` lines (also `AlternateDirAuthority`,
 * `AlternateBridgeAuthority`), parsed as tor's `parse_dir_authority_line`
 * (tor: src/app/config/config.c) does:
 *
 *     [nickname] [flags…] ipv4:dirport fingerprint
 *
 * where the nickname is a legal relay nickname, flags run until the first
 * word that starts with a digit, and the fingerprint is 40 hex digits that
 * may be split by spaces. Flags: `bridge`, `orport=N`, `v3ident=HEX`,
 * `ipv6=[addr]:port`, `weight=N`, `upload=`/`download=`/`vote=http://addr:port/`,
 * and the obsolete `no-v2`, `hs`, `no-hs`.
 *
 * Where C tor only logs a warning for a malformed `orport=`, `weight=` or
 * `v3ident=` and carries on with a half-configured authority, this reports
 * an error: an authority without its v3 identity cannot sign anything we
 * would accept.
 */
import { err, InternalError, ok, type Result } from '@relayd/common';
import { parseHostPort, parseIPv4Bytes, parsePort } from './addresses.js';
import { isLegalNickname } from './nickname.js';

export type AuthorityDirPortUsage = 'upload' | 'download' | 'vote';

/** A directory authority, as a typed record. Fingerprints are upper-case hex without spaces. */
export interface DirAuthority {
  readonly nickname: string | null;
  readonly ipv4Address: string;
  readonly dirPort: number;
  /** From `orport=`; null when absent (tor then cannot open a TLS channel to it). */
  readonly orPort: number | null;
  /** SHA-1 digest of the RSA identity key, 40 upper-case hex digits. */
  readonly fingerprint: string;
  /** From `v3ident=`: digest of the v3 authority identity key; null for a bridge-only authority. */
  readonly v3Identity: string | null;
  readonly ipv6: { readonly address: string; readonly orPort: number } | null;
  /** From `weight=`; tor's default is 1. */
  readonly weight: number;
  /** The `bridge` flag: this authority takes bridge descriptors. */
  readonly isBridgeAuthority: boolean;
  /** Has a v3 identity: votes on and signs consensuses. */
  readonly isV3Authority: boolean;
  /** Extra DirPorts by purpose (`upload=`, `download=`, `vote=`). */
  readonly extraDirPorts: readonly {
    readonly usage: AuthorityDirPortUsage;
    readonly address: string;
    readonly port: number;
  }[];
}

export interface ParsedDirAuthority {
  readonly authority: DirAuthority;
  /** Things C tor warns about but accepts (unknown or obsolete flags). */
  readonly warnings: string[];
}

const HEX40 = /^[0-9A-Fa-f]{40}$/;

function parseDirPortFlag(usage: AuthorityDirPortUsage, target: string) {
  // tor: parse_dirauth_dirport takes only "http://ADDR:PORT" with an optional trailing "/".
  if (!target.startsWith('http://')) return err(`unsupported URL scheme in ${usage}=${target}`);
  let hostPort = target.slice('http://'.length);
  if (hostPort.endsWith('/')) hostPort = hostPort.slice(0, -1);
  if (hostPort.includes('/')) return err(`unsupported URL path in ${usage}=${target}`);
  const parsed = parseHostPort(hostPort, { portRequired: true });
  if (!parsed.ok) return err(`bad address in ${usage}=${target}: ${parsed.error}`);
  return ok({ usage, address: parsed.value.address, port: parsed.value.port! });
}

/** Parses the value of a DirAuthority-style line. */
export function parseDirAuthorityLine(line: string): Result<ParsedDirAuthority, string> {
  const items = line.split(/\s+/).filter((s) => s !== '');
  if (items.length === 0) return err('no arguments on DirAuthority line');
  const warnings: string[] = [];
  let nickname: string | null = null;
  if (isLegalNickname(items[0]!)) nickname = items.shift()!;

  let orPort: number | null = null;
  let v3Identity: string | null = null;
  let ipv6: DirAuthority['ipv6'] = null;
  let weight = 1;
  let isBridgeAuthority = false;
  const extraDirPorts: DirAuthority['extraDirPorts'][number][] = [];

  while (items.length > 0 && !/^\d/.test(items[0]!)) {
    const flag = items.shift()!;
    const lower = flag.toLowerCase();
    const after = (prefix: string) => flag.slice(prefix.length);
    if (lower === 'bridge') {
      isBridgeAuthority = true;
    } else if (lower === 'no-v2') {
      // Obsolete, still written by tools; tor accepts it silently.
    } else if (lower === 'hs' || lower === 'no-hs') {
      warnings.push(`the DirAuthority flag '${flag}' is obsolete; you don't need it any more`);
    } else if (lower.startsWith('orport=')) {
      const port = parsePort(after('orport='));
      if (port === undefined) return err(`invalid orport '${after('orport=')}' on DirAuthority line`);
      orPort = port;
    } else if (flag.startsWith('weight=')) {
      const text = after('weight=');
      const w = Number(text);
      if (text === '' || !Number.isFinite(w) || w < 0)
        return err(`invalid weight '${text}' on DirAuthority line`);
      weight = w;
    } else if (lower.startsWith('v3ident=')) {
      const id = after('v3ident=');
      if (!HEX40.test(id))
        return err(`bad v3 identity digest '${id}' on DirAuthority line (need 40 hex digits)`);
      v3Identity = id.toUpperCase();
    } else if (lower.startsWith('ipv6=')) {
      if (ipv6) {
        warnings.push('redundant ipv6= flag on DirAuthority line; the first one is used');
        continue;
      }
      const parsed = parseHostPort(after('ipv6='), { portRequired: true });
      if (!parsed.ok || parsed.value.family !== 6)
        return err(`bad ipv6 address and port '${after('ipv6=')}' on DirAuthority line`);
      ipv6 = { address: parsed.value.address, orPort: parsed.value.port! };
    } else if (lower.startsWith('upload=') || lower.startsWith('download=') || lower.startsWith('vote=')) {
      const eq = flag.indexOf('=');
      const usage = lower.slice(0, eq) as AuthorityDirPortUsage;
      const parsed = parseDirPortFlag(usage, flag.slice(eq + 1));
      if (!parsed.ok) return err(`${parsed.error} on DirAuthority line`);
      extraDirPorts.push(parsed.value);
    } else {
      warnings.push(`unrecognized flag '${flag}' on DirAuthority line`);
    }
  }

  if (items.length < 2)
    return err('too few arguments on DirAuthority line (need ADDRESS:DIRPORT FINGERPRINT)');
  const addrPort = items.shift()!;
  const colon = addrPort.lastIndexOf(':');
  const address = colon < 0 ? addrPort : addrPort.slice(0, colon);
  if (!parseIPv4Bytes(address)) return err(`DirAuthority address '${address}' is not an IPv4 address`);
  if (colon < 0) return err(`missing port in DirAuthority address '${addrPort}'`);
  const dirPort = parsePort(addrPort.slice(colon + 1));
  if (dirPort === undefined) return err(`bad port in DirAuthority address '${addrPort}'`);

  const fingerprint = items.join('');
  if (fingerprint.length !== 40) {
    return err(`DirAuthority fingerprint '${fingerprint}' has length ${fingerprint.length}, not 40`);
  }
  if (!HEX40.test(fingerprint)) return err(`DirAuthority fingerprint '${fingerprint}' is not hex`);

  return ok({
    authority: {
      nickname,
      ipv4Address: address.split('.').map(Number).join('.'),
      dirPort,
      orPort,
      fingerprint: fingerprint.toUpperCase(),
      v3Identity,
      ipv6,
      weight,
      isBridgeAuthority,
      isV3Authority: v3Identity !== null,
      extraDirPorts,
    },
    warnings,
  });
}

/**
 * The directory authorities compiled into tor 0.4.9.11
 * (src/app/config/auth_dirs.inc of that release, as shipped in Debian's
 * tor 0.4.9.11): relayd's defaults when no DirAuthority line is given.
 * The test suite also parses the older 0.4.8 list as vectors.
 */
export const DEFAULT_DIR_AUTHORITY_LINES: readonly string[] = [
  'moria1 orport=9201 v3ident=F533C81CEF0BC0267857C99B2F471ADF249FA232 128.31.0.39:9231 1A25C6358DB91342AA51720A5038B72742732498',
  'tor26 orport=443 v3ident=2F3DF9CA0E5D36F2685A2DA67184EB8DCB8CBA8C ipv6=[2a02:16a8:662:2203::1]:443 217.196.147.77:80 FAA4 BCA4 A6AC 0FB4 CA2F 8AD5 A11D 9E12 2BA8 94F6',
  'dizum orport=443 v3ident=E8A9C45EDE6D711294FADF8E7951F4DE6CA56B58 45.66.35.11:80 7EA6 EAD6 FD83 083C 538F 4403 8BBF A077 587D D755',
  'Serge orport=9001 bridge 66.111.2.131:9030 BA44 A889 E64B 93FA A2B1 14E0 2C2A 279A 8555 C533',
  'gabelmoo orport=443 v3ident=ED03BB616EB2F60BEC80151114BB25CEF515B226 ipv6=[2001:638:a000:4140::ffff:189]:443 131.188.40.189:80 F204 4413 DAC2 E02E 3D6B CF47 35A1 9BCA 1DE9 7281',
  'dannenberg orport=443 v3ident=0232AF901C31A04EE9848595AF9BB7620D4C5B2E ipv6=[2001:678:558:1000::244]:443 193.23.244.244:80 7BE6 83E6 5D48 1413 21C5 ED92 F075 C553 64AC 7123',
  'maatuska orport=80 v3ident=49015F787433103580E3B66A1707A00E60F2D15B ipv6=[2001:67c:289c::9]:80 171.25.193.9:443 BD6A 8292 55CB 08E6 6FBE 7D37 4836 3586 E46B 3810',
  'longclaw orport=443 v3ident=23D15D965BC35114467363C165C4F724B64B4F66 199.58.81.140:80 74A9 1064 6BCE EFBC D2E8 74FC 1DC9 9743 0F96 8145',
  'bastet orport=443 v3ident=27102BC123E7AF1D4741AE047E160C91ADC76B21 ipv6=[2620:13:4000:6000::1000:118]:443 204.13.164.118:80 24E2 F139 121D 4394 C54B 5BCC 368B 3B41 1857 C413',
  'faravahar orport=443 v3ident=70849B868D606BAECFB6128C5E3D782029AA394F 216.218.219.41:80 E3E4 2D35 F801 C9D5 AB23 584E 0025 D56F E2B3 3396',
];

/** The default authorities, parsed (they are constants, so a failure here is a bug). */
export function defaultDirAuthorities(): DirAuthority[] {
  return DEFAULT_DIR_AUTHORITY_LINES.map((line) => {
    const parsed = parseDirAuthorityLine(line);
    if (!parsed.ok) throw new InternalError(`bad built-in DirAuthority line: ${parsed.error}`);
    return parsed.value.authority;
  });
}
