// The request head (RFC 9112 §3): `method SP target SP version`, fields.
// Parsing is for the server, formatting for the client; both refuse what
// could be read two ways.
import { invalidArgument, protocolError } from './errors.js';
import { formatFieldLines, parseFieldLines, quote, TOKEN_PATTERN, type HttpField, type HttpHeaders } from './header-fields.js';
import type { RawHead } from './head-reader.js';
import { parseHttpVersion, type HttpVersion } from './http-version.js';

export interface HttpRequestHead {
  method: string;
  /** The request target in origin-form (`/path?query`), or `*` for OPTIONS. */
  target: string;
  httpVersion: HttpVersion;
  headers: HttpHeaders;
  fields: HttpField[];
}

/** Visible ASCII only: no spaces, controls or raw non-ASCII bytes (RFC 3986 characters are a subset). */
const TARGET_PATTERN = /^[\x21-\x7e]+$/;
/** absolute-form (RFC 9112 §3.2.2), which a server must accept: the path is what routes. */
const ABSOLUTE_FORM_PATTERN = /^https?:\/\/[^/?#]+([/?][^#]*)?$/i;

export function parseRequestHead(raw: RawHead): HttpRequestHead {
  const parts = raw.startLine.split(' ');
  const [method, target, version] = parts;
  if (parts.length !== 3 || method === undefined || target === undefined || version === undefined) {
    throw protocolError(`request line is not "method target version": ${quote(raw.startLine)}`);
  }
  if (!TOKEN_PATTERN.test(method)) throw protocolError(`method ${quote(method)} is not a token`);
  const httpVersion = parseHttpVersion(version);
  const originTarget = toOriginForm(method, target);
  const { headers, fields } = parseFieldLines(raw.fieldLines);
  if (httpVersion === '1.1' && headers['host'] === undefined) throw protocolError('HTTP/1.1 request without a Host header');
  return { method, target: originTarget, httpVersion, headers, fields };
}

function toOriginForm(method: string, target: string): string {
  if (!TARGET_PATTERN.test(target)) throw protocolError(`request target ${quote(target)} has characters outside visible ASCII`);
  if (target.startsWith('/')) return target;
  if (target === '*' && method === 'OPTIONS') return target;
  const absolute = ABSOLUTE_FORM_PATTERN.exec(target);
  if (absolute !== null) {
    const pathAndQuery = absolute[1] ?? '/';
    return pathAndQuery.startsWith('?') ? `/${pathAndQuery}` : pathAndQuery;
  }
  throw protocolError(`request target ${quote(target)} is neither origin-form nor absolute-form`);
}

export interface RequestHeadToFormat {
  method: string;
  target: string;
  fields: Iterable<HttpField>;
}

/** `METHOD target HTTP/1.1`, the fields, the blank line. */
export function formatRequestHead(head: RequestHeadToFormat): string {
  if (!TOKEN_PATTERN.test(head.method)) throw invalidArgument(`method ${quote(head.method)} is not a token`);
  if (!TARGET_PATTERN.test(head.target) || !(head.target.startsWith('/') || head.target === '*')) {
    throw invalidArgument(`path ${quote(head.target)} must start with "/" and hold visible ASCII only (percent-encode the rest)`);
  }
  return `${head.method} ${head.target} HTTP/1.1\r\n${formatFieldLines(head.fields)}\r\n`;
}
