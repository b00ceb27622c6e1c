// What a client call asks for, checked and turned into the request bytes.
// The caller owns the headers except the ones that frame the message
// (Content-Length, Transfer-Encoding, Connection): those are this code's to
// set, and a caller setting them would make the message say two things.
import { HttpError, invalidArgument } from './errors.js';
import { fieldsOf, type HttpField } from './header-fields.js';
import { checkBound, HEAD_BYTES_MAX_DEFAULT } from './limits.js';
import { formatRequestHead } from './request-head.js';

export interface HttpClientOptions {
  /** IPv4 address or name the platform resolves. */
  host: string;
  port: number;
  method: string;
  /** origin-form: `/v3/kv/range`, with any query; visible ASCII only. */
  path: string;
  headers?: Readonly<Record<string, string>>;
  body?: string | Buffer;
  /** Enables TCP keepalive on the connection (long-lived streams across NAT). */
  keepAliveIdleMs?: number;
  /** Bound on the response head; default 16 KiB. */
  headBytesMax?: number;
}

const FRAMING_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection']);
/** Methods whose requests mean something with a body: RFC 9110 §8.6 has them send Content-Length: 0 when empty. */
const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);
const TIMEOUT_MS_LIMIT = 7 * 24 * 3600 * 1000;
const PORT_MAX = 65535;

/** The request on the wire. Throws HttpError (ERR_HTTP_INVALID_ARGUMENT) or RangeError for bad options. */
export function formatRequest(options: HttpClientOptions): Buffer {
  checkBound('port', options.port, PORT_MAX);
  const body = typeof options.body === 'string' ? Buffer.from(options.body, 'utf8') : options.body;
  const fields: HttpField[] = [];
  const callerFields = fieldsOf(options.headers);
  if (!callerFields.some(([name]) => name === 'host')) fields.push(['host', hostHeader(options.host, options.port)]);
  for (const field of callerFields) {
    if (FRAMING_HEADERS.has(field[0])) throw invalidArgument(`header ${field[0]} is set by the client itself`);
    fields.push(field);
  }
  if (body !== undefined && (body.length > 0 || METHODS_WITH_BODY.has(options.method))) {
    fields.push(['content-length', String(body.length)]);
  } else if (METHODS_WITH_BODY.has(options.method)) {
    fields.push(['content-length', '0']);
  }
  // One request per connection (see client-exchange.ts).
  fields.push(['connection', 'close']);
  const head = Buffer.from(formatRequestHead({ method: options.method, target: options.path, fields }), 'latin1');
  return body === undefined || body.length === 0 ? head : Buffer.concat([head, body]);
}

export function checkTimeout(name: string, timeoutMs: number): number {
  return checkBound(name, timeoutMs, TIMEOUT_MS_LIMIT);
}

export function headBytesMaxOf(options: HttpClientOptions): number {
  return options.headBytesMax ?? HEAD_BYTES_MAX_DEFAULT;
}

function hostHeader(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Anything thrown, as an HttpError (unexpected ones keep their cause). */
export function asHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new HttpError('ERR_HTTP_PROTOCOL', `unexpected failure: ${message}`, { cause: error });
}
