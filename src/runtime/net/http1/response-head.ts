// The response head (RFC 9112 §4): `version SP status SP reason`, fields.
// Parsing is for the client, formatting for the server.
import { invalidArgument, protocolError } from './errors.js';
import { formatFieldLines, isFieldValue, parseFieldLines, quote, type HttpField, type HttpHeaders } from './header-fields.js';
import type { RawHead } from './head-reader.js';
import { parseHttpVersion, type HttpVersion } from './http-version.js';

export interface HttpResponseHead {
  httpVersion: HttpVersion;
  status: number;
  reason: string;
  headers: HttpHeaders;
  fields: HttpField[];
}

/** The reason is optional in practice ("HTTP/1.1 200" from some servers), so its space is too. */
const STATUS_LINE_PATTERN = /^(HTTP\/[0-9]\.[0-9]) ([0-9]{3})(?: (.*))?$/;

export function parseResponseHead(raw: RawHead): HttpResponseHead {
  const match = STATUS_LINE_PATTERN.exec(raw.startLine);
  if (match === null) throw protocolError(`malformed status line ${quote(raw.startLine)}`);
  const httpVersion = parseHttpVersion(match[1] as string);
  const status = Number(match[2]);
  if (status < 100 || status > 599) throw protocolError(`status ${status} outside 100-599`);
  const reason = match[3] ?? '';
  if (!isFieldValue(reason)) throw protocolError('control character in the reason phrase');
  const { headers, fields } = parseFieldLines(raw.fieldLines);
  return { httpVersion, status, reason, headers, fields };
}

const REASONS: Readonly<Record<number, string>> = {
  100: 'Continue',
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No Content',
  301: 'Moved Permanently',
  302: 'Found',
  304: 'Not Modified',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  411: 'Length Required',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  417: 'Expectation Failed',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
};

export function reasonPhrase(status: number): string {
  return REASONS[status] ?? '';
}

/** `HTTP/1.1 status reason`, the fields, the blank line. */
export function formatResponseHead(status: number, fields: Iterable<HttpField>): string {
  if (!Number.isInteger(status) || status < 100 || status > 599) throw invalidArgument(`status ${status} outside 100-599`);
  return `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\n${formatFieldLines(fields)}\r\n`;
}
