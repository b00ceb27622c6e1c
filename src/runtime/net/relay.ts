// A relay between a client and the target it was routed to (the proxy's
// CONNECT target, the DU gateway's backend): bytes both ways with
// backpressure (pipe), each direction's end passed on separately
// (half-close), and an idle timeout on the platform clock.
//
// A relay ends cleanly only when both directions ended with their FIN (for a
// TLS side: close_notify). Anything else — an error, a connection torn down
// before its FIN, the idle timeout, stop() — resets both connections, so
// neither end can take a cut-short stream for a complete one (DESIGN.md,
// "Tunnel integrity").
import type { Duplex } from 'node:stream';
import type { Clock, StreamSocket } from '../platform/types.js';
import { errorCode } from '../platform/errors.js';
import { IdleWatch } from './idle-watch.js';

/** `T` names the target side in close reasons: 'target' for the proxy, 'backend' for the DU gateway. */
export type RelayCloseReason<T extends string> = 'completed' | 'idle-timeout' | 'client-error' | `${T}-error` | 'client-closed' | `${T}-closed` | 'stopped';

export interface RelayResult<T extends string> {
  reason: RelayCloseReason<T>;
  /** The `code` of the error that ended the relay, if one did. */
  errorCode?: string;
  bytesUp: number;
  bytesDown: number;
  durationMs: number;
}

export type RelayDirection = 'up' | 'down';

/** One side: the stream the bytes flow on, and how to reset the connection under it. */
export interface RelayEndpoint {
  stream: Duplex;
  reset(): void;
}

/** A plain connection as an endpoint: it resets itself. */
export function socketEndpoint(socket: StreamSocket): RelayEndpoint {
  return {
    stream: socket,
    reset: () => {
      if (!socket.destroyed) socket.resetAndDestroy();
    },
  };
}

export interface RelayOptions<T extends string> {
  clock: Clock;
  idleTimeoutMs: number;
  targetName: T;
  /** Client bytes that arrived before the relay started (with a request head): sent to the target first. */
  initialUp?: Buffer;
  onBytes?: (direction: RelayDirection, byteCount: number) => void;
  /** Called once, after both sides have closed. */
  onClosed: (result: RelayResult<T>) => void;
}

export interface Relay<T extends string> {
  readonly bytesUp: number;
  readonly bytesDown: number;
  /** Resets both connections; idempotent. */
  abort(reason: RelayCloseReason<T>): void;
}

export function openRelay<T extends string>(client: RelayEndpoint, target: RelayEndpoint, options: RelayOptions<T>): Relay<T> {
  return new PipedRelay(client, target, options);
}

class PipedRelay<T extends string> implements Relay<T> {
  readonly #client: RelayEndpoint;
  readonly #target: RelayEndpoint;
  readonly #options: RelayOptions<T>;
  readonly #startedMs: number;
  readonly #idle: IdleWatch;
  #abortReason: RelayCloseReason<T> | undefined;
  #abortErrorCode: string | undefined;
  #closedCount = 0;
  bytesUp = 0;
  bytesDown = 0;

  constructor(client: RelayEndpoint, target: RelayEndpoint, options: RelayOptions<T>) {
    this.#client = client;
    this.#target = target;
    this.#options = options;
    this.#startedMs = options.clock.now();
    const { targetName } = options;
    const [clientStream, targetStream] = [client.stream, target.stream];

    clientStream.on('error', (error: Error) => this.#fail('client-error', error));
    targetStream.on('error', (error: Error) => this.#fail(`${targetName}-error`, error));
    clientStream.once('close', () => this.#onClose(clientStream, 'client-closed'));
    targetStream.once('close', () => this.#onClose(targetStream, `${targetName}-closed`));
    clientStream.on('data', (chunk: Buffer) => this.#count('up', chunk.length));
    targetStream.on('data', (chunk: Buffer) => this.#count('down', chunk.length));

    // Before the first count: the client's early bytes are activity too.
    this.#idle = new IdleWatch(options.clock, options.idleTimeoutMs, () => this.#abort('idle-timeout', undefined));
    const initialUp = options.initialUp;
    if (initialUp !== undefined && initialUp.length > 0) {
      this.#count('up', initialUp.length);
      targetStream.write(initialUp);
    }
    // pipe() gives backpressure, and with its default `end: true` passes each
    // side's FIN on without closing the other direction (both sides allowHalfOpen).
    clientStream.pipe(targetStream);
    targetStream.pipe(clientStream);
  }

  abort(reason: RelayCloseReason<T>): void {
    this.#abort(reason, undefined);
  }

  #count(direction: RelayDirection, byteCount: number): void {
    if (direction === 'up') this.bytesUp += byteCount;
    else this.bytesDown += byteCount;
    this.#idle.touch();
    this.#options.onBytes?.(direction, byteCount);
  }

  #fail(reason: RelayCloseReason<T>, error: Error): void {
    this.#abort(reason, errorCode(error) ?? error.name);
  }

  #onClose(stream: Duplex, reason: RelayCloseReason<T>): void {
    // Closed after its FIN went both ways: a clean end of this side.
    // Closed any other way, the other side must not look complete.
    if (!(stream.readableEnded && stream.writableFinished)) this.#abort(reason, undefined);
    this.#closedCount += 1;
    if (this.#closedCount === 2) this.#finish();
  }

  #abort(reason: RelayCloseReason<T>, abortErrorCode: string | undefined): void {
    if (this.#abortReason !== undefined) return;
    this.#abortReason = reason;
    this.#abortErrorCode = abortErrorCode;
    this.#idle.stop();
    this.#target.reset();
    this.#client.reset();
  }

  #finish(): void {
    this.#idle.stop();
    this.#options.onClosed({
      reason: this.#abortReason ?? 'completed',
      ...(this.#abortErrorCode !== undefined ? { errorCode: this.#abortErrorCode } : {}),
      bytesUp: this.bytesUp,
      bytesDown: this.bytesDown,
      durationMs: this.#options.clock.now() - this.#startedMs,
    });
  }
}
