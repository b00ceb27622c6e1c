// The relay between an authenticated client (a TLS socket) and its backend
// (plain TCP): bytes both ways with backpressure (pipe: at most one
// highWaterMark buffered per direction), each direction's end passed on
// separately (half-close), and an idle timeout on the platform clock.
//
// It ends cleanly only when both directions ended with their FIN (for the
// client: TLS close_notify). Anything else — an error, a connection closed
// before its end, the idle timeout, stop() — resets both connections, so
// neither end can take a cut-short stream for a complete one (DESIGN.md,
// "Tunnel integrity").
import type { Duplex } from 'node:stream';
import type { Clock, StreamSocket, TimerHandle } from '../platform/types.js';
import { errorCode } from '../platform/errors.js';

export type RelayCloseReason = 'completed' | 'idle-timeout' | 'client-error' | 'backend-error' | 'client-closed' | 'backend-closed' | 'stopped';

export interface RelayResult {
  reason: RelayCloseReason;
  errorCode?: string;
  bytesUp: number;
  bytesDown: number;
  durationMs: number;
}

export type RelayDirection = 'up' | 'down';

/** The client side: the TLS stream, and how to reset the TCP connection under it. */
export interface RelayClient {
  stream: Duplex;
  reset(): void;
}

export interface RelayOptions {
  clock: Clock;
  idleTimeoutMs: number;
  onBytes?: (direction: RelayDirection, byteCount: number) => void;
  /** Called once, after both sides have closed. */
  onClosed: (result: RelayResult) => void;
}

export interface Relay {
  /** Resets both connections; idempotent. */
  abort(reason: RelayCloseReason): void;
}

export function openRelay(client: RelayClient, backend: StreamSocket, options: RelayOptions): Relay {
  return new TlsRelay(client, backend, options);
}

class TlsRelay implements Relay {
  readonly #client: RelayClient;
  readonly #backend: StreamSocket;
  readonly #options: RelayOptions;
  readonly #startedMs: number;
  #lastActivityMs: number;
  #idleTimer: TimerHandle | undefined;
  #abortReason: RelayCloseReason | undefined;
  #abortErrorCode: string | undefined;
  #closedCount = 0;
  #bytesUp = 0;
  #bytesDown = 0;

  constructor(client: RelayClient, backend: StreamSocket, options: RelayOptions) {
    this.#client = client;
    this.#backend = backend;
    this.#options = options;
    this.#startedMs = options.clock.now();
    this.#lastActivityMs = this.#startedMs;
    const stream = client.stream;

    stream.on('error', (error: Error) => this.#abort('client-error', errorCode(error) ?? error.name));
    backend.on('error', (error: Error) => this.#abort('backend-error', errorCode(error) ?? error.name));
    stream.once('close', () => this.#onClose(stream, 'client-closed'));
    backend.once('close', () => this.#onClose(backend, 'backend-closed'));
    stream.on('data', (chunk: Buffer) => this.#count('up', chunk.length));
    backend.on('data', (chunk: Buffer) => this.#count('down', chunk.length));
    // pipe() gives backpressure, and with its default `end: true` passes each
    // side's end on without closing the other direction (both sides allowHalfOpen).
    stream.pipe(backend);
    backend.pipe(stream);
    this.#idleTimer = options.clock.setTimeout(() => this.#onIdleTimer(), options.idleTimeoutMs);
  }

  abort(reason: RelayCloseReason): void {
    this.#abort(reason, undefined);
  }

  #count(direction: RelayDirection, byteCount: number): void {
    if (direction === 'up') this.#bytesUp += byteCount;
    else this.#bytesDown += byteCount;
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

  #onClose(socket: Duplex, reason: RelayCloseReason): void {
    // Closed after its end went both ways: a clean end of this side.
    // Closed any other way, the other side must not look complete.
    if (!(socket.readableEnded && socket.writableFinished)) this.#abort(reason, undefined);
    this.#closedCount += 1;
    if (this.#closedCount === 2) this.#finish();
  }

  #abort(reason: RelayCloseReason, abortErrorCode: string | undefined): void {
    if (this.#abortReason !== undefined) return;
    this.#abortReason = reason;
    this.#abortErrorCode = abortErrorCode;
    this.#options.clock.clearTimer(this.#idleTimer);
    this.#idleTimer = undefined;
    if (!this.#backend.destroyed) this.#backend.resetAndDestroy();
    this.#client.reset();
  }

  #finish(): void {
    this.#options.clock.clearTimer(this.#idleTimer);
    this.#idleTimer = undefined;
    this.#options.onClosed({
      reason: this.#abortReason ?? 'completed',
      ...(this.#abortErrorCode !== undefined ? { errorCode: this.#abortErrorCode } : {}),
      bytesUp: this.#bytesUp,
      bytesDown: this.#bytesDown,
      durationMs: this.#options.clock.now() - this.#startedMs,
    });
  }
}
