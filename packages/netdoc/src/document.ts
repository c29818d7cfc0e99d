/**
 * Rules over a tokenized document section: how many times an item may occur,
 * how many arguments it takes, which object it carries, and typed readers
 * for its values. Every refusal is a NetDocError naming the item's line, so
 * the document parsers read as a list of rules (compare C tor's
 * token_rule_t tables in parsecommon.h).
 *
 * These helpers throw; the public parsers catch NetDocError at their edge
 * (`parseDocument`) and return a Result.
 */
import { err, ok, type Result } from '@relayd/common';
import { RsaPublicKey } from '@relayd/crypto';
import { NetDocError } from './errors.js';
import type { NetDocItem } from './tokenizer.js';
import {
  type AddressPort,
  isValidNickname,
  parseAddressPort,
  parseBase64Exact,
  parseDecimal,
  parseHexDigest,
  parseIPv4,
  parseIsoTime,
} from './values.js';

/** Runs a throwing parser and converts NetDocErrors into a Result; any other throw is a bug and escapes. */
export function parseDocument<T>(fn: () => T): Result<T, NetDocError> {
  try {
    return ok(fn());
  } catch (e) {
    if (e instanceof NetDocError) return err(e);
    throw e;
  }
}

/** A run of items belonging to one document (or one section of it). */
export class ItemSection {
  constructor(
    readonly objectName: string,
    readonly items: readonly NetDocItem[],
  ) {}

  /** Throws a NetDocError about this document, at `at`'s line when given. */
  fail(detail: string, at?: NetDocItem): never {
    throw new NetDocError(this.objectName, detail, at?.line);
  }

  /** Every item with this keyword, in order. */
  all(keyword: string): NetDocItem[] {
    return this.items.filter((i) => i.keyword === keyword);
  }

  /** The item with this keyword if present; refuses a second one ("at most once"). */
  optional(keyword: string): NetDocItem | undefined {
    const found = this.all(keyword);
    if (found.length > 1) this.fail(`"${keyword}" appears more than once`, found[1]);
    return found[0];
  }

  /** The one item with this keyword ("exactly once"). */
  required(keyword: string): NetDocItem {
    const found = this.optional(keyword);
    if (!found) this.fail(`missing "${keyword}"`, this.items[0]);
    return found;
  }

  /** Requires the section to start with `keyword` ("at start, exactly once"). */
  requireFirst(keyword: string): NetDocItem {
    const first = this.items[0];
    if (!first) this.fail(`empty document: expected "${keyword}"`);
    if (first.keyword !== keyword) this.fail(`expected "${keyword}" first, found "${first.keyword}"`, first);
    this.required(keyword);
    return first;
  }

  /** Requires the section to end with `keyword` ("at end, exactly once"). */
  requireLast(keyword: string): NetDocItem {
    const last = this.items[this.items.length - 1];
    if (!last) this.fail(`empty document: expected "${keyword}"`);
    if (last.keyword !== keyword) this.fail(`expected "${keyword}" last, found "${last.keyword}"`, last);
    this.required(keyword);
    return last;
  }

  /** Requires at least `n` arguments. */
  minArgs(item: NetDocItem, n: number): void {
    if (item.args.length < n) this.fail(`"${item.keyword}" needs ${n} argument(s)`, item);
  }

  /** Requires no arguments ("no extra arguments"). */
  noArgs(item: NetDocItem): void {
    if (item.args.length > 0) this.fail(`"${item.keyword}" takes no arguments`, item);
  }

  /** Argument `index`, which must exist. */
  arg(item: NetDocItem, index: number): string {
    const a = item.args[index];
    if (a === undefined) this.fail(`"${item.keyword}" needs ${index + 1} argument(s)`, item);
    return a;
  }

  /** Refuses an object on an item that takes none. */
  noObject(item: NetDocItem): void {
    if (item.object) this.fail(`"${item.keyword}" takes no object`, item);
  }

  /** The item's object data, which must carry one of `labels`. */
  object(item: NetDocItem, ...labels: string[]): Uint8Array {
    if (!item.object) this.fail(`"${item.keyword}" needs an object`, item);
    if (!labels.includes(item.object.label))
      this.fail(`"${item.keyword}" has a ${item.object.label} object, expected ${labels.join(' or ')}`, item);
    return item.object.data;
  }

  /** An integer in [min, max]. */
  integer(item: NetDocItem, text: string, what: string, min: number, max: number): number {
    const v = parseDecimal(text, min, max);
    if (v === undefined) this.fail(`bad ${what} "${text}"`, item);
    return v;
  }

  /** A "YYYY-MM-DD HH:MM:SS" time made of arguments `index` and `index + 1`. */
  timeArgs(item: NetDocItem, index = 0): number {
    const text = `${this.arg(item, index)} ${this.arg(item, index + 1)}`;
    const t = parseIsoTime(text);
    if (t === undefined) this.fail(`bad time "${text}"`, item);
    return t;
  }

  /** A dotted-quad IPv4 address. */
  ipv4(item: NetDocItem, text: string): string {
    const a = parseIPv4(text);
    if (!a) this.fail(`bad IPv4 address "${text}"`, item);
    return a;
  }

  /** An "address:port" or "[v6]:port". */
  addressPort(item: NetDocItem, text: string): AddressPort {
    const a = parseAddressPort(text);
    if (!a) this.fail(`bad address:port "${text}"`, item);
    return a;
  }

  /** A relay nickname (dir-spec 2.1.3). */
  nickname(item: NetDocItem, text: string): string {
    if (!isValidNickname(text)) this.fail(`bad nickname "${text}"`, item);
    return text;
  }

  /** Exactly `bytes` bytes of hex. */
  hex(item: NetDocItem, text: string, what: string, bytes = 20): Uint8Array {
    const d = parseHexDigest(text, bytes);
    if (!d) this.fail(`bad ${what} "${text}"`, item);
    return d;
  }

  /** Base64 (padding optional) decoding to exactly `bytes` bytes. */
  base64(item: NetDocItem, text: string, what: string, bytes: number): Uint8Array {
    const d = parseBase64Exact(text, bytes);
    if (!d) this.fail(`bad ${what} "${text}"`, item);
    return d;
  }

  /**
   * An "RSA PUBLIC KEY" object (DER PKCS#1). `bits` pins the modulus size
   * (tor's NEED_KEY_1024); `requireE65537` refuses other public exponents,
   * as tor does for onion keys.
   */
  rsaKey(
    item: NetDocItem,
    options: { bits?: number; minBits?: number; requireE65537?: boolean } = {},
  ): RsaPublicKey {
    const der = this.object(item, 'RSA PUBLIC KEY');
    const key = RsaPublicKey.fromDer(der);
    if (!key) this.fail(`"${item.keyword}" is not a valid RSA public key`, item);
    if (options.bits !== undefined && key.modulusBits !== options.bits)
      this.fail(`"${item.keyword}" key has ${key.modulusBits} bits, expected ${options.bits}`, item);
    if (options.minBits !== undefined && key.modulusBits < options.minBits)
      this.fail(`"${item.keyword}" key has ${key.modulusBits} bits, fewer than ${options.minBits}`, item);
    if (options.requireE65537 && key.exponent !== 65537n)
      this.fail(`"${item.keyword}" key has public exponent ${key.exponent}, expected 65537`, item);
    return key;
  }
}
