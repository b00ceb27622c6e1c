// The linearizability checker, property-based:
// - on small random histories it agrees with a brute-force search over every
//   order of the whole history (no per-key split, no memo, no pruning);
// - histories generated from a sequential model (each operation takes effect
//   at an instant inside its interval) are accepted, with a linearization that
//   an independent replay confirms;
// - mutations that provably break linearizability are rejected, and the
//   offending sub-history names the mutated operation and fails on its own.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { checkHistory, isPending, type CheckResult, type KvOperation, type KvValue } from '../sim/etcd/linearizability/index.js';
import {
  linearizableHistory,
  randomHistoryPlan,
  REALISTIC_SHAPE,
  type HistoryPlan,
  type PlannedOperation,
} from '../sim/etcd/linearizability/generated-history.js';
import { Rng } from '../sim/network/rng.js';

// ---------------------------------------------------------------------------
// An independent oracle: the register semantics written out again, and a
// search over all orders that respect real time.

/** The state after `operation`, or undefined if its recorded result rules it out in `state`. */
function apply(operation: KvOperation, state: KvValue): { state: KvValue } | undefined {
  const unknown = isPending(operation);
  switch (operation.op) {
    case 'put':
      return { state: operation.value };
    case 'get':
      return operation.result === state ? { state } : undefined;
    case 'delete': {
      if (!unknown && operation.result !== undefined) {
        const deleted = operation.result === true || operation.result === 1;
        if (deleted !== (state !== null)) return undefined;
      }
      return { state: null };
    }
    case 'cas': {
      const swaps = operation.expected === state;
      if (!unknown && operation.result !== swaps) return undefined;
      return { state: swaps ? operation.value : state };
    }
  }
}

/** Operations the history format says constrain nothing. */
const ignored = (operation: KvOperation): boolean => operation.ok === false || (operation.op === 'get' && isPending(operation));

function bruteForceLinearizable(history: readonly KvOperation[]): boolean {
  const live = history.filter((operation) => !ignored(operation));
  const done = new Array<boolean>(live.length).fill(false);
  const state = new Map<string, KvValue>();
  const search = (): boolean => {
    // Every operation that returned must be placed; the others are optional.
    if (live.every((operation, i) => done[i] || isPending(operation))) return true;
    for (let i = 0; i < live.length; i++) {
      if (done[i]) continue;
      const candidate = live[i] as KvOperation;
      // Real time: nothing still unplaced returned before this one was invoked.
      const blocked = live.some((other, j) => !done[j] && !isPending(other) && (other.returnMs as number) < candidate.invokeMs);
      if (blocked) continue;
      const before = state.get(candidate.key) ?? null;
      const after = apply(candidate, before);
      if (after === undefined) continue;
      done[i] = true;
      state.set(candidate.key, after.state);
      if (search()) return true;
      done[i] = false;
      state.set(candidate.key, before);
    }
    return false;
  };
  return search();
}

/** Replays a linearization the checker returned, checking real time, completeness and every result. */
function assertValidLinearization(history: readonly KvOperation[], result: CheckResult): void {
  if (result.verdict !== 'linearizable' || result.linearizations === undefined) throw new Error(`expected a linearization, got ${result.verdict}`);
  const placed = new Set<number>();
  for (const [key, order] of result.linearizations) {
    let state: KvValue = null;
    // Real time: no operation returned before one placed earlier was invoked.
    let invokeMsMax = -Infinity;
    order.forEach((index, position) => {
      const operation = history[index] as KvOperation;
      const where = `operation #${index} at position ${position} of key ${key}`;
      if (operation.key !== key || ignored(operation) || placed.has(index)) throw new Error(`${where}: wrong key, ignored, or placed twice`);
      placed.add(index);
      if (!isPending(operation) && (operation.returnMs as number) < invokeMsMax) throw new Error(`${where}: returned before an earlier one was invoked`);
      invokeMsMax = Math.max(invokeMsMax, operation.invokeMs);
      const after = apply(operation, state);
      if (after === undefined) throw new Error(`${where}: its result does not fit state ${JSON.stringify(state)}`);
      state = after.state;
    });
  }
  history.forEach((operation, index) => {
    if (!ignored(operation) && !isPending(operation) && !placed.has(index)) throw new Error(`operation #${index} returned but is not linearized`);
  });
}

// ---------------------------------------------------------------------------
// Small random histories, results drawn at random: mostly not linearizable.

const smallOperation = fc
  .record({
    op: fc.constantFrom('put', 'get', 'delete', 'cas'),
    key: fc.constantFrom('a', 'a', 'a', 'b'),
    value: fc.constantFrom('x', 'y'),
    expected: fc.constantFrom<KvValue>(null, 'x', 'y'),
    getResult: fc.constantFrom<KvValue>(null, 'x', 'y'),
    deleteResult: fc.constantFrom<number | boolean | undefined>(0, 1, true, false, undefined),
    casResult: fc.boolean(),
    invokeMs: fc.nat(10),
    durationMs: fc.nat(6),
    outcome: fc.constantFrom('returned', 'returned', 'returned', 'returned', 'pending', 'failed'),
  })
  .map((draw): KvOperation => {
    const returnMs = draw.outcome === 'pending' ? null : draw.invokeMs + draw.durationMs;
    const answered = draw.outcome === 'returned';
    // The client is set per history below.
    const common = { client: 0, key: draw.key, invokeMs: draw.invokeMs, returnMs, ...(draw.outcome === 'failed' ? { ok: false } : {}) };
    switch (draw.op) {
      case 'put':
        return { op: 'put', ...common, value: draw.value };
      case 'get':
        return { op: 'get', ...common, ...(answered ? { result: draw.getResult } : {}) };
      case 'delete':
        return { op: 'delete', ...common, ...(answered && draw.deleteResult !== undefined ? { result: draw.deleteResult } : {}) };
      default:
        return { op: 'cas', ...common, expected: draw.expected, value: draw.value, ...(answered ? { result: draw.casResult } : {}) };
    }
  });

/** One client per operation, so any overlap is allowed. */
const smallHistory = fc
  .array(smallOperation, { minLength: 1, maxLength: 7 })
  .map((operations) => operations.map((operation, client): KvOperation => ({ ...operation, client })));

describe('linearizability checker against brute force', () => {
  it('gives the same verdict as trying every order, on small random histories', () => {
    fc.assert(
      fc.property(smallHistory, (history) => {
        const expected = bruteForceLinearizable(history);
        const result = checkHistory(history, { witness: true });
        expect(result.verdict).toBe(expected ? 'linearizable' : 'not-linearizable');
        if (result.verdict === 'linearizable') assertValidLinearization(history, result);
        if (result.verdict === 'not-linearizable') {
          const offending = result.offending.map((entry) => entry.operation);
          expect(offending.every((operation) => operation.key === result.key)).toBe(true);
          expect(bruteForceLinearizable(offending)).toBe(false);
          expect(result.minimal).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

// ---------------------------------------------------------------------------
// Histories linearizable by construction, and mutations of them.

const plannedOperation: fc.Arbitrary<PlannedOperation> = fc.record({
  kind: fc.constantFrom('put', 'get', 'get', 'delete', 'cas'),
  key: fc.nat(2),
  gapMs: fc.nat(5),
  durationMs: fc.nat(12),
  pointFraction: fc.double({ min: 0, max: 1, noNaN: true }),
  outcome: fc.oneof(
    { arbitrary: fc.constant('returned' as const), weight: 12 },
    { arbitrary: fc.constantFrom('lost-reply' as const, 'lost-request' as const, 'failed' as const), weight: 2 },
  ),
  casExpects: fc.constantFrom('current', 'written', 'absent', 'unwritten'),
  choice: fc.nat(1000),
});

const plan: fc.Arbitrary<HistoryPlan> = fc.record({
  keys: fc.constant(['a', 'b', 'c']),
  clients: fc.array(fc.array(plannedOperation, { maxLength: 14 }), { minLength: 1, maxLength: 6 }),
});

/** Ops that certainly wrote a value (or might have, for those that never returned), by value. */
function writersByValue(history: readonly KvOperation[]): Map<string, number[]> {
  const writers = new Map<string, number[]>();
  history.forEach((operation, index) => {
    if (ignored(operation)) return;
    const value = operation.op === 'put' ? operation.value : operation.op === 'cas' && operation.result !== false ? operation.value : undefined;
    if (value === undefined) return;
    writers.set(value, [...(writers.get(value) ?? []), index]);
  });
  return writers;
}

/** A write that certainly took effect: returned, and its result says it wrote. */
function definiteWrite(operation: KvOperation): boolean {
  if (ignored(operation) || isPending(operation)) return false;
  if (operation.op === 'put') return true;
  if (operation.op === 'cas') return operation.result === true;
  if (operation.op === 'delete') return operation.result === true || operation.result === 1;
  return false;
}

function returnedGets(history: readonly KvOperation[]): number[] {
  return history.flatMap((operation, index) => (operation.op === 'get' && !ignored(operation) && !isPending(operation) ? [index] : []));
}

function withResult(history: readonly KvOperation[], index: number, result: KvValue): KvOperation[] {
  return history.map((operation, i) => (i === index ? { ...operation, result } : operation) as KvOperation);
}

/** Rejected, naming the mutated operation, with an offending sub-history that fails on its own. */
function assertRejected(history: KvOperation[], mutated: number, options: { mustName: boolean }): void {
  const result = checkHistory(history);
  if (result.verdict !== 'not-linearizable') throw new Error(`mutated operation #${mutated}: expected not-linearizable, got ${result.verdict}`);
  expect(result.key).toBe((history[mutated] as KvOperation).key);
  if (options.mustName) expect(result.offending.map((entry) => entry.index)).toContain(mutated);
  expect(checkHistory(result.offending.map((entry) => entry.operation)).verdict).toBe('not-linearizable');
}

/** A small plan: few clients, few operations each, so brute force stays cheap. */
const smallPlan: fc.Arbitrary<HistoryPlan> = fc.record({
  keys: fc.constant(['a', 'b']),
  clients: fc.array(fc.array(plannedOperation, { maxLength: 5 }), { minLength: 1, maxLength: 3 }),
});

/** Changes one result: a get to another value written to its key (or null), a cas or delete to the other outcome. */
function perturbed(history: readonly KvOperation[], pick: number, valuePick: number): KvOperation[] {
  const answered = history.flatMap((operation, index) => (!ignored(operation) && !isPending(operation) && operation.op !== 'put' ? [index] : []));
  if (answered.length === 0) return [...history];
  const index = answered[pick % answered.length] as number;
  const target = history[index] as KvOperation;
  const written = history.flatMap((operation) => (operation.key === target.key && (operation.op === 'put' || operation.op === 'cas') ? [operation.value] : []));
  const choices: KvValue[] = [null, ...written];
  return history.map((operation, i): KvOperation => {
    if (i !== index) return operation;
    if (operation.op === 'get') return { ...operation, result: choices[valuePick % choices.length] as KvValue };
    if (operation.op === 'cas') return { ...operation, result: !operation.result };
    if (operation.op === 'delete') return { ...operation, result: operation.result === 1 || operation.result === true ? 0 : 1 };
    return operation;
  });
}

describe('linearizability checker against brute force, near linearizable histories', () => {
  it('gives the same verdict on sequential-model histories with one result changed', () => {
    fc.assert(
      fc.property(smallPlan, fc.nat(), fc.nat(), (p, pick, valuePick) => {
        const history = perturbed(linearizableHistory(p), pick, valuePick);
        const expected = bruteForceLinearizable(history);
        const result = checkHistory(history, { witness: true });
        expect(result.verdict).toBe(expected ? 'linearizable' : 'not-linearizable');
        if (result.verdict === 'linearizable') assertValidLinearization(history, result);
        if (result.verdict === 'not-linearizable') expect(bruteForceLinearizable(result.offending.map((entry) => entry.operation))).toBe(false);
      }),
      { numRuns: 1500 },
    );
  });
});

describe('linearizability checker on histories from a sequential model', () => {
  it('accepts every history that has a linearization by construction, and its witness replays', () => {
    fc.assert(
      fc.property(plan, (p) => {
        const history = linearizableHistory(p);
        assertValidLinearization(history, checkHistory(history, { witness: true }));
      }),
      { numRuns: 500 },
    );
  });

  // Removing a get from a linearizable history keeps it linearizable, so an
  // offending sub-history after a read's mutation must contain that read
  // (the shrinker only makes removals that keep the implication).
  it('rejects a get that returns a value nobody wrote', () => {
    fc.assert(
      fc.property(plan, fc.nat(), (p, pick) => {
        const history = linearizableHistory(p);
        const gets = returnedGets(history);
        fc.pre(gets.length > 0);
        const index = gets[pick % gets.length] as number;
        assertRejected(withResult(history, index, 'never-written'), index, { mustName: true });
      }),
      { numRuns: 300 },
    );
  });

  it('rejects a get that returns a value overwritten before it was invoked (stale read)', () => {
    fc.assert(
      fc.property(plan, fc.nat(), (p, pick) => {
        const history = linearizableHistory(p);
        const writers = writersByValue(history);
        const stale: [number, string][] = [];
        for (const g of returnedGets(history)) {
          const read = history[g] as KvOperation;
          for (const [value, [w, ...others]] of writers) {
            const writer = history[w as number] as KvOperation;
            if (others.length > 0 || writer.key !== read.key || isPending(writer)) continue;
            // Some definite write on the key starts after the writer returned and returns before the read starts.
            const overwritten = history.some(
              (o) => o.key === read.key && definiteWrite(o) && o !== writer && (writer.returnMs as number) < o.invokeMs && (o.returnMs as number) < read.invokeMs,
            );
            if (overwritten) stale.push([g, value]);
          }
        }
        fc.pre(stale.length > 0);
        const [index, value] = stale[pick % stale.length] as [number, string];
        assertRejected(withResult(history, index, value), index, { mustName: true });
      }),
      { numRuns: 300 },
    );
  });

  it('rejects a get that returns a value written only after it returned (read from the future)', () => {
    fc.assert(
      fc.property(plan, fc.nat(), (p, pick) => {
        const history = linearizableHistory(p);
        const writers = writersByValue(history);
        const future: [number, string][] = [];
        for (const g of returnedGets(history)) {
          const read = history[g] as KvOperation;
          for (const [value, [w, ...others]] of writers) {
            const writer = history[w as number] as KvOperation;
            if (others.length === 0 && writer.key === read.key && writer.invokeMs > (read.returnMs as number)) future.push([g, value]);
          }
        }
        fc.pre(future.length > 0);
        const [index, value] = future[pick % future.length] as [number, string];
        assertRejected(withResult(history, index, value), index, { mustName: true });
      }),
      { numRuns: 300 },
    );
  });

  it('rejects two compare-and-swaps that both succeed on a value written once', () => {
    fc.assert(
      fc.property(plan, fc.nat(), (p, pick) => {
        const history = linearizableHistory(p);
        const writers = writersByValue(history);
        const pairs: [number, number, string][] = [];
        history.forEach((first, c1) => {
          if (first.op !== 'cas' || first.result !== true || first.expected === null) return;
          const sole = writers.get(first.expected);
          if (sole?.length !== 1) return;
          history.forEach((second, c2) => {
            if (second.op !== 'cas' || c2 === c1 || second.key !== first.key || isPending(second) || ignored(second)) return;
            if (sole[0] === c2) return;
            pairs.push([c1, c2, first.expected as string]);
          });
        });
        fc.pre(pairs.length > 0);
        const [, c2, expected] = pairs[pick % pairs.length] as [number, number, string];
        const mutated = history.map((operation, i) => (i === c2 ? { ...operation, expected, result: true } : operation) as KvOperation);
        assertRejected(mutated, c2, { mustName: false });
      }),
      { numRuns: 300 },
    );
  });
});

describe('linearizability checker at scale', () => {
  it('accepts 10,000 operations from 10 clients over 5 keys, and over one key, and rejects a mutated read', () => {
    for (const keys of [5, 1]) {
      const history = linearizableHistory(randomHistoryPlan(Rng.fromSeed(7), { ...REALISTIC_SHAPE, keys }));
      expect(history).toHaveLength(10_000);
      assertValidLinearization(history, checkHistory(history, { witness: true }));
      const gets = returnedGets(history);
      const index = gets[Math.floor(gets.length / 2)] as number;
      const result = checkHistory(withResult(history, index, 'never-written'));
      expect(result).toMatchObject({ verdict: 'not-linearizable', minimal: true });
      if (result.verdict === 'not-linearizable') expect(result.offending.map((entry) => entry.index)).toEqual([index]);
    }
  });
});
