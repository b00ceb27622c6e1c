// The status endpoint: HTTP/1.1 on 127.0.0.1, one request per connection.
// GET /metrics (or /) answers the Prometheus text; anything else 404/405.
// Bounded: request head size, time to send it, connections at once.
import type { Platform, StreamListener, StreamSocket } from '../platform/types.js';
import { LOOPBACK_HOST } from './config.js';

const HEAD_BYTES_MAX = 8 * 1024;
const HEAD_TIMEOUT_MS = 5_000;
const CONNECTIONS_MAX = 16;

export async function startStatusEndpoint(platform: Platform, port: number, render: () => string): Promise<StreamListener> {
  let open = 0;
  return platform.streams.listen({ host: LOOPBACK_HOST, port }, (socket) => {
    socket.on('error', () => undefined);
    if (open >= CONNECTIONS_MAX) {
      socket.resetAndDestroy();
      return;
    }
    open += 1;
    socket.once('close', () => {
      open -= 1;
    });
    serve(platform, socket, render);
  });
}

function serve(platform: Platform, socket: StreamSocket, render: () => string): void {
  let head = '';
  let answered = false;
  const timer = platform.clock.setTimeout(() => socket.destroy(), HEAD_TIMEOUT_MS);
  socket.once('close', () => platform.clock.clearTimer(timer));
  const reply = (status: string, body: string, contentType = 'text/plain; charset=utf-8'): void => {
    answered = true;
    platform.clock.clearTimer(timer);
    socket.removeAllListeners('data');
    const bytes = Buffer.from(body, 'utf8');
    socket.end(`HTTP/1.1 ${status}\r\nContent-Type: ${contentType}\r\nContent-Length: ${bytes.length}\r\nConnection: close\r\n\r\n${body}`);
  };
  socket.on('data', (chunk: Buffer) => {
    if (answered) return;
    head += chunk.toString('latin1');
    if (head.indexOf('\r\n\r\n') < 0) {
      if (head.length > HEAD_BYTES_MAX) reply('431 Request Header Fields Too Large', 'request head too large\n');
      return;
    }
    const match = /^([A-Z]+) (\S+) HTTP\/1\.[01]\r\n/.exec(head);
    if (match === null) return reply('400 Bad Request', 'malformed request line\n');
    const [, method, path] = match;
    if (method !== 'GET') return reply('405 Method Not Allowed', 'GET only\n');
    if (path !== '/metrics' && path !== '/') return reply('404 Not Found', 'try /metrics\n');
    reply('200 OK', render(), 'text/plain; version=0.0.4; charset=utf-8');
  });
}
