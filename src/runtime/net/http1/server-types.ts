// What a server handler sees and answers.
import type { HttpField, HttpHeaders } from './header-fields.js';
import type { HttpVersion } from './http-version.js';

export interface HttpServerRequest {
  method: string;
  /** The request target in origin-form: path and query, as sent. */
  path: string;
  httpVersion: HttpVersion;
  headers: HttpHeaders;
  fields: HttpField[];
  /** The whole body, already read (bounded by the server's bodyBytesMax). */
  body: Buffer;
  remoteAddress: string;
}

/** Sent with Content-Length. */
export interface HttpBodyResponse {
  status: number;
  /** Anything but the framing headers (Content-Length, Transfer-Encoding, Connection), which the server sets. */
  headers?: Readonly<Record<string, string>>;
  body: string | Buffer;
}

/**
 * Sent chunked (to an HTTP/1.0 client: unframed, ended by closing). The
 * server writes the head, then calls `stream` once with:
 *  - write(chunk): queues a chunk; false means "wait for drain" (onDrain).
 *    Writing on regardless is cut off: past the server's
 *    streamBufferedBytesMax the connection is closed. After end or close,
 *    write does nothing and returns false.
 *  - end(): the last chunk; the connection closes after it.
 *  - onClose(cb): cb runs once when the connection closes, whatever the
 *    reason (the client left, end(), the server closed). Release watches there.
 *  - onDrain(cb): cb runs each time the socket drains after write returned false.
 */
export interface HttpStreamResponse {
  status: number;
  headers?: Readonly<Record<string, string>>;
  stream: (write: (chunk: string | Buffer) => boolean, end: () => void, onClose: (callback: () => void) => void, onDrain: (callback: () => void) => void) => void;
}

export type HttpServerResponse = HttpBodyResponse | HttpStreamResponse;

export type HttpHandler = (request: HttpServerRequest) => Promise<HttpServerResponse>;
