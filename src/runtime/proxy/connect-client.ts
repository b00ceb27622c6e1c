// The client side of an HTTP CONNECT tunnel: dial the proxy, ask for the
// target, and hand back the socket once the proxy answers 200. The response
// head parser is sans-IO and bounded; bytes the proxy sent after the head are
// put back on the socket for the caller.
import type { Clock, StreamSocket, Streams } from '../platform/types.js';
import { PlatformError } from '../platform/errors.js';

export type ProxyDialErrorCode =
  | 'ERR_PROXY_AUTH_REQUIRED'
  | 'ERR_PROXY_FORBIDDEN'
  | 'ERR_PROXY_UPSTREAM'
  | 'ERR_PROXY_REFUSED'
  | 'ERR_PROXY_BAD_RESPONSE'
  | 'ERR_PROXY_CLOSED';

export class ProxyDialError extends Error {
  readonly code: ProxyDialErrorCode;
  readonly status: number | undefined;
  constructor(code: ProxyDialErrorCode, message: string, status?: number) {
    super(`${code}: ${message}`);
    this.name = 'ProxyDialError';
    this.code = code;
    this.status = status;
  }
}

export type ConnectResponseParse =
  | { kind: 'need-more' }
  | { kind: 'response'; status: number; reason: string; rest: Buffer }
  | { kind: 'error'; reason: string };

const HEAD_BYTES_MAX_DEFAULT = 8192;
const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/;

/** Parses a proxy's response head from everything received so far. */
export function parseConnectResponse(received: Buffer, headBytesMax = HEAD_BYTES_MAX_DEFAULT): ConnectResponseParse {
  const end = received.indexOf('\r\n\r\n');
  if (end < 0) {
    return received.length > headBytesMax
      ? { kind: 'error', reason: `response head exceeds ${headBytesMax} bytes` }
      : { kind: 'need-more' };
  }
  if (end + 4 > headBytesMax) return { kind: 'error', reason: `response head exceeds ${headBytesMax} bytes` };
  const head = received.subarray(0, end).toString('latin1');
  const statusLine = head.split('\r\n', 1)[0] ?? '';
  const match = STATUS_LINE.exec(statusLine);
  if (match === null) return { kind: 'error', reason: `malformed status line "${statusLine.slice(0, 80)}"` };
  return { kind: 'response', status: Number(match[1]), reason: match[2] ?? '', rest: received.subarray(end + 4) };
}

export interface ProxyDialOptions {
  proxy: { host: string; port: number };
  target: { host: string; port: number };
  auth?: { username: string; password: string };
  allowHalfOpen?: boolean;
  keepAliveIdleMs?: number;
  /** Bound on reaching the proxy and getting its answer. */
  timeoutMs?: number;
}

const DIAL_TIMEOUT_MS_DEFAULT = 30_000;

export function dialViaProxy(streams: Streams, clock: Clock, options: ProxyDialOptions): Promise<StreamSocket> {
  const { proxy, target } = options;
  const socket = streams.connect({
    host: proxy.host,
    port: proxy.port,
    allowHalfOpen: options.allowHalfOpen ?? false,
    ...(options.keepAliveIdleMs === undefined ? {} : { keepAliveIdleMs: options.keepAliveIdleMs }),
  });
  return new Promise<StreamSocket>((resolve, reject) => {
    let received = Buffer.alloc(0);
    const finish = (error: Error | undefined): void => {
      clock.clearTimer(timer);
      socket.off('readable', onReadable);
      socket.off('error', onError);
      socket.off('end', onEnd);
      socket.off('connect', onConnect);
      if (error === undefined) {
        resolve(socket);
      } else {
        socket.destroy();
        reject(error);
      }
    };
    const timer = clock.setTimeout(() => {
      finish(new PlatformError('ETIMEDOUT', `no answer from proxy ${proxy.host}:${proxy.port} within ${options.timeoutMs ?? DIAL_TIMEOUT_MS_DEFAULT} ms`));
    }, options.timeoutMs ?? DIAL_TIMEOUT_MS_DEFAULT);
    const onConnect = (): void => {
      const authority = `${target.host}:${target.port}`;
      let request = `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n`;
      if (options.auth !== undefined) {
        const token = Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64');
        request += `Proxy-Authorization: Basic ${token}\r\n`;
      }
      socket.write(request + '\r\n');
    };
    const onReadable = (): void => {
      for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) {
        received = Buffer.concat([received, chunk]);
        const parsed = parseConnectResponse(received);
        if (parsed.kind === 'need-more') continue;
        if (parsed.kind === 'error') {
          finish(new ProxyDialError('ERR_PROXY_BAD_RESPONSE', `proxy ${proxy.host}:${proxy.port}: ${parsed.reason}`));
          return;
        }
        if (parsed.status !== 200) {
          finish(statusError(parsed.status, parsed.reason, `${target.host}:${target.port}`));
          return;
        }
        finish(undefined);
        if (parsed.rest.length > 0) socket.unshift(parsed.rest);
        return;
      }
    };
    const onError = (error: Error): void => finish(error);
    const onEnd = (): void => {
      finish(new ProxyDialError('ERR_PROXY_CLOSED', `proxy ${proxy.host}:${proxy.port} closed before answering`));
    };
    socket.once('connect', onConnect);
    socket.on('readable', onReadable);
    socket.once('error', onError);
    socket.once('end', onEnd);
  });
}

function statusError(status: number, reason: string, target: string): ProxyDialError {
  const text = `proxy answered ${status} ${reason} for ${target}`;
  if (status === 407) return new ProxyDialError('ERR_PROXY_AUTH_REQUIRED', text, status);
  if (status === 403) return new ProxyDialError('ERR_PROXY_FORBIDDEN', text, status);
  if (status === 502 || status === 504) return new ProxyDialError('ERR_PROXY_UPSTREAM', text, status);
  return new ProxyDialError('ERR_PROXY_REFUSED', text, status);
}
