// A sans-IO parser for the head of an HTTP/1.x proxy request (RFC 9112 §3,
// RFC 9110 §9.3.6 CONNECT). Feed it the bytes as they arrive; it answers
// 'need-more' until the head is complete, then the request (and the bytes
// that followed the head), or the first error. It never throws, buffers at
// most `headBytesMax` bytes, and gives the same answer however the input is
// split into chunks.
//
// Choices where the RFC leaves room, made for a proxy that faces clients it
// does not know:
//  - Lines end in CRLF; a bare LF is accepted as well (as nginx, Node and
//    haproxy accept it). A CR anywhere else is an error.
//  - Empty lines before the request line are skipped (RFC 9112 §2.2).
//  - The request line is exactly `method SP target SP version`, single spaces.
//  - The head (request line, headers, blank line) is at most headBytesMax
//    bytes (8 KiB): longer is 431; more than headerCountMax headers is 431.
//  - Only CONNECT is served (405, the driver adds `Allow: CONNECT`);
//    HTTP/1.0 and HTTP/1.1 only (other versions are 505).
//  - No obs-fold, no whitespace between a field name and its colon, no
//    control characters in values (400): ambiguous heads are how requests get
//    smuggled past a proxy.
//  - A CONNECT has no content (RFC 9110 §9.3.6): Transfer-Encoding, or a
//    Content-Length other than 0, is 400 rather than a guess at where the
//    tunnel starts. Two Host fields are 400; a missing Host is tolerated,
//    since the target already names the authority.

export interface ConnectRequestParserOptions {
  /** Bound on the whole head, blank line included. Default 8192. */
  headBytesMax?: number;
  /** Bound on the number of header fields. Default 100. */
  headerCountMax?: number;
}

export interface ConnectNeedMore {
  kind: 'need-more';
}

export interface ConnectRequest {
  kind: 'request';
  method: 'CONNECT';
  /** The request target as sent (authority-form). */
  target: string;
  /** Host name or address, IPv6 without its brackets. */
  host: string;
  port: number;
  httpVersion: '1.0' | '1.1';
  /** In order received; names lower-cased, values without surrounding whitespace. */
  headers: [name: string, value: string][];
  /** Bytes that followed the head in the chunk that completed it (a view of that chunk). */
  rest: Buffer;
}

export type ConnectParseErrorCode =
  | 'ERR_PROXY_HEAD_TOO_LARGE'
  | 'ERR_PROXY_TOO_MANY_HEADERS'
  | 'ERR_PROXY_BAD_LINE_ENDING'
  | 'ERR_PROXY_BAD_REQUEST_LINE'
  | 'ERR_PROXY_VERSION_NOT_SUPPORTED'
  | 'ERR_PROXY_METHOD_NOT_ALLOWED'
  | 'ERR_PROXY_BAD_TARGET'
  | 'ERR_PROXY_OBS_FOLD'
  | 'ERR_PROXY_BAD_HEADER_NAME'
  | 'ERR_PROXY_BAD_HEADER_VALUE'
  | 'ERR_PROXY_DUPLICATE_HOST'
  | 'ERR_PROXY_UNEXPECTED_BODY';

export type ConnectParseErrorStatus = 400 | 405 | 431 | 505;

export interface ConnectParseError {
  kind: 'error';
  status: ConnectParseErrorStatus;
  code: ConnectParseErrorCode;
  reason: string;
}

export type ConnectParseResult = ConnectNeedMore | ConnectRequest | ConnectParseError;

export const headBytesMaxDefault = 8192;
export const headerCountMaxDefault = 100;
const headBytesMaxLimit = 1024 * 1024;
const headerCountMaxLimit = 10_000;
const headBytesInitial = 1024;

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HTAB = 0x09;
const needMore: ConnectNeedMore = Object.freeze({ kind: 'need-more' });

/** RFC 9110 token characters. */
const tokenPattern = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const versionPattern = /^HTTP\/([0-9])\.([0-9])$/;
/** DNS-ish names and IPv4 literals; no userinfo, no percent-encoding. */
const regNamePattern = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,252})$/;
const ipv6LiteralPattern = /^[0-9A-Fa-f:.]{2,45}$/;
const portPattern = /^[0-9]{1,5}$/;

/** Incremental parser for one request head; make a new one per connection. */
export class ConnectRequestParser {
  readonly #headBytesMax: number;
  readonly #headerCountMax: number;
  /** Grows by doubling up to #headBytesMax; most heads fit the first allocation. */
  #head: Buffer;
  #headLength = 0;
  #lineStart = 0;
  #requestLine: Omit<ConnectRequest, 'kind' | 'headers' | 'rest'> | undefined;
  readonly #headers: [string, string][] = [];
  #result: ConnectRequest | ConnectParseError | undefined;

  constructor(options: ConnectRequestParserOptions = {}) {
    this.#headBytesMax = checkBound('headBytesMax', options.headBytesMax ?? headBytesMaxDefault, headBytesMaxLimit);
    this.#headerCountMax = checkBound('headerCountMax', options.headerCountMax ?? headerCountMaxDefault, headerCountMaxLimit);
    this.#head = Buffer.alloc(Math.min(headBytesInitial, this.#headBytesMax));
  }

  /**
   * Consumes `chunk`. After a 'request' or 'error' the parser is done: later
   * calls return that same result and ignore their input.
   */
  push(chunk: Buffer): ConnectParseResult {
    if (this.#result !== undefined) return this.#result;
    let position = 0;
    while (position < chunk.length) {
      const lineFeedAt = chunk.indexOf(LF, position);
      const segmentEnd = lineFeedAt === -1 ? chunk.length : lineFeedAt + 1;
      const segmentLength = segmentEnd - position;
      if (this.#headLength + segmentLength > this.#headBytesMax) {
        return this.#finish(fail(431, 'ERR_PROXY_HEAD_TOO_LARGE', `request head exceeds ${this.#headBytesMax} bytes`));
      }
      this.#reserve(this.#headLength + segmentLength);
      chunk.copy(this.#head, this.#headLength, position, segmentEnd);
      this.#headLength += segmentLength;
      position = segmentEnd;
      if (lineFeedAt === -1) break;

      const outcome = this.#onLine();
      if (outcome === 'done') return this.#finish(this.#request(chunk.subarray(position)));
      if (outcome !== undefined) return this.#finish(outcome);
    }
    return needMore;
  }

  #reserve(length: number): void {
    if (length <= this.#head.length) return;
    let capacity = this.#head.length;
    while (capacity < length) capacity *= 2;
    const grown = Buffer.alloc(Math.min(capacity, this.#headBytesMax));
    this.#head.copy(grown, 0, 0, this.#headLength);
    this.#head = grown;
  }

  #finish(result: ConnectRequest | ConnectParseError): ConnectRequest | ConnectParseError {
    this.#result = result;
    return result;
  }

  /** Handles the line that ends at #headLength - 1 (its LF). */
  #onLine(): ConnectParseError | 'done' | undefined {
    const lineFeedAt = this.#headLength - 1;
    let contentEnd = lineFeedAt;
    if (contentEnd > this.#lineStart && this.#head[contentEnd - 1] === CR) contentEnd -= 1;
    const contentStart = this.#lineStart;
    this.#lineStart = this.#headLength;

    if (this.#head.subarray(contentStart, contentEnd).includes(CR)) return fail(400, 'ERR_PROXY_BAD_LINE_ENDING', 'bare CR in the request head');
    const line = this.#head.toString('latin1', contentStart, contentEnd);

    if (this.#requestLine === undefined) {
      if (line === '') return undefined; // a stray CRLF before the request line
      const parsed = parseRequestLine(line);
      if (parsed.kind === 'error') return parsed;
      this.#requestLine = parsed.requestLine;
      return undefined;
    }
    if (line === '') return 'done';
    if (this.#headers.length >= this.#headerCountMax) {
      return fail(431, 'ERR_PROXY_TOO_MANY_HEADERS', `more than ${this.#headerCountMax} header fields`);
    }
    const header = parseHeaderLine(line);
    if (!Array.isArray(header)) return header;
    this.#headers.push(header);
    return undefined;
  }

  #request(rest: Buffer): ConnectRequest | ConnectParseError {
    const requestLine = this.#requestLine;
    // #onLine only reports 'done' after a request line.
    if (requestLine === undefined) return fail(400, 'ERR_PROXY_BAD_REQUEST_LINE', 'no request line');
    const problem = checkHeaderSemantics(this.#headers);
    if (problem !== undefined) return problem;
    return { kind: 'request', ...requestLine, headers: this.#headers, rest };
  }
}

/** Parses a complete head in one go (same rules as the incremental parser). */
export function parseConnectRequest(head: Buffer, options?: ConnectRequestParserOptions): ConnectParseResult {
  return new ConnectRequestParser(options).push(head);
}

type RequestLineResult =
  | { kind: 'ok'; requestLine: Omit<ConnectRequest, 'kind' | 'headers' | 'rest'> }
  | ConnectParseError;

function parseRequestLine(line: string): RequestLineResult {
  const parts = line.split(' ');
  const [method, target, version] = parts;
  if (parts.length !== 3 || method === undefined || target === undefined || version === undefined) {
    return fail(400, 'ERR_PROXY_BAD_REQUEST_LINE', 'request line is not "method target version"');
  }
  if (!tokenPattern.test(method)) return fail(400, 'ERR_PROXY_BAD_REQUEST_LINE', 'method is not a token');
  const versionMatch = versionPattern.exec(version);
  if (versionMatch === null) return fail(400, 'ERR_PROXY_BAD_REQUEST_LINE', 'malformed HTTP version');
  if (version !== 'HTTP/1.0' && version !== 'HTTP/1.1') {
    return fail(505, 'ERR_PROXY_VERSION_NOT_SUPPORTED', `${version} is not supported`);
  }
  if (method !== 'CONNECT') return fail(405, 'ERR_PROXY_METHOD_NOT_ALLOWED', `method ${method} is not allowed; only CONNECT`);
  const authority = parseAuthority(target);
  if (authority === undefined) return fail(400, 'ERR_PROXY_BAD_TARGET', 'target is not host:port with a port in 1-65535');
  return {
    kind: 'ok',
    requestLine: { method: 'CONNECT', target, host: authority.host, port: authority.port, httpVersion: version === 'HTTP/1.0' ? '1.0' : '1.1' },
  };
}

/** Authority-form `host:port` (RFC 9112 §3.2.3), or undefined. */
function parseAuthority(target: string): { host: string; port: number } | undefined {
  let host: string;
  let portText: string;
  if (target.startsWith('[')) {
    const close = target.indexOf(']');
    if (close === -1 || target[close + 1] !== ':') return undefined;
    host = target.slice(1, close);
    portText = target.slice(close + 2);
    if (!ipv6LiteralPattern.test(host) || host.split(':').length < 3) return undefined;
  } else {
    const colon = target.indexOf(':');
    if (colon === -1 || colon !== target.lastIndexOf(':')) return undefined;
    host = target.slice(0, colon);
    portText = target.slice(colon + 1);
    if (!regNamePattern.test(host) || host.includes('..')) return undefined;
  }
  if (!portPattern.test(portText)) return undefined;
  const port = Number(portText);
  if (port < 1 || port > 65535) return undefined;
  return { host, port };
}

function parseHeaderLine(line: string): [string, string] | ConnectParseError {
  const first = line.charCodeAt(0);
  if (first === SP || first === HTAB) return fail(400, 'ERR_PROXY_OBS_FOLD', 'obsolete line folding in a header');
  const colon = line.indexOf(':');
  if (colon === -1) return fail(400, 'ERR_PROXY_BAD_HEADER_NAME', 'header line without a colon');
  const name = line.slice(0, colon);
  if (!tokenPattern.test(name)) return fail(400, 'ERR_PROXY_BAD_HEADER_NAME', 'header name is not a token (whitespace before the colon?)');
  const value = trimOws(line.slice(colon + 1));
  if (!isFieldValue(value)) return fail(400, 'ERR_PROXY_BAD_HEADER_VALUE', `control character in header ${name}`);
  return [name.toLowerCase(), value];
}

function trimOws(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isOws(text.charCodeAt(start))) start += 1;
  while (end > start && isOws(text.charCodeAt(end - 1))) end -= 1;
  return text.slice(start, end);
}

function isOws(code: number): boolean {
  return code === SP || code === HTAB;
}

/** field-value: VCHAR, obs-text, SP and HTAB (RFC 9110 §5.5). */
function isFieldValue(value: string): boolean {
  for (let index = 0; index < value.length; index += 1) {
    const code = value.charCodeAt(index);
    if (code === 0x7f || (code < 0x20 && code !== HTAB)) return false;
  }
  return true;
}

function checkHeaderSemantics(headers: readonly [string, string][]): ConnectParseError | undefined {
  let hostCount = 0;
  for (const [name, value] of headers) {
    if (name === 'host') hostCount += 1;
    if (name === 'transfer-encoding') return fail(400, 'ERR_PROXY_UNEXPECTED_BODY', 'CONNECT with Transfer-Encoding');
    if (name === 'content-length' && value !== '0') return fail(400, 'ERR_PROXY_UNEXPECTED_BODY', 'CONNECT with content');
  }
  if (hostCount > 1) return fail(400, 'ERR_PROXY_DUPLICATE_HOST', 'more than one Host header');
  return undefined;
}

function fail(status: ConnectParseErrorStatus, code: ConnectParseErrorCode, reason: string): ConnectParseError {
  return { kind: 'error', status, code, reason };
}

/** Options are configuration, not input: a bad one is a programming error. */
function checkBound(name: string, value: number, limit: number): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > limit) {
    throw new RangeError(`ConnectRequestParser: ${name} must be an integer in [1, ${limit}], got ${value}`);
  }
  return value;
}
