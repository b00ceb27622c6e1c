// One error class for everything HTTP/1.1 here, with a stable `code` callers
// branch on and a message that names what was wrong. `status` is the answer a
// server gives for a request that failed this way (400, 408, 413, 431, 501, 505).
//
// ERR_HTTP_CONNECT and ERR_HTTP_CLOSED are deliberately apart: CONNECT means
// no connection was ever established, so the request was certainly not
// processed and is always safe to retry; CLOSED means the connection broke
// after it was up, so the server may have acted on the request.

export type HttpErrorCode =
  /** The peer broke the protocol: malformed head, bad framing, smuggling-shaped input. */
  | 'ERR_HTTP_PROTOCOL'
  /** A bound was exceeded: head, header count, body, line, buffered bytes. */
  | 'ERR_HTTP_TOO_LARGE'
  /** A deadline passed (platform clock). */
  | 'ERR_HTTP_TIMEOUT'
  /** The connection could not be established; `causeCode` says why (ECONNREFUSED…). */
  | 'ERR_HTTP_CONNECT'
  /** The connection ended or failed before the message was complete. */
  | 'ERR_HTTP_CLOSED'
  /** The caller closed the exchange. */
  | 'ERR_HTTP_ABORTED'
  /** The caller asked for something this code will not put on the wire (a header with CRLF…). */
  | 'ERR_HTTP_INVALID_ARGUMENT';

export interface HttpErrorDetails {
  status?: number;
  /** The `code` of the underlying error (ECONNREFUSED, ECONNRESET…). */
  causeCode?: string;
  cause?: unknown;
  /**
   * ERR_HTTP_CLOSED only: the peer ended its stream cleanly (a FIN, no error)
   * before the message was complete. A tunnel that must never truncate
   * silently can be held to that: a cut-short answer should be a reset.
   */
  cleanEnd?: boolean;
}

export class HttpError extends Error {
  readonly code: HttpErrorCode;
  readonly status: number | undefined;
  readonly causeCode: string | undefined;
  /** See HttpErrorDetails.cleanEnd. */
  readonly cleanEnd: boolean;
  /** The message without its code: what a server puts in a 4xx body. */
  readonly detail: string;

  constructor(code: HttpErrorCode, message: string, details: HttpErrorDetails = {}) {
    super(`${code}: ${message}`, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'HttpError';
    this.code = code;
    this.detail = message;
    this.status = details.status;
    this.causeCode = details.causeCode;
    this.cleanEnd = details.cleanEnd ?? false;
  }
}

export function protocolError(message: string, status = 400): HttpError {
  return new HttpError('ERR_HTTP_PROTOCOL', message, { status });
}

export function tooLargeError(message: string, status: number): HttpError {
  return new HttpError('ERR_HTTP_TOO_LARGE', message, { status });
}

export function invalidArgument(message: string): HttpError {
  return new HttpError('ERR_HTTP_INVALID_ARGUMENT', message);
}
