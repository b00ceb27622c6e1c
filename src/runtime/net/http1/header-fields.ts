// Field lines → fields in order plus a lowercase-keyed map, and the checks
// that keep one message from being read two ways (RFC 9110 §5, RFC 9112 §5).
//
// The map joins repeated fields with ", " (RFC 9110 §5.3: list-valued fields
// combine that way). Exceptions, where joining would change the meaning:
//  - Content-Length: repeats (or a list) are accepted only when every value
//    is the same decimal number (RFC 9112 §6.3), and the map holds it once;
//    anything else is rejected, since two parsers picking different values
//    is request smuggling.
//  - Host: a second one is rejected (RFC 9112 §3.2: the server MUST answer 400).
//  - Set-Cookie cannot be combined (RFC 9110 §5.3); the map keeps the first,
//    `fields` keeps them all. Nothing here uses cookies.
// The map has no prototype, so a field named `__proto__` is just a field.
import { invalidArgument, protocolError } from './errors.js';

export type HttpField = readonly [name: string, value: string];
export type HttpHeaders = Readonly<Record<string, string>>;

export interface ParsedFields {
  /** In order received; names lower-cased, values without surrounding whitespace. */
  fields: HttpField[];
  headers: HttpHeaders;
}

/** RFC 9110 §5.6.2 token. */
export const TOKEN_PATTERN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const DECIMAL_PATTERN = /^[0-9]+$/;
/** Beyond this many digits a length cannot be a safe integer. */
const CONTENT_LENGTH_DIGITS_MAX = 15;
const SP = 0x20;
const HTAB = 0x09;

export function parseFieldLines(lines: readonly string[]): ParsedFields {
  const fields: HttpField[] = [];
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const line of lines) {
    const [name, value] = parseFieldLine(line);
    fields.push([name, value]);
    const previous = headers[name];
    if (previous === undefined) headers[name] = value;
    else if (name === 'host') throw protocolError('more than one Host header');
    else if (name !== 'set-cookie') headers[name] = `${previous}, ${value}`;
  }
  const contentLength = headers['content-length'];
  if (contentLength !== undefined) headers['content-length'] = String(normalizeContentLength(contentLength));
  return { fields, headers };
}

function parseFieldLine(line: string): [string, string] {
  const first = line.charCodeAt(0);
  if (first === SP || first === HTAB) throw protocolError('obsolete line folding (obs-fold) in a header');
  const colon = line.indexOf(':');
  if (colon === -1) throw protocolError(`header line without a colon: ${quote(line)}`);
  const name = line.slice(0, colon);
  if (name === '') throw protocolError('empty header name');
  if (!TOKEN_PATTERN.test(name)) throw protocolError(`header name ${quote(name)} is not a token (whitespace before the colon?)`);
  const value = trimOws(line.slice(colon + 1));
  if (!isFieldValue(value)) throw protocolError(`control character in the value of header ${name}`);
  return [name.toLowerCase(), value];
}

/** The one length all Content-Length values agree on; throws when they do not. */
export function normalizeContentLength(combined: string): number {
  const values = combined.split(',').map(trimOws);
  let length: number | undefined;
  for (const value of values) {
    if (!DECIMAL_PATTERN.test(value)) throw protocolError(`non-numeric Content-Length ${quote(value)}`);
    if (value.length > CONTENT_LENGTH_DIGITS_MAX) throw protocolError(`Content-Length ${value} out of range`);
    const parsed = Number(value);
    if (length !== undefined && parsed !== length) throw protocolError(`conflicting Content-Length values ${quote(combined)}`);
    length = parsed;
  }
  // split() always yields at least one value, and each was checked above.
  return length as number;
}

export function trimOws(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isOws(text.charCodeAt(start))) start++;
  while (end > start && isOws(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}

function isOws(code: number): boolean {
  return code === SP || code === HTAB;
}

/** field-value: VCHAR, obs-text, SP and HTAB (RFC 9110 §5.5); no CR, LF, NUL or other controls. */
export function isFieldValue(value: string): boolean {
  for (let index = 0; index < value.length; index++) {
    const code = value.charCodeAt(index);
    if (code === 0x7f || (code < 0x20 && code !== HTAB) || code > 0xff) return false;
  }
  return true;
}

/** A short, printable rendering of untrusted text for error messages. */
export function quote(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);
}

/** Field lines ready for the wire, each ending in CRLF; throws ERR_HTTP_INVALID_ARGUMENT for what must not be sent. */
export function formatFieldLines(fields: Iterable<HttpField>): string {
  let text = '';
  for (const [name, value] of fields) {
    if (!TOKEN_PATTERN.test(name)) throw invalidArgument(`header name ${quote(name)} is not a token`);
    if (!isFieldValue(value)) throw invalidArgument(`header ${name} has a control character (CR, LF…) in its value`);
    text += `${name}: ${trimOws(value)}\r\n`;
  }
  return text;
}

/** Lower-cased names of `headers` (a record as callers write it), in order. */
export function fieldsOf(headers: Readonly<Record<string, string>> | undefined): HttpField[] {
  if (headers === undefined) return [];
  return Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value] as const);
}
