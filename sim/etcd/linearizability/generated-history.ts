// Histories that are linearizable by construction, for property tests and the
// benchmark. Each client runs its operations one after another; each operation
// takes effect at one instant inside its [invoke, return] interval; results
// come from a sequential register per key applied in the order of those
// instants. That order is a linearization, so the checker must accept.
//
// The plan (what each client does, with what timing) is plain data, so
// fast-check can generate and shrink it, and the benchmark can draw it from a
// seeded PRNG.
import type { KvOperation, KvOperationKind, KvValue } from './operation.js';

export type PlannedOutcome =
  /** The response arrived. */
  | 'returned'
  /** No response ever arrived; it took effect anyway. */
  | 'lost-reply'
  /** No response ever arrived; it never took effect. */
  | 'lost-request'
  /** The response said it did not take effect (recorded with ok false). */
  | 'failed';

export interface PlannedOperation {
  kind: KvOperationKind;
  /** Index into the plan's keys. */
  key: number;
  /** Idle time before the invoke, after the client's previous operation returned or was abandoned. */
  gapMs: number;
  /** From invoke to return, or to the moment the client gives up on a lost reply. */
  durationMs: number;
  /** Where in its interval it takes effect, from 0 (at invoke) to 1 (at return). */
  pointFraction: number;
  outcome: PlannedOutcome;
  /** cas only: what it expects: the current value, some value written to the key earlier, absent, or a value nobody writes. */
  casExpects: 'current' | 'written' | 'absent' | 'unwritten';
  /** Picks among earlier values for casExpects 'written'; also picks a delete's result format. */
  choice: number;
}

export interface HistoryPlan {
  keys: string[];
  /** Per client, its operations in order. */
  clients: PlannedOperation[][];
}

interface Placed {
  client: number;
  seq: number;
  planned: PlannedOperation;
  invokeMs: number;
  returnMs: number | null;
  pointMs: number;
  operation?: KvOperation;
}

/** A history that has a linearization: the operations ordered by their instants of effect. */
export function linearizableHistory(plan: HistoryPlan): KvOperation[] {
  if (plan.keys.length === 0) throw new RangeError('a plan needs at least one key');
  const placed: Placed[] = [];
  plan.clients.forEach((operations, client) => {
    let clockMs = 0;
    operations.forEach((planned, seq) => {
      const invokeMs = clockMs + planned.gapMs;
      const endMs = invokeMs + planned.durationMs;
      const returned = planned.outcome === 'returned' || planned.outcome === 'failed';
      placed.push({ client, seq, planned, invokeMs, returnMs: returned ? endMs : null, pointMs: invokeMs + planned.pointFraction * planned.durationMs });
      clockMs = endMs;
    });
  });

  const takesEffect = placed.filter((p) => p.planned.outcome === 'returned' || p.planned.outcome === 'lost-reply');
  takesEffect.sort((a, b) => a.pointMs - b.pointMs || a.client - b.client || a.seq - b.seq);
  const state = new Map<string, KvValue>();
  const written = new Map<string, string[]>();
  for (const p of takesEffect) {
    const key = keyOf(plan, p.planned);
    const current = state.get(key) ?? null;
    const history = written.get(key) ?? [];
    written.set(key, history);
    const value = `v${p.client}.${p.seq}`;
    const common = { client: p.client, key, invokeMs: p.invokeMs, returnMs: p.returnMs };
    const returned = p.returnMs !== null;
    switch (p.planned.kind) {
      case 'put':
        p.operation = { op: 'put', ...common, value };
        state.set(key, value);
        history.push(value);
        break;
      case 'get':
        p.operation = { op: 'get', ...common, ...(returned ? { result: current } : {}) };
        break;
      case 'delete': {
        const deleted = current === null ? 0 : 1;
        const result = p.planned.choice % 2 === 0 ? deleted : deleted === 1;
        p.operation = { op: 'delete', ...common, ...(returned ? { result } : {}) };
        state.set(key, null);
        break;
      }
      case 'cas': {
        const expected = casExpected(p.planned, current, history, p);
        const swaps = expected === current;
        p.operation = { op: 'cas', ...common, expected, value, ...(returned ? { result: swaps } : {}) };
        if (swaps) {
          state.set(key, value);
          history.push(value);
        }
        break;
      }
    }
  }

  // Operations without effect: their fields are recorded, never a result.
  for (const p of placed) {
    if (p.operation !== undefined) continue;
    const key = keyOf(plan, p.planned);
    const common = { client: p.client, key, invokeMs: p.invokeMs, returnMs: p.returnMs, ...(p.planned.outcome === 'failed' ? { ok: false } : {}) };
    const value = `v${p.client}.${p.seq}`;
    switch (p.planned.kind) {
      case 'put':
        p.operation = { op: 'put', ...common, value };
        break;
      case 'get':
        p.operation = { op: 'get', ...common };
        break;
      case 'delete':
        p.operation = { op: 'delete', ...common };
        break;
      case 'cas':
        p.operation = { op: 'cas', ...common, expected: `never.${p.client}.${p.seq}`, value };
        break;
    }
  }
  placed.sort((a, b) => a.invokeMs - b.invokeMs || a.client - b.client || a.seq - b.seq);
  return placed.map((p) => p.operation as KvOperation);
}

function keyOf(plan: HistoryPlan, planned: PlannedOperation): string {
  return plan.keys[planned.key % plan.keys.length] as string;
}

function casExpected(planned: PlannedOperation, current: KvValue, history: readonly string[], p: Placed): KvValue {
  switch (planned.casExpects) {
    case 'current':
      return current;
    case 'written':
      return history.length === 0 ? null : (history[planned.choice % history.length] as string);
    case 'absent':
      return null;
    case 'unwritten':
      return `never.${p.client}.${p.seq}`;
  }
}

/** What the benchmark and the soak tests draw plans from: `Rng` from sim/network/rng.ts fits. */
export interface PlanRandom {
  int(maxExclusive: number): number;
  float(): number;
}

export interface PlanShape {
  clients: number;
  operations: number;
  keys: number;
  durationMsMax: number;
  gapMsMax: number;
  /** Relative weights of put, get, delete, cas. */
  mix: Record<KvOperationKind, number>;
  lostReplyRate: number;
  lostRequestRate: number;
  failedRate: number;
}

export const REALISTIC_SHAPE: PlanShape = {
  clients: 10,
  operations: 10_000,
  keys: 5,
  durationMsMax: 20,
  gapMsMax: 10,
  mix: { put: 3, get: 5, delete: 1, cas: 1 },
  lostReplyRate: 0.002,
  lostRequestRate: 0.002,
  failedRate: 0.005,
};

export function randomHistoryPlan(random: PlanRandom, shape: PlanShape): HistoryPlan {
  const kinds = Object.keys(shape.mix) as KvOperationKind[];
  const weightTotal = kinds.reduce((sum, kind) => sum + shape.mix[kind], 0);
  const pickKind = (): KvOperationKind => {
    let roll = random.float() * weightTotal;
    for (const kind of kinds) {
      roll -= shape.mix[kind];
      if (roll < 0) return kind;
    }
    return kinds[kinds.length - 1] as KvOperationKind;
  };
  const pickOutcome = (): PlannedOutcome => {
    const roll = random.float();
    if (roll < shape.lostReplyRate) return 'lost-reply';
    if (roll < shape.lostReplyRate + shape.lostRequestRate) return 'lost-request';
    if (roll < shape.lostReplyRate + shape.lostRequestRate + shape.failedRate) return 'failed';
    return 'returned';
  };
  const expects = ['current', 'written', 'absent', 'unwritten'] as const;
  const clients: PlannedOperation[][] = Array.from({ length: shape.clients }, () => []);
  for (let i = 0; i < shape.operations; i++) {
    (clients[i % shape.clients] as PlannedOperation[]).push({
      kind: pickKind(),
      key: random.int(shape.keys),
      gapMs: random.int(shape.gapMsMax + 1),
      durationMs: 1 + random.int(shape.durationMsMax),
      pointFraction: random.float(),
      outcome: pickOutcome(),
      casExpects: expects[random.int(expects.length)] as PlannedOperation['casExpects'],
      choice: random.int(1 << 20),
    });
  }
  return { keys: Array.from({ length: shape.keys }, (_, k) => `key${k}`), clients };
}
