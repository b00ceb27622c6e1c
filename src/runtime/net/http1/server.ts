// serveHttp: listen, bound the number of open connections, serve each with
// serveConnection, and close everything on close().
import type { Platform, StreamSocket } from '../../platform/types.js';
import { serveConnection, type ServerLimits } from './server-connection.js';
import { formatErrorResponse } from './server-response.js';
import type { HttpHandler } from './server-types.js';
import {
  checkBound,
  HEAD_BYTES_MAX_DEFAULT,
  HEADER_COUNT_MAX_DEFAULT,
  SERVER_BODY_BYTES_MAX_DEFAULT,
  SERVER_BODY_TIMEOUT_MS_DEFAULT,
  SERVER_CONNECTIONS_MAX_DEFAULT,
  SERVER_HEAD_TIMEOUT_MS_DEFAULT,
  SERVER_LINGER_MS_DEFAULT,
  SERVER_STREAM_BUFFERED_BYTES_MAX_DEFAULT,
} from './limits.js';

export interface HttpServerOptions {
  /** Address to bind; '0.0.0.0' for every address of the host. */
  host: string;
  /** 0 picks an ephemeral port. */
  port: number;
  /** 431 beyond it. Default 16 KiB. */
  headBytesMax?: number;
  /** 431 beyond it. Default 100. */
  headerCountMax?: number;
  /** 413 beyond it. Default 2 MiB. */
  bodyBytesMax?: number;
  /** From accept to the end of the head; 408 after it. Default 10 s. */
  headTimeoutMs?: number;
  /** From the end of the head to the end of the body; 408 after it. Default 30 s. */
  bodyTimeoutMs?: number;
  /** Open connections; beyond it a new one gets 503 and is closed. Default 1024. */
  connectionsMax?: number;
  /** Bytes a streaming response may have queued on a socket before it is cut off. Default 4 MiB. */
  streamBufferedBytesMax?: number;
  /** After a response, how long to wait for the client's FIN before closing. Default 2 s. */
  lingerMs?: number;
  backlog?: number;
}

export interface HttpServer {
  readonly address: string;
  readonly port: number;
  /** Open connections right now. */
  connectionCount(): number;
  /** Stops listening and destroys every open connection (streams see onClose). */
  close(): Promise<void>;
}

const BYTES_LIMIT = 1024 * 1024 * 1024;
const TIMEOUT_MS_LIMIT = 24 * 3600 * 1000;
const CONNECTIONS_LIMIT = 1_000_000;
const HEAD_BYTES_LIMIT = 1024 * 1024;
const HEADER_COUNT_LIMIT = 10_000;

export async function serveHttp(platform: Platform, options: HttpServerOptions, handler: HttpHandler): Promise<HttpServer> {
  const limits = serverLimits(options);
  const connectionsMax = checkBound('connectionsMax', options.connectionsMax ?? SERVER_CONNECTIONS_MAX_DEFAULT, CONNECTIONS_LIMIT);
  const connections = new Set<StreamSocket>();
  let closing = false;

  const onConnection = (socket: StreamSocket): void => {
    if (closing) {
      socket.destroy();
      return;
    }
    if (connections.size >= connectionsMax) {
      platform.log.warn('http1.connections_exhausted', { remote: socket.remoteAddress ?? '', connectionsMax });
      socket.on('error', () => socket.destroy());
      socket.once('finish', () => socket.destroy());
      socket.end(formatErrorResponse(503, `503 Service Unavailable: more than ${connectionsMax} connections`));
      return;
    }
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
    serveConnection(socket, { platform, limits, handler });
  };

  const listener = await platform.streams.listen(
    { host: options.host, port: options.port, allowHalfOpen: true, ...(options.backlog === undefined ? {} : { backlog: options.backlog }) },
    onConnection,
  );
  return {
    address: listener.address,
    port: listener.port,
    connectionCount: () => connections.size,
    close: async () => {
      closing = true;
      const closed = listener.close();
      for (const socket of [...connections]) socket.destroy();
      await closed;
    },
  };
}

function serverLimits(options: HttpServerOptions): ServerLimits {
  return {
    headBytesMax: checkBound('headBytesMax', options.headBytesMax ?? HEAD_BYTES_MAX_DEFAULT, HEAD_BYTES_LIMIT),
    headerCountMax: checkBound('headerCountMax', options.headerCountMax ?? HEADER_COUNT_MAX_DEFAULT, HEADER_COUNT_LIMIT),
    bodyBytesMax: checkBound('bodyBytesMax', options.bodyBytesMax ?? SERVER_BODY_BYTES_MAX_DEFAULT, BYTES_LIMIT),
    headTimeoutMs: checkBound('headTimeoutMs', options.headTimeoutMs ?? SERVER_HEAD_TIMEOUT_MS_DEFAULT, TIMEOUT_MS_LIMIT),
    bodyTimeoutMs: checkBound('bodyTimeoutMs', options.bodyTimeoutMs ?? SERVER_BODY_TIMEOUT_MS_DEFAULT, TIMEOUT_MS_LIMIT),
    streamBufferedBytesMax: checkBound(
      'streamBufferedBytesMax',
      options.streamBufferedBytesMax ?? SERVER_STREAM_BUFFERED_BYTES_MAX_DEFAULT,
      BYTES_LIMIT,
    ),
    lingerMs: checkBound('lingerMs', options.lingerMs ?? SERVER_LINGER_MS_DEFAULT, TIMEOUT_MS_LIMIT),
  };
}
