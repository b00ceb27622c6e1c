// The protocol versions spoken here: HTTP/1.0 and HTTP/1.1 (RFC 9112 §2.3).
import { protocolError } from './errors.js';

export type HttpVersion = '1.0' | '1.1';

const VERSION_PATTERN = /^HTTP\/([0-9])\.([0-9])$/;

/** Throws 505 for a well-formed version this code does not speak, 400 for a malformed one. */
export function parseHttpVersion(text: string): HttpVersion {
  const match = VERSION_PATTERN.exec(text);
  if (match === null) throw protocolError(`malformed HTTP version ${JSON.stringify(text.slice(0, 20))}`);
  if (text === 'HTTP/1.1') return '1.1';
  if (text === 'HTTP/1.0') return '1.0';
  throw protocolError(`${text} is not supported (HTTP/1.0 and HTTP/1.1 only)`, 505);
}
