// The checker's entry point: validate, split per key, search each key, and on
// the first key that is not linearizable shrink its history to a small
// offending sub-history.
import { Budget, type BoundReason, type CheckLimits } from './budget.js';
import { validateOperations } from './history.js';
import { minimizeFailure } from './minimize.js';
import type { IndexedOperation, KvOperation } from './operation.js';
import { partitionByKey, type KeyHistory } from './partition.js';
import { searchLinearization } from './wgl-search.js';

export interface CheckOptions extends CheckLimits {
  /** Shrink a failing key's history (default true). */
  minimize?: boolean;
  /** Bounds for the shrinking, which gets its own budget; default: the same limits as the search. */
  minimizeLimits?: CheckLimits;
  /** Return one linearization per key when the history is linearizable (default false). */
  witness?: boolean;
}

interface CheckStats {
  /** Operations in the history, and how many were dropped as unable to constrain anything. */
  operations: number;
  dropped: number;
  keys: number;
  /** Search steps, over all keys, shrinking not included. */
  steps: number;
  /** The most configurations one key's search remembered. */
  memoEntriesMax: number;
}

export type CheckResult =
  | ({
      verdict: 'linearizable';
      /** With `witness`: per key, history indices in linearization order (unreturned operations that took no effect left out). */
      linearizations?: Map<string, number[]>;
    } & CheckStats)
  | ({
      verdict: 'not-linearizable';
      key: string;
      /** A sub-history of `key`'s operations that is itself not linearizable, in invoke order. */
      offending: IndexedOperation[];
      /** False when shrinking ran out of budget (the sub-history still fails, but may shrink further). */
      minimal: boolean;
    } & CheckStats)
  | ({
      verdict: 'unknown';
      reason: BoundReason;
      /** The keys whose search gave up or never started. */
      undecidedKeys: string[];
    } & CheckStats);

/**
 * Checks that `operations` (a history as the JSON format holds it, or built in
 * code) is linearizable against a key-value store of registers. Throws a
 * HistoryError on malformed input.
 */
export function checkHistory(operations: readonly unknown[], options: CheckOptions = {}): CheckResult {
  const history = validateOperations(operations);
  const partition = partitionByKey(history);
  const budget = new Budget(options);
  // Smaller keys first: under a bound, a cheap proof of a violation beats an expensive proof of correctness.
  const keys = [...partition.keys].sort((a, b) => a.operations.length - b.operations.length);
  const stats: CheckStats = { operations: history.length, dropped: partition.dropped, keys: keys.length, steps: 0, memoEntriesMax: 0 };
  const linearizations = new Map<string, number[]>();
  const undecided: string[] = [];
  let reason: BoundReason | undefined;

  for (const keyHistory of keys) {
    // After the step or time bound, searching on would only report the same bound.
    if (reason === 'steps' || reason === 'time') {
      undecided.push(keyHistory.key);
      continue;
    }
    const outcome = searchLinearization(keyHistory.operations, budget);
    stats.memoEntriesMax = Math.max(stats.memoEntriesMax, outcome.memoEntries);
    stats.steps = budget.stepsUsed;
    if (outcome.verdict === 'unknown') {
      reason = outcome.reason;
      undecided.push(keyHistory.key);
    } else if (outcome.verdict === 'not-linearizable') {
      return { verdict: 'not-linearizable', key: keyHistory.key, ...offendingOf(keyHistory, outcome.frontierMsMax, options), ...stats };
    } else if (options.witness === true) {
      linearizations.set(keyHistory.key, outcome.order.map((op) => keyHistory.indices[op] as number));
    }
  }
  if (reason !== undefined) return { verdict: 'unknown', reason, undecidedKeys: undecided, ...stats };
  return { verdict: 'linearizable', ...(options.witness === true ? { linearizations } : {}), ...stats };
}

function offendingOf(keyHistory: KeyHistory, frontierMsMax: number, options: CheckOptions): { offending: IndexedOperation[]; minimal: boolean } {
  const all = keyHistory.operations.map((_, i) => i);
  const { kept, minimal } =
    options.minimize === false
      ? { kept: all, minimal: false }
      : minimizeFailure(keyHistory.operations, frontierMsMax, new Budget(options.minimizeLimits ?? options));
  if (kept.length === 0) throw new Error(`invariant: a failing key keeps at least one operation in its witness (key ${JSON.stringify(keyHistory.key)})`);
  const offending = kept.map((i) => ({ index: keyHistory.indices[i] as number, operation: keyHistory.operations[i] as KvOperation }));
  offending.sort((a, b) => a.operation.invokeMs - b.operation.invokeMs || a.index - b.index);
  return { offending, minimal };
}
