// How much work a check may do before it answers "unknown". Steps are the
// deterministic bound (the same history always stops at the same point); wall
// time is optional and comes only through an injected clock, because code in
// sim/ never reads the host's clock itself (DESIGN.md, determinism rules).

export type BoundReason = 'steps' | 'time' | 'memory';

export interface CheckLimits {
  /** Search steps (one entry visited) for the whole check, all keys together. Default STEPS_MAX_DEFAULT. */
  stepsMax?: number;
  /** Wall-clock bound for the whole check; needs `nowMs`. */
  timeoutMs?: number;
  /** The clock `timeoutMs` is measured with, e.g. `() => performance.now()` in a command. */
  nowMs?: () => number;
  /** Memory the memo of one key's search may take. Default MEMO_BYTES_MAX_DEFAULT. */
  memoBytesMax?: number;
}

/** About ten seconds of search on a 2020s core: far beyond what a correct 10,000-operation history needs. */
export const STEPS_MAX_DEFAULT = 200_000_000;
export const MEMO_BYTES_MAX_DEFAULT = 512 * 1024 * 1024;
/** Steps between looks at the clock: a clock read costs as much as hundreds of steps. */
export const STEPS_PER_CLOCK_READ = 4096;

export class Budget {
  readonly stepsMax: number;
  readonly memoWordsMax: number;
  private readonly deadlineMs: number;
  private readonly nowMs: (() => number) | undefined;
  private used = 0;

  constructor(limits: CheckLimits = {}) {
    this.stepsMax = limits.stepsMax ?? STEPS_MAX_DEFAULT;
    if (!(this.stepsMax >= 0)) throw new RangeError(`stepsMax must be >= 0, got ${limits.stepsMax}`);
    const memoBytesMax = limits.memoBytesMax ?? MEMO_BYTES_MAX_DEFAULT;
    if (!(memoBytesMax >= 0)) throw new RangeError(`memoBytesMax must be >= 0, got ${limits.memoBytesMax}`);
    this.memoWordsMax = Math.floor(memoBytesMax / 4);
    if (limits.timeoutMs !== undefined) {
      if (limits.nowMs === undefined) throw new RangeError('timeoutMs needs nowMs, the clock to measure it with');
      if (!(limits.timeoutMs >= 0)) throw new RangeError(`timeoutMs must be >= 0, got ${limits.timeoutMs}`);
      this.nowMs = limits.nowMs;
      this.deadlineMs = limits.nowMs() + limits.timeoutMs;
    } else {
      this.nowMs = undefined;
      this.deadlineMs = Infinity;
    }
  }

  get stepsUsed(): number {
    return this.used;
  }

  /**
   * Records `steps` steps taken, and grants the next batch: how many steps may
   * run before calling again (at most STEPS_PER_CLOCK_READ, never past
   * stepsMax). Returns the bound reached instead when there is none left.
   */
  charge(steps: number): number | BoundReason {
    this.used += steps;
    if (this.used > this.stepsMax) throw new Error(`invariant: steps stay within their grant (${this.used} > ${this.stepsMax})`);
    if (this.nowMs !== undefined && this.nowMs() > this.deadlineMs) return 'time';
    const grant = Math.min(STEPS_PER_CLOCK_READ, this.stepsMax - this.used);
    return grant > 0 ? grant : 'steps';
  }
}
