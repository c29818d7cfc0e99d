/**
 * The little HTTP vocabulary the load generator speaks with its sink over
 * BEGIN_DIR streams (the sink is a real relay whose directory service
 * answers these paths). One module so both ends agree:
 *
 *   GET /loadgen/bytes/<n>         200, Content-Length n, n zero bytes   (backward load)
 *   GET /loadgen/upload/<token>    held: answered 200 (empty) only once the matching
 *                                  release arrives, so forward DATA sent on this stream
 *                                  after the request is taken under flow control by a
 *                                  stream that stays open                (forward load)
 *   GET /loadgen/release/<token>   answers the held upload and itself, 200 (empty); sent
 *                                  after the last upload cell, so the upload's answer
 *                                  proves every upload cell reached the sink
 *   GET <anything else>            200 with the sink's default number of zero bytes
 */
import { utf8 } from '@relayd/common';

export const SINK_PATH_PREFIX = '/loadgen/';

/** The largest body a sink serves for one request (the body is held in memory, shared by size). */
export const MAX_SINK_RESPONSE_BYTES = 256 * 1024 * 1024;

export type SinkRequest =
  | { readonly kind: 'bytes'; readonly bytes: number }
  | { readonly kind: 'upload'; readonly token: string }
  | { readonly kind: 'release'; readonly token: string }
  | { readonly kind: 'other' };

const TOKEN = /^[0-9a-f]{8,64}$/;

export function downloadPath(bytes: number): string {
  return `${SINK_PATH_PREFIX}bytes/${bytes}`;
}

export function uploadPath(token: string): string {
  return `${SINK_PATH_PREFIX}upload/${token}`;
}

export function releasePath(token: string): string {
  return `${SINK_PATH_PREFIX}release/${token}`;
}

/** Reads a request target. A malformed /loadgen/ path is 'other' (answered with the default body). */
export function parseSinkTarget(target: string): SinkRequest {
  if (!target.startsWith(SINK_PATH_PREFIX)) return { kind: 'other' };
  const [verb, argument, ...rest] = target.slice(SINK_PATH_PREFIX.length).split('/');
  if (rest.length > 0 || argument === undefined) return { kind: 'other' };
  if (verb === 'bytes' && /^\d{1,10}$/.test(argument)) {
    const bytes = Number(argument);
    return bytes <= MAX_SINK_RESPONSE_BYTES ? { kind: 'bytes', bytes } : { kind: 'other' };
  }
  if (verb === 'upload' && TOKEN.test(argument)) return { kind: 'upload', token: argument };
  if (verb === 'release' && TOKEN.test(argument)) return { kind: 'release', token: argument };
  return { kind: 'other' };
}

/** The request head a tor client sends on a BEGIN_DIR stream (dir-spec 6). */
export function httpGetHead(path: string): Uint8Array {
  return utf8(`GET ${path} HTTP/1.0\r\n\r\n`);
}
