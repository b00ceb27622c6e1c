// The simulation engine (sim/network/engine.ts) and its PRNG (rng.ts): event
// order, run limits, owners, promise continuations at the right virtual
// instant, and the properties the determinism contract rests on.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Engine, SIM_EPOCH_MS, SimulationError, type Owner } from '../sim/network/engine.js';
import { Rng } from '../sim/network/rng.js';
import { World } from '../sim/network/world.js';

function newEngine(seed = 1): Engine {
  return new Engine({ seed });
}

/** An owner whose liveness a test switches, and which keeps what fail() was given. */
class TestOwner implements Owner {
  alive = true;
  readonly failures: unknown[] = [];
  constructor(readonly label: string) {}
  fail(error: unknown): void {
    this.failures.push(error);
  }
}

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(SimulationError);
    return (error as SimulationError).code;
  }
  return undefined;
}

function draws(rng: Rng, count: number): number[] {
  return Array.from({ length: count }, () => rng.uint32());
}

// ------------------------------------------------------------------ order of events

describe('Engine event order', () => {
  it('runs same-instant jobs in FIFO order, including jobs they queue, before time advances', async () => {
    const engine = newEngine();
    const order: string[] = [];
    const at = (label: string) => () => order.push(`${label}@${engine.elapsedMs()}`);
    engine.schedule(1, at('timer'));
    engine.schedule(0, () => {
      order.push(`first@${engine.elapsedMs()}`);
      // Queued behind "second" and "third", still at this instant.
      engine.schedule(0, at('queued-by-first'));
    });
    engine.schedule(0, at('second'));
    engine.schedule(0, at('third'));

    await engine.run();

    expect(order).toEqual(['first@0', 'second@0', 'third@0', 'queued-by-first@0', 'timer@1']);
  });

  it('runs same-instant jobs queued by a timer before the next timer, at the timer instant', async () => {
    const engine = newEngine();
    const order: string[] = [];
    engine.schedule(5, () => {
      order.push(`t5@${engine.elapsedMs()}`);
      engine.schedule(0, () => order.push(`job@${engine.elapsedMs()}`));
    });
    engine.schedule(6, () => order.push(`t6@${engine.elapsedMs()}`));

    await engine.run();

    expect(order).toEqual(['t5@5', 'job@5', 't6@6']);
  });

  it('fires timers in virtual-time order whatever the order they were scheduled in', async () => {
    const engine = newEngine();
    const fired: number[] = [];
    for (const delayMs of [30, 10, 250, 20, 1, 10_000]) {
      engine.schedule(delayMs, () => fired.push(engine.elapsedMs()));
    }
    await engine.run();
    expect(fired).toEqual([1, 10, 20, 30, 250, 10_000]);
  });

  it('fires timers due at the same instant in the order they were scheduled', async () => {
    const engine = newEngine();
    const fired: string[] = [];
    for (const label of ['a', 'b', 'c', 'd']) engine.schedule(7, () => fired.push(label));
    await engine.run();
    expect(fired).toEqual(['a', 'b', 'c', 'd']);
  });

  it('property: any set of delays fires sorted by delay, ties in scheduling order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 5_000 }), { maxLength: 40 }), async (delays) => {
        const engine = newEngine();
        const fired: Array<{ index: number; atMs: number }> = [];
        delays.forEach((delayMs, index) => engine.schedule(delayMs, () => fired.push({ index, atMs: engine.elapsedMs() })));
        await engine.run();
        const expected = delays
          .map((delayMs, index) => ({ index, atMs: delayMs }))
          .sort((x, y) => x.atMs - y.atMs || x.index - y.index);
        expect(fired).toEqual(expected);
      }),
      { numRuns: 50 },
    );
  });

  it('property: under heavy scheduling and cancelling, exactly the live timers run, in (time, scheduling) order', async () => {
    // Thousands of cancellations go past the event queue's compaction threshold.
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 100, max: 4_000 }), async (seed, count) => {
        const rng = Rng.fromSeed(seed);
        const engine = newEngine();
        const fired: number[] = [];
        const scheduled: Array<{ index: number; atMs: number; timer: ReturnType<Engine['schedule']> }> = [];
        const cancelled = new Set<number>();
        for (let index = 0; index < count; index++) {
          const atMs = rng.int(4) === 0 ? 0 : 1 + rng.int(2_000);
          scheduled.push({ index, atMs, timer: engine.schedule(atMs, () => fired.push(index)) });
          // Cancel about two thirds of what exists so far, some more than once.
          if (rng.int(3) !== 0) {
            const victim = scheduled[rng.int(scheduled.length)] as (typeof scheduled)[number];
            engine.cancel(victim.timer);
            cancelled.add(victim.index);
          }
        }
        const live = scheduled.filter((entry) => !cancelled.has(entry.index));
        expect(engine.pendingTimers).toBe(live.filter((entry) => entry.atMs > 0).length);

        await engine.run();

        const expected = [...live].sort((x, y) => x.atMs - y.atMs || x.index - y.index).map((entry) => entry.index);
        expect(fired).toEqual(expected);
        expect(engine.pendingTimers).toBe(0);
      }),
      { numRuns: 30 },
    );
  });

  it('rounds a sub-millisecond delay to whole virtual milliseconds (1 ms resolution)', async () => {
    const engine = newEngine();
    const fired: Array<[string, number]> = [];
    engine.schedule(0.4, () => fired.push(['0.4', engine.elapsedMs()]));
    engine.schedule(0.6, () => fired.push(['0.6', engine.elapsedMs()]));
    engine.schedule(2.5, () => fired.push(['2.5', engine.elapsedMs()]));
    await engine.run();
    expect(fired).toEqual([
      ['0.4', 0],
      ['0.6', 1],
      ['2.5', 3],
    ]);
  });
});

// ------------------------------------------------------------------ run limits

describe('Engine.run limits', () => {
  it('run({ untilMs }) stops at the deadline, leaving later timers for the next run', async () => {
    const engine = newEngine();
    const fired: number[] = [];
    for (const delayMs of [10, 49, 50, 51, 100]) engine.schedule(delayMs, () => fired.push(engine.elapsedMs()));

    expect(await engine.run({ untilMs: 50 })).toBe(50);
    expect(engine.elapsedMs()).toBe(50);
    // A timer due exactly at the deadline may or may not have fired; nothing later did.
    expect(fired.filter((atMs) => atMs !== 50)).toEqual([10, 49]);

    expect(await engine.run()).toBe(100);
    expect(fired).toEqual([10, 49, 50, 51, 100]);
  });

  it('run({ untilMs }) jumps to the deadline when the world goes quiet before it', async () => {
    const engine = newEngine();
    engine.schedule(10, () => undefined);
    expect(await engine.run({ untilMs: 5_000 })).toBe(5_000);
    expect(engine.now()).toBe(SIM_EPOCH_MS + 5_000);
  });

  it('run({ forMs }) stops that long after the current time', async () => {
    const engine = newEngine();
    await engine.run({ untilMs: 300 });
    expect(await engine.run({ forMs: 200 })).toBe(500);
  });

  it('run() stops as soon as nothing is scheduled', async () => {
    const engine = newEngine();
    expect(await engine.run()).toBe(0);
    engine.schedule(1_234, () => undefined);
    expect(await engine.run()).toBe(1_234);
    expect(await engine.run()).toBe(1_234);
  });

  it('run() stops when quiet even though a timer was cancelled (cancelled timers do not keep it alive)', async () => {
    const engine = newEngine();
    const timer = engine.schedule(60_000, () => undefined);
    engine.cancel(timer);
    expect(await engine.run()).toBe(0);
  });

  it('stopWhen stops the run at the first settled moment it holds', async () => {
    const engine = newEngine();
    let ticks = 0;
    const tick = (): void => {
      ticks++;
      engine.schedule(10, tick);
    };
    engine.schedule(10, tick);
    expect(await engine.run({ stopWhen: () => ticks >= 5 })).toBe(50);
    expect(ticks).toBe(5);
    // The periodic timer is still there: a bounded run goes on from where it stopped.
    expect(await engine.run({ untilMs: 95 })).toBe(95);
    expect(ticks).toBe(9);
  });

  it('stopWhen that already holds stops before anything runs', async () => {
    const engine = newEngine();
    let ran = false;
    engine.schedule(1, () => {
      ran = true;
    });
    expect(await engine.run({ stopWhen: () => true })).toBe(0);
    expect(ran).toBe(false);
  });

  it('rejects a deadline in the past (ERR_SIM_PAST_DEADLINE)', async () => {
    const engine = newEngine();
    await engine.run({ untilMs: 100 });
    expect(codeOf(() => engine.run({ untilMs: 99 }))).toBe('ERR_SIM_PAST_DEADLINE');
  });

  it('rejects a run started while one is going on (ERR_SIM_REENTRANT)', async () => {
    const engine = newEngine();
    engine.schedule(10, () => undefined);
    const running = engine.run();
    expect(engine.isRunning).toBe(true);
    expect(codeOf(() => engine.run())).toBe('ERR_SIM_REENTRANT');
    expect(await running).toBe(10);
    expect(engine.isRunning).toBe(false);
  });
});

// ------------------------------------------------------------------ cancellation and owners

describe('Engine timers and owners', () => {
  it('never runs a cancelled timer (timed or same-instant), and cancelling twice is harmless', async () => {
    const engine = newEngine();
    const fired: string[] = [];
    const timed = engine.schedule(10, () => fired.push('timed'));
    const now = engine.schedule(0, () => fired.push('now'));
    const late = engine.schedule(20, () => fired.push('late'));
    engine.schedule(5, () => engine.cancel(late));
    engine.schedule(15, () => fired.push('kept'));
    engine.cancel(timed);
    engine.cancel(timed);
    engine.cancel(now);
    engine.cancel(undefined);
    await engine.run();
    expect(fired).toEqual(['kept']);
  });

  it("never runs a dead owner's timer, even one scheduled while it was alive", async () => {
    const engine = newEngine();
    const owner = new TestOwner('p1');
    const fired: string[] = [];
    engine.schedule(10, () => fired.push('before-death'), owner);
    engine.schedule(20, () => {
      owner.alive = false;
    });
    engine.schedule(30, () => fired.push('after-death'), owner);
    engine.schedule(20, () => fired.push('same-instant-after-death'), owner);
    engine.schedule(40, () => fired.push('ownerless'));
    await engine.run();
    expect(fired).toEqual(['before-death', 'ownerless']);
    expect(owner.failures).toEqual([]);
  });

  it("never runs a dead owner's same-instant job", async () => {
    const engine = newEngine();
    const owner = new TestOwner('p1');
    owner.alive = false;
    let ran = false;
    engine.schedule(0, () => {
      ran = true;
    }, owner);
    await engine.run();
    expect(ran).toBe(false);
  });

  it('gives fail(error) to an owner whose callback throws, and the run goes on', async () => {
    const engine = newEngine();
    const crashing = new TestOwner('crashing');
    const bystander = new TestOwner('bystander');
    const boom = new Error('boom');
    const fired: string[] = [];
    engine.schedule(10, () => {
      throw boom;
    }, crashing);
    engine.schedule(0, () => {
      throw new Error('boom now');
    }, crashing);
    engine.schedule(20, () => fired.push(`bystander@${engine.elapsedMs()}`), bystander);

    expect(await engine.run()).toBe(20);

    expect(crashing.failures).toHaveLength(2);
    expect((crashing.failures[0] as Error).message).toBe('boom now');
    expect(crashing.failures[1]).toBe(boom);
    expect(bystander.failures).toEqual([]);
    expect(fired).toEqual(['bystander@20']);
  });

  it('rejects the run when an ownerless callback throws (a bug in the simulation itself)', async () => {
    const engine = newEngine();
    engine.schedule(10, () => {
      throw new Error('simulator bug');
    });
    await expect(engine.run()).rejects.toThrow('simulator bug');
    expect(engine.isRunning).toBe(false);
  });

  it('rejects negative, NaN and infinite delays with ERR_SIM_BAD_DELAY', () => {
    const engine = newEngine();
    for (const delayMs of [-1, -0.001, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      expect(codeOf(() => engine.schedule(delayMs, () => undefined)), `delay ${delayMs}`).toBe('ERR_SIM_BAD_DELAY');
    }
    expect(engine.pendingTimers).toBe(0);
  });
});

// ------------------------------------------------------------------ promise continuations

describe('Engine and promise continuations', () => {
  function platformOfNewHost(seed = 1) {
    const world = new World({ seed });
    const host = world.host('h');
    return { world, clock: host.platform.clock };
  }

  it('resumes an async function awaiting clock.sleep at exactly the virtual instant it is due', async () => {
    const { world, clock } = platformOfNewHost();
    const startMs = clock.now();
    expect(startMs).toBe(SIM_EPOCH_MS);
    const seen: number[] = [];
    const done = (async () => {
      await clock.sleep(100);
      seen.push(clock.now() - startMs);
      await clock.sleep(0);
      seen.push(clock.now() - startMs);
      await clock.sleep(1);
      seen.push(clock.now() - startMs);
      await clock.sleep(2_500);
      seen.push(clock.now() - startMs);
      return 'finished';
    })();

    expect(await world.run()).toBe(2_601);
    expect(seen).toEqual([100, 100, 101, 2_601]);
    await expect(done).resolves.toBe('finished');
  });

  it('lets a continuation run (and schedule) before a timer due one millisecond later', async () => {
    const { world, clock } = platformOfNewHost();
    const order: string[] = [];
    world.engine.schedule(11, () => order.push(`timer@${world.engine.elapsedMs()}`));
    void (async () => {
      await clock.sleep(10);
      order.push(`continuation@${world.engine.elapsedMs()}`);
      // A deep chain of awaits at the same instant still finishes before time moves.
      for (let i = 0; i < 50; i++) await Promise.resolve();
      order.push(`after-50-awaits@${world.engine.elapsedMs()}`);
      await clock.sleep(1);
      order.push(`second-sleep@${world.engine.elapsedMs()}`);
    })();

    await world.run();

    // The second sleep was scheduled after the ownerless timer due at the same instant, so it fires after it.
    expect(order).toEqual(['continuation@10', 'after-50-awaits@10', 'timer@11', 'second-sleep@11']);
  });

  it('resumes nested async functions and Promise.all of sleeps at the right instants', async () => {
    const { world, clock } = platformOfNewHost();
    const startMs = clock.now();
    const nap = async (delayMs: number): Promise<number> => {
      await clock.sleep(delayMs);
      return clock.now() - startMs;
    };
    const results: number[][] = [];
    void (async () => {
      results.push(await Promise.all([nap(30), nap(10), nap(20)]));
      results.push([await nap(5), await nap(5)]);
    })();
    await world.run();
    expect(results).toEqual([
      [30, 10, 20],
      [35, 40],
    ]);
  });

  it('runs a sleeping host-context continuation that throws as a failure of the run, not an unhandled rejection', async () => {
    const { world, clock } = platformOfNewHost();
    world.getHost('h').onBoot(async () => {
      await clock.sleep(42);
      throw new Error('scenario code failed');
    });
    await world.run();
    expect(world.failures.map((failure) => [failure.host, failure.atMs, String(failure.error)])).toEqual([
      ['h', 42, 'Error: scenario code failed'],
    ]);
  });

  it('rejects clock.sleep with ABORT_ERR when its signal aborts, at the abort instant', async () => {
    const { world, clock } = platformOfNewHost();
    const controller = new AbortController();
    let outcome = '';
    void clock.sleep(1_000, controller.signal).then(
      () => (outcome = 'resolved'),
      (error: { code?: string }) => (outcome = `${error.code}@${world.engine.elapsedMs()}`),
    );
    world.engine.schedule(300, () => controller.abort());
    expect(await world.run()).toBe(300);
    expect(outcome).toBe('ABORT_ERR@300');
  });
});

// ------------------------------------------------------------------ Rng

describe('Rng', () => {
  const seedArb = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
  const labelArb = fc.string({ maxLength: 12 });

  it('gives the same numbers for the same seed and label', () => {
    fc.assert(
      fc.property(seedArb, labelArb, (seed, label) => {
        expect(draws(Rng.fromSeed(seed).fork(label), 16)).toEqual(draws(Rng.fromSeed(seed).fork(label), 16));
        expect(draws(Rng.fromSeed(seed), 16)).toEqual(draws(Rng.fromSeed(seed), 16));
      }),
      { numRuns: 100 },
    );
  });

  it("is the engine's rng for the same seed", () => {
    expect(draws(new Engine({ seed: 99 }).rng, 8)).toEqual(draws(Rng.fromSeed(99), 8));
  });

  it('gives different numbers for different seeds or labels', () => {
    fc.assert(
      fc.property(seedArb, labelArb, labelArb, (seed, label, other) => {
        fc.pre(label !== other);
        expect(draws(Rng.fromSeed(seed).fork(label), 4)).not.toEqual(draws(Rng.fromSeed(seed).fork(other), 4));
      }),
      { numRuns: 100 },
    );
    expect(draws(Rng.fromSeed(1), 4)).not.toEqual(draws(Rng.fromSeed(2), 4));
  });

  it('forks streams independent of how many numbers the parent drew, before or after the fork', () => {
    fc.assert(
      fc.property(seedArb, labelArb, fc.nat({ max: 200 }), fc.nat({ max: 200 }), (seed, label, before, after) => {
        const fresh = draws(Rng.fromSeed(seed).fork(label), 16);

        const parent = Rng.fromSeed(seed);
        draws(parent, before);
        const child = parent.fork(label);
        draws(parent, after);
        expect(draws(child, 16)).toEqual(fresh);
      }),
      { numRuns: 100 },
    );
  });

  it('forks nested labels by path: fork("a").fork("b") is its own stream, the same every time', () => {
    const nested = draws(Rng.fromSeed(5).fork('a').fork('b'), 8);
    expect(draws(Rng.fromSeed(5).fork('a').fork('b'), 8)).toEqual(nested);
    expect(draws(Rng.fromSeed(5).fork('b').fork('a'), 8)).not.toEqual(nested);
    expect(Rng.fromSeed(5).fork('a').fork('b').path).toBe('pf9lab/5/a/b');
  });

  it('int(n) stays within [0, n) and is an integer, for small and huge n', () => {
    fc.assert(
      fc.property(seedArb, fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (seed, maxExclusive) => {
        const rng = Rng.fromSeed(seed);
        for (let i = 0; i < 20; i++) {
          const value = rng.int(maxExclusive);
          expect(Number.isSafeInteger(value)).toBe(true);
          expect(value).toBeGreaterThanOrEqual(0);
          expect(value).toBeLessThan(maxExclusive);
        }
      }),
      { numRuns: 200 },
    );
    const rng = Rng.fromSeed(3);
    for (let i = 0; i < 100; i++) expect(rng.int(1)).toBe(0);
  });

  it('int(n) reaches every value of a small range, about uniformly', () => {
    const rng = Rng.fromSeed(11);
    const counts = new Array<number>(10).fill(0);
    const samples = 20_000;
    for (let i = 0; i < samples; i++) {
      const value = rng.int(10);
      counts[value] = (counts[value] ?? 0) + 1;
    }
    for (const count of counts) {
      // Expected 2000 each; ±15% is far outside sampling noise (σ ≈ 42).
      expect(count).toBeGreaterThan(1_700);
      expect(count).toBeLessThan(2_300);
    }
  });

  it('int() rejects a bound that is not a positive safe integer', () => {
    const rng = Rng.fromSeed(1);
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(() => rng.int(bad), `int(${bad})`).toThrow(RangeError);
    }
  });

  it('range(min, max) is inclusive at both ends', () => {
    const rng = Rng.fromSeed(4);
    const seen = new Set<number>();
    for (let i = 0; i < 500; i++) seen.add(rng.range(3, 6));
    expect([...seen].sort()).toEqual([3, 4, 5, 6]);
  });

  it('bytes(n) has length n and is the same for the same seed', () => {
    fc.assert(
      fc.property(seedArb, fc.nat({ max: 4_099 }), (seed, length) => {
        const bytes = Rng.fromSeed(seed).bytes(length);
        expect(bytes).toHaveLength(length);
        expect(Rng.fromSeed(seed).bytes(length).equals(bytes)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('float() stays within [0, 1)', () => {
    const rng = Rng.fromSeed(8);
    for (let i = 0; i < 10_000; i++) {
      const value = rng.float();
      expect(value >= 0 && value < 1).toBe(true);
    }
  });

  it('fromSeed rejects a seed that is not a non-negative safe integer', () => {
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 53]) expect(() => Rng.fromSeed(bad), `seed ${bad}`).toThrow(RangeError);
  });
});
