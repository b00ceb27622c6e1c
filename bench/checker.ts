// The linearizability checker's speed on histories shaped like the etcd
// scenarios' (sim/etcd/linearizability).
//
// Cases, each a seeded history that is linearizable by construction:
// (a) realistic: 10,000 operations from 10 clients over 5 keys, 1-20 ms
//     operations with 0-10 ms gaps (about 7 in flight), 50% gets, 30% puts,
//     10% deletes, 10% cas; 0.4% time out, 0.5% fail. Target: under 1 s.
// (b) one key: the same, all on one key (7 in flight on it).
// (c) timeouts: (a) with 5% of operations never returning.
// (d) violation: (b) with one read changed to a value never written: the
//     search must fail exhaustively, then shrink to a minimal witness.
// Baseline, for the ratio: a plain sequential replay of the same history
// (validate every operation, sort by invoke time, apply each to a map of
// registers), measured interleaved with the cases, so the ratio shows the
// search's cost apart from the machine's speed of the day. The first check
// in the process is reported on its own: that is what a fresh
// `npm run check-history` pays, JIT warm-up included.
import { checkHistory, validateOperations, type CheckResult, type KvOperation, type KvValue } from '../sim/etcd/linearizability/index.js';
import { linearizableHistory, randomHistoryPlan, REALISTIC_SHAPE, type PlanShape } from '../sim/etcd/linearizability/generated-history.js';
import { Rng } from '../sim/network/rng.js';

/** Target from the etcd issue: 10,000 operations from 10 clients in under 1 s. */
const WALL_MS_MAX = 1_000;
const SEED = 1;

interface Case {
  what: string;
  history: KvOperation[];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function generated(shape: PlanShape): KvOperation[] {
  return linearizableHistory(randomHistoryPlan(Rng.fromSeed(SEED), shape));
}

function withNeverWrittenRead(history: KvOperation[]): KvOperation[] {
  const gets = history.flatMap((operation, index) => (operation.op === 'get' && operation.result !== undefined ? [index] : []));
  const victim = gets[Math.floor(gets.length / 2)] as number;
  return history.map((operation, index): KvOperation => (index === victim && operation.op === 'get' ? { ...operation, result: 'never-written' } : operation));
}

/** What every checker pays at least: read each operation once and replay the history in invoke order. */
function sequentialReplay(history: readonly KvOperation[]): number {
  const operations = validateOperations(history);
  const order = operations.map((_, index) => index).sort((a, b) => (operations[a] as KvOperation).invokeMs - (operations[b] as KvOperation).invokeMs);
  const registers = new Map<string, KvValue>();
  let observedMatches = 0;
  for (const index of order) {
    const operation = operations[index] as KvOperation;
    const current = registers.get(operation.key) ?? null;
    if (operation.op === 'put') registers.set(operation.key, operation.value);
    else if (operation.op === 'delete') registers.delete(operation.key);
    else if (operation.op === 'get' && operation.result === current) observedMatches++;
    else if (operation.op === 'cas' && operation.expected === current) registers.set(operation.key, operation.value);
  }
  return observedMatches;
}

function timed<T>(action: () => T): { wallMs: number; value: T } {
  const startMs = performance.now();
  const value = action();
  return { wallMs: performance.now() - startMs, value };
}

export async function benchChecker(repeat: number): Promise<unknown> {
  const cases: Record<string, Case> = {
    realistic: { what: '10,000 operations, 10 clients, 5 keys', history: generated(REALISTIC_SHAPE) },
    oneKey: { what: '10,000 operations, 10 clients, 1 key', history: generated({ ...REALISTIC_SHAPE, keys: 1 }) },
    timeouts: {
      what: '10,000 operations, 10 clients, 5 keys, 5% never return',
      history: generated({ ...REALISTIC_SHAPE, lostReplyRate: 0.025, lostRequestRate: 0.025 }),
    },
    violation: { what: '10,000 operations, 10 clients, 1 key, one read of a value never written', history: withNeverWrittenRead(generated({ ...REALISTIC_SHAPE, keys: 1 })) },
  };
  const cold = timed(() => checkHistory((cases.realistic as Case).history));

  // Warm-up, discarded.
  for (const { history } of Object.values(cases)) checkHistory(history);
  sequentialReplay((cases.realistic as Case).history);

  const replayMs: number[] = [];
  const wallMs: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
  const results: Record<string, CheckResult> = {};
  for (let round = 0; round < repeat; round++) {
    for (const [name, { history }] of Object.entries(cases)) {
      replayMs.push(timed(() => sequentialReplay(history)).wallMs);
      const run = timed(() => checkHistory(history));
      (wallMs[name] as number[]).push(run.wallMs);
      results[name] = run.value;
    }
  }
  const replayMsMedian = median(replayMs);
  const report = Object.fromEntries(
    Object.entries(cases).map(([name, { what, history }]) => {
      const result = results[name] as CheckResult;
      const runs = wallMs[name] as number[];
      return [
        name,
        {
          what,
          operations: history.length,
          verdict: result.verdict,
          ...(result.verdict === 'not-linearizable' ? { offendingOperations: result.offending.length, minimal: result.minimal } : {}),
          steps: result.steps,
          memoEntriesMax: result.memoEntriesMax,
          wallMsMedian: Number(median(runs).toFixed(1)),
          wallMsSpread: { min: Number(Math.min(...runs).toFixed(1)), max: Number(Math.max(...runs).toFixed(1)) },
          costVsSequentialReplay: Number((median(runs) / replayMsMedian).toFixed(1)),
        },
      ];
    }),
  );
  const realisticMs = median(wallMs.realistic as number[]);
  return {
    suite: 'checker',
    node: process.version,
    repeat,
    baseline: {
      what: 'sequential replay of the same history: validate, sort by invoke time, apply to a map of registers',
      wallMsMedian: Number(replayMsMedian.toFixed(2)),
    },
    firstCheckInProcess: { what: 'realistic, cold (JIT warm-up included), as a fresh npm run check-history pays', wallMs: Number(cold.wallMs.toFixed(1)) },
    ...report,
    target: { operations: 10_000, clients: 10, wallMsMax: WALL_MS_MAX, met: realisticMs < WALL_MS_MAX && cold.wallMs < WALL_MS_MAX },
  };
}
