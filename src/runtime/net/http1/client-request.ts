// httpRequest: one request, the whole response in memory (bounded), one
// deadline on the platform clock covering connect, send, head and body.
import type { Platform, TimerHandle } from '../../platform/types.js';
import { HttpError } from './errors.js';
import type { HttpField, HttpHeaders } from './header-fields.js';
import { startExchange } from './client-exchange.js';
import { checkTimeout, formatRequest, type HttpClientOptions } from './client-options.js';
import { checkBound, CLIENT_BODY_BYTES_MAX_DEFAULT } from './limits.js';

export interface HttpRequestOptions extends HttpClientOptions {
  /** Deadline for the whole exchange; ERR_HTTP_TIMEOUT after it. */
  timeoutMs: number;
  /** Bound on the response body; ERR_HTTP_TOO_LARGE beyond it. Default 16 MiB. */
  bodyBytesMax?: number;
}

export interface HttpClientResponse {
  status: number;
  reason: string;
  headers: HttpHeaders;
  fields: HttpField[];
  body: Buffer;
}

const BODY_BYTES_MAX_LIMIT = 1024 * 1024 * 1024;

/**
 * Sends one request on a fresh connection and resolves with the response.
 * Rejects with HttpError: ERR_HTTP_CONNECT (never connected; `causeCode`
 * says why), ERR_HTTP_CLOSED (connection broke mid-exchange), ERR_HTTP_TIMEOUT,
 * ERR_HTTP_TOO_LARGE, ERR_HTTP_PROTOCOL, ERR_HTTP_INVALID_ARGUMENT.
 * Any status is a response, not an error.
 */
export function httpRequest(platform: Platform, options: HttpRequestOptions): Promise<HttpClientResponse> {
  return new Promise<HttpClientResponse>((resolve, reject) => {
    const timeoutMs = checkTimeout('timeoutMs', options.timeoutMs);
    const bodyBytesMax = checkBound('bodyBytesMax', options.bodyBytesMax ?? CLIENT_BODY_BYTES_MAX_DEFAULT, BODY_BYTES_MAX_LIMIT);
    const request = formatRequest(options);
    const chunks: Buffer[] = [];
    let response: Omit<HttpClientResponse, 'body'> | undefined;
    const timer: TimerHandle = platform.clock.setTimeout(() => {
      const phase = response === undefined ? 'no response head' : 'response body incomplete';
      exchange.fail(new HttpError('ERR_HTTP_TIMEOUT', `${options.method} ${options.path} to ${options.host}:${options.port}: ${phase} after ${timeoutMs} ms`));
    }, timeoutMs);
    const exchange = startExchange(platform, options, request, bodyBytesMax, {
      onHead: (head) => {
        response = { status: head.status, reason: head.reason, headers: head.headers, fields: head.fields };
      },
      onBody: (data) => chunks.push(data),
      onEnd: () => {
        platform.clock.clearTimer(timer);
        // onEnd follows onHead: the exchange only ends cleanly with a head.
        resolve({ ...(response as Omit<HttpClientResponse, 'body'>), body: Buffer.concat(chunks) });
      },
      onError: (error) => {
        platform.clock.clearTimer(timer);
        reject(error);
      },
    });
  });
}
