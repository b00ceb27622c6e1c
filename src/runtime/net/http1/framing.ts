// Where a message body ends (RFC 9112 §6.3), decided from the head alone.
// The order follows the RFC; the refusals are the smuggling hygiene: a
// message that two parsers could frame differently is rejected, not guessed.
//  - Content-Length and Transfer-Encoding together: rejected (the RFC allows
//    "TE wins", but a front end that picked CL would see another request).
//  - Transfer-Encoding must be exactly `chunked`: other codings are not
//    implemented (501 on a request), and chunked not last, or twice, is 400.
//  - Transfer-Encoding in an HTTP/1.0 message is faulty framing (§6.1).
import { protocolError } from './errors.js';
import { normalizeContentLength, quote, trimOws, type HttpHeaders } from './header-fields.js';
import type { HttpVersion } from './http-version.js';

export type BodyFraming =
  | { kind: 'none' }
  | { kind: 'length'; bytes: number }
  | { kind: 'chunked' }
  /** Responses only: the body is whatever arrives before the server closes. */
  | { kind: 'until-close' };

interface FramedHead {
  httpVersion: HttpVersion;
  headers: HttpHeaders;
}

/** A request has a body only when it says so: no framing fields means none (§6.3 rule 7). */
export function requestBodyFraming(head: FramedHead): BodyFraming {
  const declared = declaredFraming(head);
  if (declared === undefined) return { kind: 'none' };
  return declared;
}

/** `requestMethod` matters: the answer to HEAD never has a body, whatever its fields say. */
export function responseBodyFraming(requestMethod: string, status: number, head: FramedHead): BodyFraming {
  if (requestMethod === 'HEAD' || (status >= 100 && status < 200) || status === 204 || status === 304) return { kind: 'none' };
  const declared = declaredFraming(head);
  if (declared === undefined) return { kind: 'until-close' };
  return declared;
}

function declaredFraming(head: FramedHead): BodyFraming | undefined {
  const transferEncoding = head.headers['transfer-encoding'];
  const contentLength = head.headers['content-length'];
  if (transferEncoding !== undefined) {
    if (contentLength !== undefined) throw protocolError('both Content-Length and Transfer-Encoding');
    if (head.httpVersion === '1.0') throw protocolError('Transfer-Encoding in an HTTP/1.0 message');
    checkTransferCodings(transferEncoding);
    return { kind: 'chunked' };
  }
  if (contentLength !== undefined) {
    const bytes = normalizeContentLength(contentLength);
    return bytes === 0 ? { kind: 'none' } : { kind: 'length', bytes };
  }
  return undefined;
}

function checkTransferCodings(transferEncoding: string): void {
  const codings = transferEncoding
    .split(',')
    .map((coding) => trimOws(coding).toLowerCase())
    .filter((coding) => coding !== '');
  if (codings.length === 0) throw protocolError('empty Transfer-Encoding');
  const chunkedAt = codings.indexOf('chunked');
  if (chunkedAt !== codings.lastIndexOf('chunked')) throw protocolError('chunked transfer coding applied twice');
  if (chunkedAt !== -1 && chunkedAt !== codings.length - 1) throw protocolError('chunked is not the final transfer coding');
  if (chunkedAt === -1) throw protocolError(`Transfer-Encoding ${quote(transferEncoding)} does not end in chunked`);
  const other = codings.find((coding) => coding !== 'chunked');
  if (other !== undefined) throw protocolError(`transfer coding ${quote(other)} is not implemented`, 501);
}
