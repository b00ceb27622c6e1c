// The application's end of a simulated TCP connection: a Node Duplex, so
// runtime code and Node's own tls use it exactly like a net.Socket.
//
// Backpressure is real: a write is taken into the kernel send buffer only as
// far as it has room, and its callback waits for the rest, so write() returns
// false and 'drain' follows once the peer acknowledges. Reads are pulled from
// the kernel only while the readable side wants more, so a slow reader closes
// the receive window and stalls the sender.
//
// The kernel never calls application code synchronously: every notification
// (connect, data, drain, error) is deferred to a same-instant job owned by the
// process holding the socket, so an exception in a handler crashes that
// process and never unwinds the TCP state machine.
import { Duplex } from 'node:stream';
import type { StreamSocket } from '../../../src/runtime/platform/types.js';
import { PlatformError } from '../../../src/runtime/platform/errors.js';
import type { Owner, SimTimer } from '../engine.js';
import type { SimHost } from '../host.js';
import { formatIpv4 } from '../ip.js';
import type { TcpErrorCode } from './tcp-core.js';
import type { TcpEndpoint } from './tcp-layer.js';

const READ_CHUNK_BYTES_MAX = 64 * 1024;
/** Linux's tcp_keepalive_time, used when setKeepAlive(true) gives no delay. */
const KEEPALIVE_IDLE_MS_DEFAULT = 7_200_000;

export interface SimSocketOptions {
  allowHalfOpen: boolean;
}

interface PendingWrite {
  data: Buffer;
  callback: (error?: Error | null) => void;
}

export class SimSocket extends Duplex implements StreamSocket {
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  localAddress: string | undefined;
  localPort: number | undefined;
  connecting = false;

  private endpoint: TcpEndpoint | undefined;
  private pendingWrite: PendingWrite | undefined;
  private pendingFinal: ((error?: Error | null) => void) | undefined;
  private readWanted = false;
  private eofPushed = false;
  private resetOnDestroy = false;
  private keepAliveIdleMs: number | undefined;
  private failure: PlatformError | undefined;
  private idleTimeoutMs = 0;
  private idleTimer: SimTimer | undefined;
  private lastActivityMs = 0;
  private pullScheduled = false;
  private flushScheduled = false;

  constructor(
    private readonly host: SimHost,
    readonly owner: Owner,
    options: SimSocketOptions,
  ) {
    super({ allowHalfOpen: options.allowHalfOpen });
    this.lastActivityMs = this.nowMs();
  }

  // ------------------------------------------------------------ set-up by the kernel

  /** Active open. Errors found before any packet is sent are reported asynchronously, like Node. */
  startConnect(host: string, port: number, localAddress: string | undefined): void {
    this.connecting = true;
    this.remoteAddress = host === 'localhost' ? '127.0.0.1' : host;
    this.remotePort = port;
    try {
      const endpoint = this.host.stack.tcp.connect(this, host, port, localAddress);
      this.endpoint = endpoint;
      this.localAddress = formatIpv4(endpoint.localIp);
      this.localPort = endpoint.localPort;
    } catch (error) {
      this.defer(() => this.destroy(error as Error));
    }
  }

  attachAccepted(endpoint: TcpEndpoint): void {
    this.endpoint = endpoint;
    this.localAddress = formatIpv4(endpoint.localIp);
    this.localPort = endpoint.localPort;
    this.remoteAddress = formatIpv4(endpoint.remoteIp);
    this.remotePort = endpoint.remotePort;
  }

  // ------------------------------------------------------------ kernel notifications

  onEstablished(): void {
    this.defer(() => {
      if (this.destroyed) return;
      this.connecting = false;
      this.touch();
      this.emit('connect');
      this.emit('ready');
      this.flushPendingWrite();
      if (this.pendingFinal !== undefined) {
        const callback = this.pendingFinal;
        this.pendingFinal = undefined;
        this.shutdownNow(callback);
      }
    });
  }

  onReadable(): void {
    if (this.pullScheduled) return;
    this.pullScheduled = true;
    this.defer(() => {
      this.pullScheduled = false;
      this.pull();
    });
  }

  onWritable(): void {
    if (this.pendingWrite === undefined || this.flushScheduled) return;
    this.flushScheduled = true;
    this.defer(() => {
      this.flushScheduled = false;
      this.flushPendingWrite();
    });
  }

  onFailed(code: TcpErrorCode): void {
    const syscall = this.connecting ? 'connect' : 'read';
    const where = `${this.remoteAddress}:${this.remotePort}`;
    this.failure = new PlatformError(code, `${syscall} ${code} ${where}`, {
      syscall,
      address: this.remoteAddress,
      port: this.remotePort,
    });
    const failure = this.failure;
    this.defer(() => {
      if (!this.destroyed) this.destroy(failure);
    });
  }

  onClosed(): void {
    // The kernel is done with the connection; unread bytes stay readable from
    // the core, and a write still waiting for room fails (EPIPE) instead of hanging.
    if (this.pendingWrite !== undefined) this.defer(() => this.flushPendingWrite());
  }

  /** The host crashed: the process holding this socket is gone too, so nobody hears about it. */
  onWiped(): void {
    this.endpoint = undefined;
    this.host.world.engine.cancel(this.idleTimer);
  }

  // ------------------------------------------------------------ Duplex implementation

  override _read(): void {
    this.readWanted = true;
    this.pull();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.pendingWrite = { data: chunk, callback };
    this.flushPendingWrite();
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.connecting) {
      this.pendingFinal = callback;
      return;
    }
    this.shutdownNow(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.host.world.engine.cancel(this.idleTimer);
    this.idleTimer = undefined;
    const endpoint = this.endpoint;
    this.endpoint = undefined;
    if (endpoint !== undefined) {
      if (endpoint.core.state !== 'CLOSED') {
        if (this.resetOnDestroy) endpoint.core.abort(this.nowMs());
        else endpoint.core.close(this.nowMs());
      }
      // The kernel finishes an orphaned connection on its own (FIN, TIME_WAIT).
      endpoint.socket = undefined;
    }
    // Like net.Socket, a write or end still waiting hears that it failed.
    const pendingWrite = this.pendingWrite;
    const pendingFinal = this.pendingFinal;
    this.pendingWrite = undefined;
    this.pendingFinal = undefined;
    if (pendingWrite !== undefined || pendingFinal !== undefined) {
      // Built only when someone waits: an Error's stack capture is costly, and most sockets close idle.
      const closedError = error ?? new PlatformError('EPIPE', 'socket destroyed before the write completed', { syscall: 'write' });
      pendingWrite?.callback(closedError);
      pendingFinal?.(closedError);
    }
    this.host.world.engine.markAsync();
    callback(error);
  }

  // ------------------------------------------------------------ net.Socket-like API

  setKeepAlive(enable = false, initialDelayMs = 0): this {
    this.keepAliveIdleMs = enable ? (initialDelayMs > 0 ? initialDelayMs : KEEPALIVE_IDLE_MS_DEFAULT) : undefined;
    this.endpoint?.core.setKeepAlive(this.keepAliveIdleMs, this.nowMs());
    return this;
  }

  /** The simulated TCP never delays small segments (no Nagle). */
  setNoDelay(_noDelay = true): this {
    return this;
  }

  setTimeout(timeoutMs: number, callback?: () => void): this {
    if (callback !== undefined) {
      if (timeoutMs === 0) this.removeListener('timeout', callback);
      else this.once('timeout', callback);
    }
    this.idleTimeoutMs = timeoutMs;
    this.host.world.engine.cancel(this.idleTimer);
    this.idleTimer = undefined;
    if (timeoutMs > 0) this.armIdle(timeoutMs);
    return this;
  }

  resetAndDestroy(): this {
    this.resetOnDestroy = true;
    this.destroy();
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  // ------------------------------------------------------------ internals

  private pull(): void {
    const endpoint = this.endpoint;
    if (endpoint === undefined || this.destroyed) return;
    const core = endpoint.core;
    while (this.readWanted) {
      const data = core.read(READ_CHUNK_BYTES_MAX, this.nowMs());
      if (data === undefined) break;
      this.touch();
      this.host.world.engine.markAsync();
      if (!this.push(data)) this.readWanted = false;
    }
    if (core.atEof && !this.eofPushed) {
      this.eofPushed = true;
      this.host.world.engine.markAsync();
      this.push(null);
    }
  }

  private flushPendingWrite(): void {
    const pending = this.pendingWrite;
    if (pending === undefined || this.connecting) return;
    const endpoint = this.endpoint;
    if (endpoint === undefined || endpoint.core.state === 'CLOSED' || this.failure !== undefined) {
      this.pendingWrite = undefined;
      this.host.world.engine.markAsync();
      pending.callback(this.failure ?? new PlatformError('EPIPE', 'write after the connection closed', { syscall: 'write' }));
      return;
    }
    const core = endpoint.core;
    const space = core.sendSpace();
    if (space <= 0) return;
    const part = pending.data.length <= space ? pending.data : pending.data.subarray(0, space);
    // Copy: the caller may reuse its buffer once the callback runs.
    core.write(Buffer.from(part), this.nowMs());
    this.touch();
    if (part.length === pending.data.length) {
      this.pendingWrite = undefined;
      this.host.world.engine.markAsync();
      pending.callback();
    } else {
      pending.data = pending.data.subarray(part.length);
    }
  }

  private shutdownNow(callback: (error?: Error | null) => void): void {
    const endpoint = this.endpoint;
    if (endpoint !== undefined && endpoint.core.state !== 'CLOSED') endpoint.core.shutdown(this.nowMs());
    this.host.world.engine.markAsync();
    callback(this.failure ?? null);
  }

  private touch(): void {
    this.lastActivityMs = this.nowMs();
    if (this.idleTimeoutMs > 0 && this.idleTimer === undefined) this.armIdle(this.idleTimeoutMs);
  }

  private armIdle(delayMs: number): void {
    this.idleTimer = this.host.world.engine.schedule(
      delayMs,
      () => {
        this.idleTimer = undefined;
        if (this.destroyed || this.idleTimeoutMs === 0) return;
        const idleMs = this.nowMs() - this.lastActivityMs;
        if (idleMs >= this.idleTimeoutMs) {
          // Like net.Socket: emit once, re-arm on the next activity.
          this.host.world.engine.markAsync();
          this.emit('timeout');
        } else {
          this.armIdle(this.idleTimeoutMs - idleMs);
        }
      },
      this.owner,
    );
  }

  private defer(job: () => void): void {
    const engine = this.host.world.engine;
    engine.markAsync();
    engine.schedule(0, job, this.owner);
  }

  private nowMs(): number {
    return this.host.world.engine.elapsedMs();
  }
}
