// The seam's Tls on top of Node's own node:tls, shared by the real and the
// simulated platform: Node does the cryptography and the certificate checks
// over any Duplex, and every timer involved runs on the platform clock — the
// simulation's virtual one, or the host's.
//
// Two things Node would otherwise do with real timers are replaced here:
//  - TLSSocket#setTimeout (net.Socket's idle timeout) is re-implemented per
//    socket on the platform clock;
//  - tls.Server's handshake timeout is disabled and re-implemented as
//    `handshakeTimeoutMs` on the platform clock (both directions).
import tls from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { Clock, StreamSocket, TimerHandle, Tls, TlsAcceptor, TlsClientOptions, TlsServerOptions } from './types.js';
import { PlatformError } from './errors.js';

export function createNodeTls(clock: Clock): Tls {
  return {
    connect: (options) => connectTls(clock, options),
    createSecureContext: (options) => tls.createSecureContext(options),
    createAcceptor: (options) => new NodeTlsAcceptor(clock, options),
  };
}

function connectTls(clock: Clock, options: TlsClientOptions): TLSSocket {
  const { socket, handshakeTimeoutMs, ...tlsOptions } = options;
  const tlsSocket = tls.connect({ ...tlsOptions, socket });
  useClockForIdleTimeout(tlsSocket, clock);
  if (handshakeTimeoutMs !== undefined && handshakeTimeoutMs > 0) {
    const timer = clock.setTimeout(() => {
      tlsSocket.destroy(handshakeTimeoutError(handshakeTimeoutMs));
    }, handshakeTimeoutMs);
    const clear = (): void => clock.clearTimer(timer);
    tlsSocket.once('secureConnect', clear);
    tlsSocket.once('close', clear);
  }
  return tlsSocket;
}

function handshakeTimeoutError(handshakeTimeoutMs: number): PlatformError {
  return new PlatformError('ETIMEDOUT', `TLS handshake not complete within ${handshakeTimeoutMs} ms`);
}

type ConnectionListener = (this: tls.Server, socket: Duplex) => void;

/**
 * Server-side TLS over accepted streams, with tls.Server's certificate checks.
 *
 * A bare `new tls.TLSSocket(stream, { isServer: true, requestCert: true })`
 * never verifies the client's certificate: that check (and `authorized`) is
 * done by the listener tls.Server attaches to its 'connection' event. So the
 * acceptor keeps one tls.Server that never listens, and hands it each stream.
 */
class NodeTlsAcceptor extends EventEmitter implements TlsAcceptor {
  readonly #clock: Clock;
  readonly #server: tls.Server;
  readonly #tlsConnectionListener: ConnectionListener;
  readonly #handshakeTimeoutMs: number;

  constructor(clock: Clock, options: TlsServerOptions) {
    super();
    this.#clock = clock;
    const { handshakeTimeoutMs, ...serverOptions } = options;
    this.#handshakeTimeoutMs = handshakeTimeoutMs ?? 0;
    // tls.Server turns a handshakeTimeout of 0 into its 120 s default, armed
    // with a real timer on every socket; only a negative value disables it.
    this.#server = tls.createServer({ ...serverOptions, handshakeTimeout: -1 });
    const listeners = this.#server.listeners('connection');
    const [listener] = listeners;
    if (listeners.length !== 1 || typeof listener !== 'function') {
      throw new Error('node-tls: expected tls.Server to have exactly one connection listener');
    }
    this.#tlsConnectionListener = listener as ConnectionListener;
    this.#server.on('secureConnection', (tlsSocket: TLSSocket) => {
      useClockForIdleTimeout(tlsSocket, this.#clock);
      this.emit('secureConnection', tlsSocket);
    });
    this.#server.on('tlsClientError', (error: Error, tlsSocket: TLSSocket) => {
      useClockForIdleTimeout(tlsSocket, this.#clock);
      // Node leaves the socket to the listener; a failed handshake has no further use.
      tlsSocket.destroy();
      this.emit('tlsClientError', error, tlsSocket);
    });
  }

  accept(socket: StreamSocket): void {
    let timer: TimerHandle | undefined;
    const settle = (): void => {
      this.#clock.clearTimer(timer);
      timer = undefined;
    };
    // The TLSSocket tls.Server makes for `socket` is not returned to us, but
    // it reports its outcome to `this._tlsOptions.server`: the `this` its
    // connection listener ran with. Running that listener on a per-stream
    // view of the server (same configuration, own emit) tells us which
    // handshake finished, so its timer can be cleared.
    const server = this.#server;
    const view = Object.create(server) as tls.Server;
    view.emit = (event: string | symbol, ...args: unknown[]): boolean => {
      if (event === 'secureConnection' || event === 'tlsClientError') settle();
      return server.emit(event, ...args);
    };
    if (this.#handshakeTimeoutMs > 0) {
      const handshakeTimeoutMs = this.#handshakeTimeoutMs;
      timer = this.#clock.setTimeout(() => {
        timer = undefined;
        // The TLSSocket hears its stream's error and reports it as this
        // connection's 'tlsClientError', carrying the ETIMEDOUT code.
        socket.destroy(handshakeTimeoutError(handshakeTimeoutMs));
      }, handshakeTimeoutMs);
      socket.once('close', settle);
    }
    this.#tlsConnectionListener.call(view, socket);
  }
}

const idleTimeoutMark = Symbol('pf9lab.clockIdleTimeout');

/**
 * Replaces a TLSSocket's setTimeout (net.Socket's idle timeout, which runs on
 * real timers) with one on `clock`, with net.Socket's meaning: after
 * timeoutMs without reads or writes, emit 'timeout' (and do not close); any
 * later activity arms it again; 0 disables it.
 */
export function useClockForIdleTimeout(socket: TLSSocket, clock: Clock): void {
  const marked = socket as TLSSocket & { [idleTimeoutMark]?: true };
  if (marked[idleTimeoutMark] === true) return;
  marked[idleTimeoutMark] = true;

  let timeoutMs = 0;
  let lastActivityMs = 0;
  let timer: TimerHandle | undefined;

  // Activity only records the time; the timer re-arms itself for the rest of
  // the period when it fires early. That keeps the per-chunk cost to one clock read.
  const onTimer = (): void => {
    timer = undefined;
    if (timeoutMs === 0 || socket.destroyed) return;
    const idleMs = clock.now() - lastActivityMs;
    if (idleMs < timeoutMs) {
      timer = clock.setTimeout(onTimer, timeoutMs - idleMs);
      return;
    }
    socket.emit('timeout');
  };
  const touch = (): void => {
    if (timeoutMs === 0) return;
    lastActivityMs = clock.now();
    if (timer === undefined && !socket.destroyed) timer = clock.setTimeout(onTimer, timeoutMs);
  };

  socket.setTimeout = function setTimeout(this: TLSSocket, nextTimeoutMs: number, callback?: () => void): TLSSocket {
    if (!Number.isFinite(nextTimeoutMs) || nextTimeoutMs < 0) {
      throw new RangeError(`setTimeout: timeoutMs must be a finite number >= 0, got ${nextTimeoutMs}`);
    }
    if (socket.destroyed) return socket;
    clock.clearTimer(timer);
    timer = undefined;
    timeoutMs = nextTimeoutMs;
    // net.Socket documents `timeout` as the value last given to setTimeout.
    (socket as { timeout?: number }).timeout = nextTimeoutMs;
    if (timeoutMs === 0) {
      if (callback !== undefined) socket.removeListener('timeout', callback);
      return socket;
    }
    touch();
    if (callback !== undefined) socket.once('timeout', callback);
    return socket;
  };

  // Reads: every decrypted chunk reaches the socket through push().
  const push = socket.push;
  socket.push = function pushTouching(this: TLSSocket, chunk: unknown, encoding?: BufferEncoding): boolean {
    touch();
    return push.call(this, chunk, encoding);
  };
  // Writes: Writable hands every chunk (or batch) to _write/_writev.
  const write = socket._write;
  socket._write = function writeTouching(this: TLSSocket, ...args: Parameters<TLSSocket['_write']>): void {
    touch();
    write.apply(this, args);
  };
  const writev = socket._writev;
  if (writev !== undefined) {
    socket._writev = function writevTouching(this: TLSSocket, ...args: Parameters<NonNullable<TLSSocket['_writev']>>): void {
      touch();
      writev.apply(this, args);
    };
  }

  socket.once('close', () => {
    clock.clearTimer(timer);
    timer = undefined;
    timeoutMs = 0;
  });
}
