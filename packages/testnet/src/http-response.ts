/**
 * Parsing of a complete HTTP/1.x response read until the server closed the
 * connection (the downloader asks with HTTP/1.0, so there is no chunked
 * encoding and no keep-alive). Total: a truncated or malformed response is a
 * DecodeError, including a body shorter than its Content-Length, which is how
 * a stream cut short inside the network shows up.
 */
import { DecodeError, err, ok, type Result } from '@relayd/common';

export interface HttpResponse {
  readonly status: number;
  /** Header names in lower case. */
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Uint8Array;
}

const OBJECT = 'HTTP response';
const HEADER_END = [13, 10, 13, 10];

export function parseHttpResponse(bytes: Uint8Array): Result<HttpResponse, DecodeError> {
  const end = indexOfSequence(bytes, HEADER_END);
  if (end < 0) return err(new DecodeError('incomplete', OBJECT, 'no end of headers'));
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, end));
  const [statusLine, ...headerLines] = head.split('\r\n');
  const status = /^HTTP\/1\.[01] ([1-5][0-9][0-9])(?: .*)?$/.exec(statusLine ?? '');
  if (!status) return malformed(`bad status line ${JSON.stringify(statusLine)}`);
  const headers = new Map<string, string>();
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    if (colon <= 0) return malformed(`bad header line ${JSON.stringify(line)}`);
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  if (headers.has('transfer-encoding')) {
    return malformed(`unsupported transfer-encoding ${headers.get('transfer-encoding')}`);
  }
  const body = bytes.subarray(end + HEADER_END.length);
  const declared = headers.get('content-length');
  if (declared !== undefined) {
    if (!/^[0-9]+$/.test(declared)) return malformed(`bad content-length ${JSON.stringify(declared)}`);
    const length = Number(declared);
    if (body.length < length) {
      return err(new DecodeError('incomplete', OBJECT, `body has ${body.length} of ${length} bytes`));
    }
    if (body.length > length)
      return malformed(`body has ${body.length - length} bytes beyond content-length`);
  }
  return ok({ status: Number(status[1]), headers, body });
}

function indexOfSequence(bytes: Uint8Array, sequence: readonly number[]): number {
  outer: for (let i = 0; i + sequence.length <= bytes.length; i++) {
    for (let j = 0; j < sequence.length; j++) if (bytes[i + j] !== sequence[j]) continue outer;
    return i;
  }
  return -1;
}

function malformed(detail: string): Result<never, DecodeError> {
  return err(new DecodeError('malformed', OBJECT, detail));
}
