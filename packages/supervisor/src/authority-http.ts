/**
 * The supervisor's HTTP to the directory authorities, over net's
 * httpRequest: the fetcher's GETs and the descriptor uploads, from
 * OutboundBindAddress when one is set (tor ignores it towards loopback;
 * so does this), each answer bounded in size.
 */
import type { RelaydConfig } from '@relayd/config';
import type { DirectoryFetch } from '@relayd/dir-cache';
import { httpRequest } from '@relayd/net';
import type { DescriptorPost } from './descriptor-publisher.js';

/** Largest directory answer relayd reads (tor's MAX_DIR_DL_SIZE). */
const MAX_DIRECTORY_RESPONSE_BYTES = 16 * 1024 * 1024;
/** An authority's answer to an upload is a status line; anything more is not read. */
const MAX_UPLOAD_RESPONSE_BYTES = 64 * 1024;

function isLoopback(host: string): boolean {
  return /^127\./.test(host) || host === '::1';
}

/** net's httpRequest as the fetcher's GET (tor ignores OutboundBindAddress towards loopback; so does this). */
export function httpFetch(config: RelaydConfig): DirectoryFetch {
  const bind = config.outboundBindAddresses.ipv4;
  return async (request) => {
    const response = await httpRequest({
      method: request.method,
      host: request.host,
      port: request.port,
      path: request.path,
      headers: request.headers,
      timeoutMs: request.timeoutMs,
      maxResponseBytes: Math.min(request.maxResponseBytes, MAX_DIRECTORY_RESPONSE_BYTES),
      ...(bind && !isLoopback(request.host) ? { localAddress: bind } : {}),
    });
    return { status: response.status, body: response.body };
  };
}

/** net's httpRequest as the publisher's POST. */
export function httpPost(config: RelaydConfig): DescriptorPost {
  const bind = config.outboundBindAddresses.ipv4;
  return async (request) => {
    const response = await httpRequest({
      method: 'POST',
      host: request.host,
      port: request.port,
      path: request.path,
      headers: { 'Content-Type': 'text/plain' },
      body: request.body,
      timeoutMs: request.timeoutMs,
      maxResponseBytes: MAX_UPLOAD_RESPONSE_BYTES,
      ...(bind && !isLoopback(request.host) ? { localAddress: bind } : {}),
    });
    return { status: response.status };
  };
}
