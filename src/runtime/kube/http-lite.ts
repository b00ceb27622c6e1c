// Just enough HTTP/1.1 for health checks and probes: one request per
// connection, `Connection: close`, bodies bounded. The apiserver stand-in
// answers with it; the keepalived health check and the workers' probes ask.
import type { Platform, StreamSocket } from '../platform/types.js';
import { parseConnectResponse } from '../proxy/connect-client.js';

export const HTTP_HEAD_BYTES_MAX = 8 * 1024;
const HTTP_BODY_BYTES_MAX = 64 * 1024;

export interface HttpLiteResponse {
  status: number;
  body: string;
}

export class HttpLiteError extends Error {
  constructor(
    readonly code: 'ERR_HTTP_TIMEOUT' | 'ERR_HTTP_CONNECT' | 'ERR_HTTP_PROTOCOL',
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'HttpLiteError';
  }
}

/** GET `path` from host:port; rejects with HttpLiteError on timeout, connection failure or a garbled reply. */
export function httpGet(platform: Platform, options: { host: string; port: number; path: string; timeoutMs: number }): Promise<HttpLiteResponse> {
  return new Promise<HttpLiteResponse>((resolve, reject) => {
    const socket = platform.streams.connect({ host: options.host, port: options.port });
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const finish = (outcome: HttpLiteResponse | HttpLiteError): void => {
      if (settled) return;
      settled = true;
      platform.clock.clearTimer(timer);
      socket.destroy();
      if (outcome instanceof HttpLiteError) reject(outcome);
      else resolve(outcome);
    };
    const timer = platform.clock.setTimeout(
      () => finish(new HttpLiteError('ERR_HTTP_TIMEOUT', `no answer from ${options.host}:${options.port} within ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
    socket.on('connect', () => socket.write(`GET ${options.path} HTTP/1.1\r\nHost: ${options.host}\r\nConnection: close\r\n\r\n`));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > HTTP_HEAD_BYTES_MAX + HTTP_BODY_BYTES_MAX) finish(new HttpLiteError('ERR_HTTP_PROTOCOL', 'reply too large'));
      else chunks.push(chunk);
    });
    socket.on('end', () => finish(parseResponse(Buffer.concat(chunks))));
    socket.on('error', (error: Error) => finish(new HttpLiteError('ERR_HTTP_CONNECT', `${options.host}:${options.port}: ${error.message}`)));
  });
}

/** The whole reply (the server closes after it): the proxy client's status-line parser reads its head. */
function parseResponse(received: Buffer): HttpLiteResponse | HttpLiteError {
  const parsed = parseConnectResponse(received, HTTP_HEAD_BYTES_MAX);
  if (parsed.kind !== 'response') {
    const why = parsed.kind === 'error' ? parsed.reason : 'no end of head';
    return new HttpLiteError('ERR_HTTP_PROTOCOL', `not an HTTP reply (${why}): ${JSON.stringify(received.subarray(0, 40).toString('latin1'))}`);
  }
  return { status: parsed.status, body: parsed.rest.toString('utf8') };
}

/**
 * Serves one request on `socket` with `answer(method, path)`. A request head
 * that is too large or malformed gets a 400; nothing here throws.
 */
export function serveHttpLite(socket: StreamSocket, answer: (method: string, path: string) => HttpLiteResponse): void {
  let head = '';
  const reply = (response: HttpLiteResponse): void => {
    socket.removeAllListeners('data');
    const reason = response.status === 200 ? 'OK' : response.status === 404 ? 'Not Found' : response.status === 400 ? 'Bad Request' : 'Error';
    const body = Buffer.from(response.body, 'utf8');
    socket.end(`HTTP/1.1 ${response.status} ${reason}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${response.body}`);
  };
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    head += chunk.toString('latin1');
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) {
      if (head.length > HTTP_HEAD_BYTES_MAX) reply({ status: 400, body: 'request head too large\n' });
      return;
    }
    const match = /^([A-Z]+) (\S+) HTTP\/1\.[01]\r\n/.exec(head);
    if (match === null) reply({ status: 400, body: 'malformed request line\n' });
    else reply(answer(match[1]!, match[2]!));
  });
}
