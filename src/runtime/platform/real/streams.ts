// TCP through node:net. A net.Socket already is the seam's StreamSocket, so
// connections are handed out as they are: Node's tls can then take over the
// socket's handle directly instead of wrapping a JS stream.
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { ConnectOptions, ListenOptions, Log, StreamListener, Streams, StreamSocket } from '../types.js';

export function createRealStreams(log: Log): Streams {
  return {
    connect(options: ConnectOptions): StreamSocket {
      const socket = net.connect({
        host: options.host,
        port: options.port,
        allowHalfOpen: options.allowHalfOpen ?? false,
        ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}),
      });
      if (options.keepAliveIdleMs !== undefined) socket.setKeepAlive(true, options.keepAliveIdleMs);
      return withReliableReset(socket);
    },

    listen(options: ListenOptions, onConnection: (socket: StreamSocket) => void): Promise<StreamListener> {
      const server = net.createServer({ allowHalfOpen: options.allowHalfOpen ?? false }, (socket) =>
        onConnection(withReliableReset(socket)),
      );
      return new Promise<StreamListener>((resolve, reject) => {
        const onStartError = (error: Error): void => {
          server.close();
          reject(error);
        };
        server.once('error', onStartError);
        server.listen({ host: options.host, port: options.port, backlog: options.backlog }, () => {
          server.removeListener('error', onStartError);
          // Later errors (accept failing with EMFILE) must not crash the host: log them.
          server.on('error', (error: NodeJS.ErrnoException) => {
            log.error('platform.listen_error', { code: error.code, message: error.message });
          });
          resolve(createListener(server));
        });
      });
    },
  };
}

/**
 * Node 20's resetAndDestroy() fails on a socket whose writable side has
 * ended: libuv refuses to reset a shut-down handle (uv_tcp_close_reset gives
 * EINVAL), so Node emits 'error', never 'close', and leaks the handle. A
 * relay that half-closed one leg and then aborts would wait forever. After
 * end(), the FIN is already out; closing is the most that can be done (the
 * kernel still answers any further data with a RST).
 */
function withReliableReset(socket: net.Socket): net.Socket {
  const reset = socket.resetAndDestroy.bind(socket);
  socket.resetAndDestroy = function resetAndDestroy(this: net.Socket): net.Socket {
    if (this.writableEnded || this.destroyed) return this.destroy();
    return reset();
  };
  return socket;
}

function createListener(server: net.Server): StreamListener {
  const bound = server.address() as AddressInfo;
  return {
    address: bound.address,
    port: bound.port,
    close() {
      // net.Server#close stops accepting at once (the listening descriptor
      // is closed synchronously) but calls back only after every accepted
      // connection has ended. The seam's close leaves established
      // connections alone, so it resolves as soon as accepting has stopped;
      // waiting for the callback would deadlock a service that closes its
      // listener before its connections. Closing twice is a no-op (Node
      // would report ERR_SERVER_NOT_RUNNING to the ignored callback).
      if (server.listening) server.close(() => undefined);
      return Promise.resolve();
    },
  };
}
