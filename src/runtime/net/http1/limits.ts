// Default bounds, shared by client and server. Every one can be overridden
// per call; none can be switched off, since each guards a buffer.

/** Whole head, start line to blank line. Go's net/http allows 1 MiB; 16 KiB is ample for JSON APIs. */
export const HEAD_BYTES_MAX_DEFAULT = 16 * 1024;
export const HEADER_COUNT_MAX_DEFAULT = 100;
/** A chunk-size line, extensions included: real ones are a few bytes. */
export const CHUNK_LINE_BYTES_MAX = 1024;
/** Trailer section of a chunked body (skipped, but bounded while skipped). */
export const TRAILER_BYTES_MAX = 16 * 1024;
/** 1xx interim responses skipped before the final one. */
export const INTERIM_RESPONSES_MAX = 8;

/** Client: a whole response body. etcd range responses over a few MiB are a design smell here. */
export const CLIENT_BODY_BYTES_MAX_DEFAULT = 16 * 1024 * 1024;
/** Client streams: one newline-delimited line (an etcd watch response). */
export const STREAM_LINE_BYTES_MAX_DEFAULT = 4 * 1024 * 1024;

/** Server: a whole request body (etcd's own default request limit is 1.5 MiB). */
export const SERVER_BODY_BYTES_MAX_DEFAULT = 2 * 1024 * 1024;
export const SERVER_HEAD_TIMEOUT_MS_DEFAULT = 10_000;
export const SERVER_BODY_TIMEOUT_MS_DEFAULT = 30_000;
export const SERVER_CONNECTIONS_MAX_DEFAULT = 1024;
/** Bytes a streaming response may have queued on one socket before the writer is cut off. */
export const SERVER_STREAM_BUFFERED_BYTES_MAX_DEFAULT = 4 * 1024 * 1024;
/** After the response, how long to wait for the client's FIN before closing anyway. */
export const SERVER_LINGER_MS_DEFAULT = 2_000;

/** Options are configuration, not input: a bad one is a programming error. */
export function checkBound(name: string, value: number, limit: number): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > limit) {
    throw new RangeError(`http1: ${name} must be an integer in [1, ${limit}], got ${value}`);
  }
  return value;
}
