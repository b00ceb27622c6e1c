// Handler responses → bytes. Pure: validation happens here, before a byte
// is written, so a handler's mistake becomes a clean 500 rather than half a
// response. Every response says `Connection: close`: the server serves one
// request per connection (see server-connection.ts).
import { invalidArgument } from './errors.js';
import { fieldsOf, type HttpField } from './header-fields.js';
import type { HttpVersion } from './http-version.js';
import { formatResponseHead } from './response-head.js';
import type { HttpBodyResponse, HttpStreamResponse } from './server-types.js';

/** How a streamed body is delimited on the wire. */
export type StreamFraming = 'chunked' | 'close' | 'none';

const FRAMING_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection']);

export function formatBodyResponse(method: string, response: HttpBodyResponse): Buffer {
  const body = typeof response.body === 'string' ? Buffer.from(response.body, 'utf8') : response.body;
  if (!Buffer.isBuffer(body)) throw invalidArgument('response body is neither a string nor a Buffer');
  const fields = handlerFields(response);
  // RFC 9110 §8.6: no Content-Length in a 204; a 304 has no content either.
  if (response.status === 204 || response.status === 304) {
    if (body.length > 0) throw invalidArgument(`a ${response.status} response cannot have a body`);
  } else {
    fields.push(['content-length', String(body.length)]);
  }
  fields.push(['connection', 'close']);
  const head = Buffer.from(formatResponseHead(response.status, fields), 'latin1');
  return method === 'HEAD' || body.length === 0 ? head : Buffer.concat([head, body]);
}

export function formatStreamHead(method: string, httpVersion: HttpVersion, response: HttpStreamResponse): { head: Buffer; framing: StreamFraming } {
  if (response.status === 204 || response.status === 304) throw invalidArgument(`a ${response.status} response cannot stream a body`);
  const fields = handlerFields(response);
  // Chunked is HTTP/1.1 (RFC 9112 §6.1): an HTTP/1.0 client reads to the close instead.
  const framing: StreamFraming = method === 'HEAD' ? 'none' : httpVersion === '1.1' ? 'chunked' : 'close';
  if (framing !== 'close') fields.push(['transfer-encoding', 'chunked']);
  fields.push(['connection', 'close']);
  return { head: Buffer.from(formatResponseHead(response.status, fields), 'latin1'), framing };
}

/** The server's own answers: 4xx for bad requests, 500, 503. */
export function formatErrorResponse(status: number, message: string): Buffer {
  return formatBodyResponse('GET', { status, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: `${message}\n` });
}

function handlerFields(response: { status: number; headers?: Readonly<Record<string, string>> }): HttpField[] {
  if (!Number.isInteger(response.status) || response.status < 200 || response.status > 599) {
    throw invalidArgument(`response status ${response.status} outside 200-599`);
  }
  const fields = fieldsOf(response.headers);
  for (const [name] of fields) {
    if (FRAMING_HEADERS.has(name)) throw invalidArgument(`response header ${name} is set by the server itself`);
  }
  return fields;
}
