// The simulation engine: one virtual clock, one seeded PRNG, one trace.
//
// Time comes only from a @sinonjs/fake-timers clock made with createClock()
// and never installed globally. fake-timers has 1 ms resolution and turns a
// 0 ms delay scheduled during a tick into 1 ms, so work due "now" goes on the
// engine's own FIFO, which is drained before time moves.
//
// Real Node machinery (streams, TLS over JS streams) continues in nextTicks,
// promise jobs and setImmediate callbacks. After an event that may have
// started such work the engine yields to Node's event loop (a real
// setImmediate round) until nothing new happens, and only then advances the
// clock. What "may have started" means: a promise was created or settled
// (v8 promise hooks), a nextTick or an immediate was queued (async_hooks
// init), or a simulated socket touched a Node stream (markAsync). Purely
// synchronous events (a datagram handled by a plain callback) cost no yield,
// which keeps bulk packet simulation cheap.
//
// Every owned callback runs inside an AsyncLocalStorage holding its owner,
// which Node carries into the nextTicks, promise jobs and immediates it
// starts. A throw there (say, an 'error' event nobody listens to) reaches
// process-level handlers the engine installs while running, and fails that
// owner: the process crashes, the simulation goes on.
import FakeTimers from '@sinonjs/fake-timers';
import { AsyncLocalStorage, createHook } from 'node:async_hooks';
import { promiseHooks } from 'node:v8';
import { Rng } from './rng.js';
import { Trace, type TraceFields, type TraceOptions } from './trace.js';
import { TimerHeap } from './timer-heap.js';

/**
 * One store for every engine: Node propagates each live AsyncLocalStorage
 * into every async resource, so a store per engine (never disabled) made
 * each new world slow down every later run in the process. The store is per
 * async context, so one serves every engine.
 */
const ownerOfCode = new AsyncLocalStorage<Owner>();

/** Virtual wall-clock time at the start of every run: 2026-01-01T00:00:00Z. */
export const SIM_EPOCH_MS = 1_767_225_600_000;

/** Settle rounds allowed at one virtual instant before the run is declared livelocked. */
const SETTLE_ROUNDS_MAX = 100_000;
/** Events handled per macrotask before yielding, so a long run never starves the process. */
const EVENTS_PER_STEP_MAX = 20_000;
/** Same-instant jobs allowed at one virtual instant before the run is declared livelocked. */
const NOW_JOBS_PER_INSTANT_MAX = 5_000_000;
/** Bound on timers waiting at once: beyond it a run is leaking timers, not simulating. */
const PENDING_TIMERS_MAX = 10_000_000;

type FakeClock = ReturnType<typeof FakeTimers.createClock>;

/** Who a scheduled callback belongs to. A dead owner's callbacks never run. */
export interface Owner {
  readonly alive: boolean;
  readonly label: string;
  /** A callback of this owner threw: the owner fails (a process crashes), the run goes on. */
  fail(error: unknown): void;
}

export class SimTimer {
  cancelled = false;
  /** Virtual wall-clock time it is due (ms since the Unix epoch); for same-instant jobs, the time queued. */
  atMs = 0;
  /** Scheduling order: breaks ties between timers due at the same millisecond. */
  seq = 0;
  inHeap = false;
  constructor(
    readonly callback: () => void,
    readonly owner: Owner | undefined,
  ) {}
}

export interface RunOptions {
  /** Stop at this virtual time (ms since the start of the run). */
  untilMs?: number;
  /** Stop this long after the current virtual time. */
  forMs?: number;
  /** Also stop as soon as this returns true (checked whenever the world is settled). */
  stopWhen?: () => boolean;
}

export interface EngineOptions {
  seed: number;
  trace?: TraceOptions;
}

export class SimulationError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(`${code}: ${message}`);
    this.name = 'SimulationError';
    this.code = code;
  }
}

export class Engine {
  /** Runs in progress in this process (process-level error handlers consult it). */
  static activeRuns = 0;
  readonly seed: number;
  readonly rng: Rng;
  readonly trace: Trace;
  readonly clock: FakeClock;
  readonly startMs = SIM_EPOCH_MS;
  /** Timer callbacks and same-instant jobs run so far. */
  eventsRun = 0;
  settleRounds = 0;

  /** Set by the world: where an error that no owner can take is reported. */
  onUnownedError: (error: unknown) => void = (error) => {
    throw error;
  };
  private readonly ownerOfCode = ownerOfCode;
  private abortError: unknown = undefined;
  /** True while the engine queues its own immediate, which must not count as work. */
  private yielding = false;
  private nowQueue: SimTimer[] = [];
  private nowHead = 0;
  private readonly timers = new TimerHeap();
  private nextSeq = 0;
  private dirty = false;
  private running = false;

  constructor(options: EngineOptions) {
    this.seed = options.seed;
    this.rng = Rng.fromSeed(options.seed);
    this.trace = new Trace(options.trace);
    this.clock = FakeTimers.createClock(SIM_EPOCH_MS);
  }

  /** Virtual wall-clock time in ms since the Unix epoch. */
  now(): number {
    return this.clock.now;
  }

  /** Virtual ms since the start of the run. */
  elapsedMs(): number {
    return this.clock.now - this.startMs;
  }

  record(host: string, kind: string, fields?: TraceFields): void {
    this.trace.record(this.elapsedMs(), host, kind, fields);
  }

  /** Runs `callback` after delayMs of virtual time (0: at this instant, after what is already queued). */
  schedule(delayMs: number, callback: () => void, owner?: Owner): SimTimer {
    if (!(delayMs >= 0) || !Number.isFinite(delayMs)) {
      throw new SimulationError('ERR_SIM_BAD_DELAY', `delay must be a finite number >= 0, got ${delayMs}`);
    }
    const timer = new SimTimer(callback, owner);
    const wholeMs = Math.round(delayMs);
    timer.atMs = this.clock.now + wholeMs;
    timer.seq = this.nextSeq++;
    if (wholeMs === 0) {
      this.nowQueue.push(timer);
    } else {
      if (this.timers.size >= PENDING_TIMERS_MAX) {
        throw new SimulationError('ERR_SIM_TOO_MANY_TIMERS', `more than ${PENDING_TIMERS_MAX} timers pending at t=${this.elapsedMs()} ms`);
      }
      timer.inHeap = true;
      this.timers.push(timer);
    }
    return timer;
  }

  cancel(timer: SimTimer | undefined): void {
    if (timer === undefined || timer.cancelled) return;
    timer.cancelled = true;
    if (timer.inHeap) this.timers.noteCancelled();
  }

  /** Timers waiting for a later virtual time (same-instant jobs not included). */
  get pendingTimers(): number {
    return this.timers.size;
  }

  /** Something may have queued Node-internal async work: settle before time moves. */
  markAsync(): void {
    this.dirty = true;
  }

  get isRunning(): boolean {
    return this.running;
  }

  /**
   * Runs the world until the deadline, until stopWhen() holds, or until
   * nothing is scheduled (quiet). Resolves with the virtual time reached.
   */
  run(options: RunOptions = {}): Promise<number> {
    if (this.running) throw new SimulationError('ERR_SIM_REENTRANT', 'run() called while the engine is already running');
    for (const [name, value] of [['untilMs', options.untilMs], ['forMs', options.forMs]] as const) {
      if (value !== undefined && !(typeof value === 'number' && Number.isFinite(value) && value >= 0)) {
        throw new SimulationError('ERR_SIM_BAD_DEADLINE', `${name} must be a finite number >= 0, got ${String(value)}`);
      }
    }
    const deadlineMs =
      options.untilMs ?? (options.forMs !== undefined ? this.elapsedMs() + options.forMs : undefined);
    if (deadlineMs !== undefined && deadlineMs < this.elapsedMs()) {
      throw new SimulationError('ERR_SIM_PAST_DEADLINE', `deadline ${deadlineMs} ms is before now (${this.elapsedMs()} ms)`);
    }
    const deadlineAtMs = deadlineMs === undefined ? Infinity : this.startMs + deadlineMs;
    this.running = true;
    Engine.activeRuns++;
    this.abortError = undefined;
    const stopHooks = this.watchPromises();
    const stopEscapes = this.catchEscapedErrors();

    return new Promise<number>((resolve, reject) => {
      let settleRoundsHere = 0;
      const finish = (error?: unknown): void => {
        stopHooks();
        stopEscapes();
        this.running = false;
        Engine.activeRuns--;
        if (error === undefined) resolve(this.elapsedMs());
        else reject(error);
      };
      const step = (): void => {
        try {
          let budget = EVENTS_PER_STEP_MAX;
          for (;;) {
            this.drainNowQueue();
            if (this.abortError !== undefined) return finish(this.abortError);
            if (this.dirty) {
              this.dirty = false;
              this.settleRounds++;
              if (++settleRoundsHere > SETTLE_ROUNDS_MAX) {
                throw new SimulationError(
                  'ERR_SIM_LIVELOCK',
                  `async work did not settle after ${SETTLE_ROUNDS_MAX} rounds at t=${this.elapsedMs()} ms`,
                );
              }
              // The one place the engine touches real time: let Node drain
              // nextTicks, promise jobs and immediates before time moves.
              this.yieldThen(step);
              return;
            }
            settleRoundsHere = 0;
            if (options.stopWhen !== undefined && options.stopWhen()) return finish();
            const next = this.timers.peek();
            if (next === undefined || next.atMs > deadlineAtMs) {
              // Quiet, or nothing more before the deadline: time jumps to the deadline.
              if (deadlineAtMs !== Infinity && deadlineAtMs > this.clock.now) this.clock.tick(deadlineAtMs - this.clock.now);
              return finish();
            }
            if (--budget === 0) {
              this.yieldThen(step);
              return;
            }
            this.timers.pop();
            if (next.atMs > this.clock.now) this.clock.tick(next.atMs - this.clock.now);
            next.inHeap = false;
            this.runTimer(next);
          }
        } catch (error) {
          finish(error);
        }
      };
      // Start with a settle round so work queued by the caller lands first.
      this.dirty = true;
      step();
    });
  }

  private runTimer(timer: SimTimer): void {
    if (timer.cancelled) return;
    timer.cancelled = true;
    const owner = timer.owner;
    if (owner !== undefined && !owner.alive) return;
    this.eventsRun++;
    if (owner === undefined) {
      timer.callback();
      return;
    }
    this.ownerOfCode.run(owner, () => {
      try {
        timer.callback();
      } catch (error) {
        owner.fail(error);
      }
    });
  }

  /**
   * Errors thrown where no engine frame can catch them (in a nextTick, a
   * promise job, an immediate) fail the owner whose code started that work.
   */
  private catchEscapedErrors(): () => void {
    const onEscaped = (error: unknown): void => {
      const owner = this.ownerOfCode.getStore();
      try {
        if (owner === undefined) this.onUnownedError(error);
        else if (owner.alive) owner.fail(error);
      } catch (unhandled) {
        // A kernel (simulator) bug, or no one to report to: the run stops with it.
        this.abortError ??= unhandled;
        this.dirty = true;
      }
    };
    process.on('uncaughtException', onEscaped);
    process.on('unhandledRejection', onEscaped);
    return () => {
      process.off('uncaughtException', onEscaped);
      process.off('unhandledRejection', onEscaped);
    };
  }

  private drainNowQueue(): void {
    let ran = 0;
    while (this.nowHead < this.nowQueue.length) {
      const timer = this.nowQueue[this.nowHead++] as SimTimer;
      if (++ran > NOW_JOBS_PER_INSTANT_MAX) {
        throw new SimulationError(
          'ERR_SIM_LIVELOCK',
          `more than ${NOW_JOBS_PER_INSTANT_MAX} same-instant jobs at t=${this.elapsedMs()} ms`,
        );
      }
      this.runTimer(timer);
    }
    if (this.nowHead > 0) {
      this.nowQueue = [];
      this.nowHead = 0;
    }
  }

  private yieldThen(step: () => void): void {
    this.yielding = true;
    try {
      // eslint-disable-next-line no-restricted-globals
      setImmediate(step);
    } finally {
      this.yielding = false;
    }
  }

  private watchPromises(): () => void {
    const markDirty = (): void => {
      this.dirty = true;
    };
    const stopInit = promiseHooks.onInit(markDirty);
    const stopSettled = promiseHooks.onSettled(markDirty);
    const ticks = createHook({
      init: (_asyncId, type) => {
        if ((type === 'TickObject' || type === 'Immediate') && !this.yielding) this.dirty = true;
      },
    }).enable();
    return () => {
      stopInit();
      stopSettled();
      ticks.disable();
    };
  }
}
