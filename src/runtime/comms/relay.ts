// The relay between a local connection and its TLS tunnel to the DU: bytes
// both ways with backpressure (pipe), each direction's end-of-stream passed
// on separately (half-close), and resets for everything else.
//
// Tunnel integrity (DESIGN.md): the local client sees a clean FIN from the
// DU only when the DU ended its direction cleanly; any failure resets the
// local connection (and the DU side), so a cut-short stream never looks
// complete.
//
// TLS 1.3: the client reports secureConnect before the DU has judged our
// certificate. Until the DU confirms us — a session ticket (sent only after
// it accepted our Finished and certificate) or a first byte — an end or a
// reset from it is a refusal ('auth-refused'), not a short answer. A DU that
// sends no tickets is taken as confirmed after limits.serverConfirmTimeoutMs
// (a later reset is 'remote-reset'), but an end is passed on as clean only
// once the DU has sent a byte: the network can hold a refusal back past any
// timer (a cut, then TCP's backoff), haproxy refuses an unrouted SNI after
// its tickets, and a refusal must never become an empty clean answer.
import type { Clock, StreamSocket, TimerHandle } from '../platform/types.js';
import { errorCode } from '../platform/errors.js';
import type { DuConnection } from './dial.js';
import { failBoth } from './dial.js';
import { IdleWatch } from '../net/idle-watch.js';
import { classifyRemoteFailure, describeError, type FailurePhase, type FailureReason } from './failure.js';
import type { Direction } from './metrics.js';

export interface RelayFailure {
  reason: FailureReason;
  phase: FailurePhase;
  code: string | undefined;
  message: string;
}

export interface RelayResult {
  failure: RelayFailure | undefined;
  bytesUp: number;
  bytesDown: number;
  durationMs: number;
}

export interface RelayOptions {
  clock: Clock;
  idleTimeoutMs: number;
  serverConfirmTimeoutMs: number;
  onBytes: (direction: Direction, byteCount: number) => void;
  /** The first byte came down from the DU: the path and our certificate work. */
  onFlowed: () => void;
  /** Called once, after the local connection and the TLS socket have both closed. */
  onClosed: (result: RelayResult) => void;
}

export interface Relay {
  /** Resets both sides; idempotent. */
  abort(reason: FailureReason, message: string): void;
}

export function startRelay(local: StreamSocket, remote: DuConnection, options: RelayOptions): Relay {
  return new TunnelRelay(local, remote, options);
}

class TunnelRelay implements Relay {
  readonly #local: StreamSocket;
  readonly #remote: DuConnection;
  readonly #options: RelayOptions;
  readonly #startedMs: number;
  #confirmed = false;
  #confirmTimer: TimerHandle | undefined;
  readonly #idle: IdleWatch;
  #failure: RelayFailure | undefined;
  #closed = 0;
  #bytesUp = 0;
  #bytesDown = 0;

  constructor(local: StreamSocket, remote: DuConnection, options: RelayOptions) {
    this.#local = local;
    this.#remote = remote;
    this.#options = options;
    this.#startedMs = options.clock.now();
    const { tls, raw } = remote;

    local.on('error', (error: Error) => this.#fail('local-reset', 'local', error));
    tls.on('error', (error: Error) => this.#failRemote(error));
    raw.on('error', (error: Error) => this.#failRemote(error));
    local.once('close', () => this.#onClose('local'));
    tls.once('close', () => this.#onClose('remote'));

    if (remote.ticketSeen()) this.#confirm();
    else {
      tls.once('session', () => this.#confirm());
      this.#confirmTimer = options.clock.setTimeout(() => {
        this.#confirmTimer = undefined;
        this.#confirm();
      }, options.serverConfirmTimeoutMs);
    }

    local.on('data', (chunk: Buffer) => this.#count('up', chunk.length));
    tls.on('data', (chunk: Buffer) => {
      this.#confirm();
      if (this.#bytesDown === 0) options.onFlowed();
      this.#count('down', chunk.length);
    });
    // Up: the local client's FIN becomes our TLS close_notify + FIN (pipe's end: true).
    local.pipe(tls);
    // Down: the DU's end is judged first (a refusal must not become a FIN).
    tls.pipe(local, { end: false });
    tls.once('end', () => {
      // Not #confirmed: the confirmation timer says nothing about a refusal still on its way.
      if (!this.#heardFromDu()) {
        this.#fail(classifyRemoteFailure('unconfirmed', undefined), 'unconfirmed', undefined);
        return;
      }
      // An end without a single byte is never passed on as an empty answer:
      // haproxy accepts the handshake of an SNI it does not route, sends its
      // tickets, then closes without a byte, and nothing tells that apart
      // from a backend that answered nothing. A service must send a byte
      // before it ends its direction (README, "Known limits"); the price of
      // the rule is a reset where an empty answer was meant, never the reverse.
      if (this.#bytesDown === 0) {
        this.#setFailure('empty-close', 'relaying', undefined, 'the DU ended the tunnel without sending a byte');
        return;
      }
      local.end();
    });
    this.#idle = new IdleWatch(options.clock, options.idleTimeoutMs, (idleMs) => {
      this.#setFailure('idle-timeout', this.#phase(), undefined, `no bytes either way for ${idleMs} ms`);
    });
  }

  abort(reason: FailureReason, message: string): void {
    this.#setFailure(reason, this.#phase(), undefined, message);
  }

  /** The DU has spoken: a session ticket (it accepted us) or a byte. */
  #heardFromDu(): boolean {
    return this.#remote.ticketSeen() || this.#bytesDown > 0;
  }

  #phase(): FailurePhase {
    return this.#confirmed ? 'relaying' : 'unconfirmed';
  }

  #confirm(): void {
    if (this.#confirmed) return;
    this.#confirmed = true;
    this.#options.clock.clearTimer(this.#confirmTimer);
    this.#confirmTimer = undefined;
  }

  #count(direction: Direction, byteCount: number): void {
    if (direction === 'up') this.#bytesUp += byteCount;
    else this.#bytesDown += byteCount;
    this.#idle.touch();
    this.#options.onBytes(direction, byteCount);
  }

  #failRemote(error: Error | undefined): void {
    this.#fail(classifyRemoteFailure(this.#phase(), error), this.#phase(), error);
  }

  #fail(reason: FailureReason, phase: FailurePhase | 'local', error: Error | undefined): void {
    const message = phase === 'local' ? `local client: ${describeError(error)}` : `DU side (${phase}): ${describeError(error)}`;
    this.#setFailure(reason, phase === 'local' ? this.#phase() : phase, error === undefined ? undefined : errorCode(error), message);
  }

  #onClose(side: 'local' | 'remote'): void {
    // Closed after its end went both ways: a clean end of that side. Closed any
    // other way (destroyed, reset), the other side must not look complete.
    if (this.#failure === undefined) {
      if (side === 'local' && !(this.#local.readableEnded && this.#local.writableFinished)) {
        this.#setFailure('local-reset', this.#phase(), undefined, 'local client closed before both directions ended');
      }
      const { tls } = this.#remote;
      if (side === 'remote' && !(tls.readableEnded && tls.writableFinished)) this.#failRemote(undefined);
    }
    this.#closed += 1;
    if (this.#closed === 2) this.#finish();
  }

  #setFailure(reason: FailureReason, phase: FailurePhase, code: string | undefined, message: string): void {
    if (this.#failure !== undefined) return;
    this.#failure = { reason, phase, code, message };
    this.#clearTimers();
    this.#local.on('error', () => undefined);
    // A reset, never a FIN: the local client must see the failure.
    if (!this.#local.destroyed) this.#local.resetAndDestroy();
    failBoth(this.#remote.tls, this.#remote.raw);
  }

  #clearTimers(): void {
    this.#options.clock.clearTimer(this.#confirmTimer);
    this.#confirmTimer = undefined;
    this.#idle.stop();
  }

  #finish(): void {
    this.#clearTimers();
    // Clean end: the TLS socket closed after both directions ended. Its TCP
    // may still be flushing the last records and our FIN: destroying it now
    // would cut them off, so it is only ended, and closes on its own.
    const { raw } = this.#remote;
    if (this.#failure === undefined && !raw.destroyed && !raw.writableEnded) raw.end();
    this.#options.onClosed({
      failure: this.#failure,
      bytesUp: this.#bytesUp,
      bytesDown: this.#bytesDown,
      durationMs: this.#options.clock.now() - this.#startedMs,
    });
  }
}
