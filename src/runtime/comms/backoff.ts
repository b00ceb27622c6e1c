// Full-jitter exponential backoff (AWS Architecture Blog, "Exponential
// Backoff and Jitter"): the n-th consecutive failure waits a uniform random
// time in [0, min(cap, base · 2^n)). Sans-IO: the caller passes the random
// draw in, so it is the same under the simulation and on a real host.
//
// Which channel uses it: comms has no long-lived channel of its own — every
// local connection is its own tunnel. The backoff governs re-dialling the DU:
// it is shared by all tunnels, grows with each consecutive network failure
// of any tunnel, and is reset only once bytes have flowed from the DU through
// a tunnel (a TCP or TLS connect alone proves nothing: a DU that accepts and
// then refuses must not reset it).
export interface BackoffSettings {
  baseMs: number;
  capMs: number;
}

/** Bound on the exponent: 2^30 · base is far past any cap, and the counter cannot grow without end. */
const FAILURES_COUNTED_MAX = 30;

export class Backoff {
  #failures = 0;

  constructor(private readonly settings: BackoffSettings) {
    if (!(settings.baseMs > 0 && settings.capMs >= settings.baseMs)) {
      throw new RangeError(`backoff: need 0 < baseMs <= capMs, got ${settings.baseMs}, ${settings.capMs}`);
    }
  }

  /** Consecutive failures since bytes last flowed (bounded). */
  get failures(): number {
    return this.#failures;
  }

  failed(): void {
    this.#failures = Math.min(this.#failures + 1, FAILURES_COUNTED_MAX);
  }

  /** Bytes flowed through a tunnel: the DU is reachable and accepts us. */
  flowed(): void {
    this.#failures = 0;
  }

  /** The ceiling of the next wait: min(cap, base · 2^(failures − 1)); 0 with no failure. */
  ceilingMs(): number {
    if (this.#failures === 0) return 0;
    return Math.min(this.settings.capMs, this.settings.baseMs * 2 ** (this.#failures - 1));
  }

  /** The next wait for a uniform draw in [0, 1). */
  delayMs(draw: number): number {
    if (!(draw >= 0 && draw < 1)) throw new RangeError(`backoff: draw must be in [0, 1), got ${draw}`);
    const delay = Math.floor(draw * this.ceilingMs());
    return delay;
  }
}
