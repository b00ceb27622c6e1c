// The relay between a client and the target it asked for: bytes both ways
// with backpressure (pipe), each direction's end passed on separately
// (half-close), and an idle timeout on the platform clock.
//
// A tunnel ends cleanly only when both directions ended with a FIN. Anything
// else — an error, a connection torn down before its FIN, the idle timeout,
// stop() — resets both connections, so neither end can take a cut-short
// stream for a complete one (DESIGN.md, "Tunnel integrity").
import type { Clock, StreamSocket, TimerHandle } from '../platform/types.js';
import { errorCode } from '../platform/errors.js';

export type TunnelCloseReason =
  | 'completed'
  | 'idle-timeout'
  | 'client-error'
  | 'target-error'
  | 'client-closed'
  | 'target-closed'
  | 'stopped';

export interface TunnelResult {
  reason: TunnelCloseReason;
  /** The `code` of the error that ended the tunnel, if one did. */
  errorCode?: string;
  bytesUp: number;
  bytesDown: number;
  durationMs: number;
}

export type TunnelDirection = 'up' | 'down';

export interface TunnelOptions {
  clock: Clock;
  idleTimeoutMs: number;
  /** Client bytes that arrived with the request head: sent to the target first. */
  initialUp?: Buffer;
  onBytes?: (direction: TunnelDirection, byteCount: number) => void;
  /** Called once, after both connections have closed. */
  onClosed: (result: TunnelResult) => void;
}

export interface Tunnel {
  readonly bytesUp: number;
  readonly bytesDown: number;
  /** Resets both connections; idempotent. */
  abort(reason: TunnelCloseReason): void;
}

export function openTunnel(client: StreamSocket, target: StreamSocket, options: TunnelOptions): Tunnel {
  return new RelayTunnel(client, target, options);
}

class RelayTunnel implements Tunnel {
  readonly #client: StreamSocket;
  readonly #target: StreamSocket;
  readonly #options: TunnelOptions;
  readonly #startedMs: number;
  #lastActivityMs: number;
  #idleTimer: TimerHandle | undefined;
  #abortReason: TunnelCloseReason | undefined;
  #abortErrorCode: string | undefined;
  #closedCount = 0;
  bytesUp = 0;
  bytesDown = 0;

  constructor(client: StreamSocket, target: StreamSocket, options: TunnelOptions) {
    this.#client = client;
    this.#target = target;
    this.#options = options;
    this.#startedMs = options.clock.now();
    this.#lastActivityMs = this.#startedMs;

    client.on('error', (error) => this.#fail('client-error', error));
    target.on('error', (error) => this.#fail('target-error', error));
    client.once('close', () => this.#onClose(client, 'client-closed'));
    target.once('close', () => this.#onClose(target, 'target-closed'));
    client.on('data', (chunk: Buffer) => this.#count('up', chunk.length));
    target.on('data', (chunk: Buffer) => this.#count('down', chunk.length));

    const initialUp = options.initialUp;
    if (initialUp !== undefined && initialUp.length > 0) {
      this.#count('up', initialUp.length);
      target.write(initialUp);
    }
    // pipe() gives backpressure, and with its default `end: true` passes each
    // side's FIN on without closing the other direction.
    client.pipe(target);
    target.pipe(client);
    this.#idleTimer = options.clock.setTimeout(() => this.#onIdleTimer(), options.idleTimeoutMs);
  }

  abort(reason: TunnelCloseReason): void {
    this.#abort(reason, undefined);
  }

  #count(direction: TunnelDirection, byteCount: number): void {
    if (direction === 'up') this.bytesUp += byteCount;
    else this.bytesDown += byteCount;
    this.#lastActivityMs = this.#options.clock.now();
    this.#options.onBytes?.(direction, byteCount);
  }

  /** Activity only stamps the time; the timer re-arms itself for the remainder. */
  #onIdleTimer(): void {
    this.#idleTimer = undefined;
    if (this.#abortReason !== undefined) return;
    const idleMs = this.#options.clock.now() - this.#lastActivityMs;
    if (idleMs >= this.#options.idleTimeoutMs) {
      this.#abort('idle-timeout', undefined);
      return;
    }
    this.#idleTimer = this.#options.clock.setTimeout(() => this.#onIdleTimer(), this.#options.idleTimeoutMs - idleMs);
  }

  #fail(reason: TunnelCloseReason, error: Error): void {
    this.#abort(reason, errorCode(error) ?? error.name);
  }

  #onClose(socket: StreamSocket, reason: TunnelCloseReason): void {
    // Closed after its FIN went both ways: a clean end of this connection.
    // Closed any other way, the other connection must not look complete.
    if (!(socket.readableEnded && socket.writableFinished)) this.#abort(reason, undefined);
    this.#closedCount += 1;
    if (this.#closedCount === 2) this.#finish();
  }

  #abort(reason: TunnelCloseReason, abortErrorCode: string | undefined): void {
    if (this.#abortReason !== undefined) return;
    this.#abortReason = reason;
    this.#abortErrorCode = abortErrorCode;
    this.#options.clock.clearTimer(this.#idleTimer);
    this.#idleTimer = undefined;
    for (const socket of [this.#client, this.#target]) {
      if (!socket.destroyed) socket.resetAndDestroy();
    }
  }

  #finish(): void {
    this.#options.clock.clearTimer(this.#idleTimer);
    this.#idleTimer = undefined;
    this.#options.onClosed({
      reason: this.#abortReason ?? 'completed',
      ...(this.#abortErrorCode !== undefined ? { errorCode: this.#abortErrorCode } : {}),
      bytesUp: this.bytesUp,
      bytesDown: this.bytesDown,
      durationMs: this.#options.clock.now() - this.#startedMs,
    });
  }
}
