// An idle timeout on the platform clock that costs nothing per byte: activity
// only stamps the time, and the one timer, when it fires early, re-arms
// itself for the remainder. Shared by the relays (net/relay.ts, comms).
import type { Clock, TimerHandle } from '../platform/types.js';

export class IdleWatch {
  readonly #clock: Clock;
  readonly #idleTimeoutMs: number;
  readonly #onIdle: (idleMs: number) => void;
  #lastActivityMs: number;
  #timer: TimerHandle | undefined;

  /** Starts watching now; `onIdle` runs once, after idleTimeoutMs with no touch(), unless stop() came first. */
  constructor(clock: Clock, idleTimeoutMs: number, onIdle: (idleMs: number) => void) {
    this.#clock = clock;
    this.#idleTimeoutMs = idleTimeoutMs;
    this.#onIdle = onIdle;
    this.#lastActivityMs = clock.now();
    this.#timer = clock.setTimeout(() => this.#check(), idleTimeoutMs);
  }

  touch(): void {
    this.#lastActivityMs = this.#clock.now();
  }

  stop(): void {
    this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
  }

  #check(): void {
    this.#timer = undefined;
    const idleMs = this.#clock.now() - this.#lastActivityMs;
    if (idleMs >= this.#idleTimeoutMs) {
      this.#onIdle(idleMs);
      return;
    }
    this.#timer = this.#clock.setTimeout(() => this.#check(), this.#idleTimeoutMs - idleMs);
  }
}
