// Shrinks one key's non-linearizable history to a small sub-history that is
// still not linearizable: first a window around where the search got stuck,
// then delta debugging (remove halves, quarters, ..., single operations while
// the rest still fails) until no single allowed removal keeps it failing.
//
// The point of the witness is to show why the whole history fails, so not
// every removal is allowed. Removing an operation that does not change the
// state (a get, a cas that did not swap, a delete of nothing) is: drop it
// from any linearization of the whole and the rest stays valid, so the
// smaller history fails only if the larger one does. Removing a write w of
// value x is allowed when no operation that stays could have observed x
// after w and before something that stays overwrote it (ObserverIndex): then
// dropping w changes nothing anyone saw. Without that rule the shrinker
// would turn a stale read into "a read of a value nobody wrote" by deleting
// the write. (Operations that never returned are observers only in part; see
// ObserverIndex for why and what that allows.)
import type { Budget } from './budget.js';
import type { KvOperation, KvValue } from './operation.js';
import { isPending } from './operation.js';
import { ObserverIndex, type Effect } from './observer-index.js';
import { searchLinearization } from './wgl-search.js';

/** The first window tried around the point where the search got stuck. */
const WINDOW_INITIAL = 8;
/** Rounds of "keep back the writes someone could have seen" before settling for removing reads only. */
const FIXPOINT_ROUNDS_MAX = 16;

export interface Minimized {
  /** Indices into the operations given, in invoke order. */
  kept: number[];
  /** False when the budget ran out first: `kept` still fails, but may not be as small as it gets. */
  minimal: boolean;
}

/**
 * Shrinks `operations`, which the search found not linearizable, getting
 * stuck with its furthest frontier at `frontierMsMax`.
 */
export function minimizeFailure(operations: readonly KvOperation[], frontierMsMax: number, budget: Budget): Minimized {
  const effects = operations.map(effectOf);
  const search = (kept: readonly number[]) =>
    searchLinearization(
      kept.map((i) => operations[i] as KvOperation),
      budget,
    );
  /** The kept operations without the allowed part of `candidates`, if that still fails; null if not; undefined when out of budget. */
  const without = (candidates: readonly number[], kept: readonly number[]): number[] | null | undefined => {
    const removable = allowedRemovals(candidates, kept, operations, effects);
    if (removable.size === 0) return null;
    const rest = kept.filter((i) => !removable.has(i));
    const outcome = search(rest);
    if (outcome.verdict === 'unknown') return undefined;
    return outcome.verdict === 'not-linearizable' ? rest : null;
  };

  let kept = operations.map((_, i) => i).sort((a, b) => (operations[a] as KvOperation).invokeMs - (operations[b] as KvOperation).invokeMs || a - b);
  // A failing search costs as much as everything it can linearize before it
  // gets stuck, so first cut the history down to where it got stuck: the
  // last m operations invoked by its furthest frontier (nothing invoked later
  // was ever a candidate), for m = 8, 16, 32, ... until that still fails.
  // With the window stays a barrier: the latest write that overwrites
  // regardless of what it finds and returns before the window starts. It
  // hides every write that returned before it began from the window, so those
  // may go (see ObserverIndex).
  const reached = kept.filter((i) => (operations[i] as KvOperation).invokeMs <= frontierMsMax);
  for (let windowSize = WINDOW_INITIAL; ; windowSize *= 2) {
    const window = new Set(reached.slice(-windowSize));
    const barrier = barrierBefore(window, kept, operations, effects);
    const rest = without(
      kept.filter((i) => !window.has(i) && i !== barrier),
      kept,
    );
    if (rest === undefined) return { kept, minimal: false };
    if (rest !== null) {
      kept = rest;
      break;
    }
    if (windowSize >= reached.length) break;
  }

  // Delta debugging over what is left: halving chunks, then single-removal
  // passes until one removes nothing; each of those removes an operation, so
  // this bounds the loop.
  let chunk = Math.max(1, Math.ceil(kept.length / 2));
  for (let passesLeft = operations.length + 64; passesLeft > 0; passesLeft--) {
    let removedAny = false;
    for (let start = 0; start < kept.length; ) {
      const rest = without(kept.slice(start, start + chunk), kept);
      if (rest === undefined) return { kept, minimal: false };
      if (rest === null) {
        start += chunk;
      } else {
        kept = rest;
        removedAny = true;
      }
    }
    if (chunk > 1) chunk = Math.ceil(chunk / 2);
    else if (!removedAny) return { kept, minimal: true };
  }
  throw new Error('invariant: shrinking ends within its pass bound');
}

/** The separator invoked last among those that return before every operation of `window` is invoked; -1 if none. */
function barrierBefore(window: ReadonlySet<number>, kept: readonly number[], operations: readonly KvOperation[], effects: readonly Effect[]): number {
  let windowStartMs = Infinity;
  for (const i of window) windowStartMs = Math.min(windowStartMs, (operations[i] as KvOperation).invokeMs);
  let barrier = -1;
  for (const i of kept) {
    const operation = operations[i] as KvOperation;
    if (window.has(i) || !(effects[i] as Effect).separates || (operation.returnMs as number) >= windowStartMs) continue;
    if (barrier < 0 || operation.invokeMs > (operations[barrier] as KvOperation).invokeMs) barrier = i;
  }
  return barrier;
}

/**
 * The subset of `candidates` that may be removed together from `kept` (in
 * invoke order): the reads, and the writes no operation that stays could have
 * observed (see the file comment and ObserverIndex).
 */
function allowedRemovals(candidates: readonly number[], kept: readonly number[], operations: readonly KvOperation[], effects: readonly Effect[]): Set<number> {
  const removing = new Set(candidates);
  // Keeping a write back makes it both an observer and a separator for the
  // others, so repeat until no write in the set is blocked.
  for (let round = 0; round < FIXPOINT_ROUNDS_MAX; round++) {
    const index = new ObserverIndex(
      kept.filter((i) => !removing.has(i)),
      operations,
      effects,
    );
    const blocked = [...removing].filter((w) => (effects[w] as Effect).writes && index.couldObserve(operations[w] as KvOperation, effects[w] as Effect));
    if (blocked.length === 0) return removing;
    for (const w of blocked) removing.delete(w);
  }
  return new Set(candidates.filter((i) => !(effects[i] as Effect).writes));
}

function effectOf(operation: KvOperation): Effect {
  const none = { kind: 'none' } as const;
  const returned = !isPending(operation);
  const eq = (value: KvValue) => ({ kind: 'eq', value }) as const;
  const ne = (value: KvValue) => ({ kind: 'ne', value }) as const;
  switch (operation.op) {
    case 'put':
      return { test: none, writes: true, written: operation.value, separates: returned };
    case 'get':
      return { test: eq(operation.result ?? null), writes: false, written: null, separates: false };
    case 'delete': {
      if (operation.result === undefined || !returned) return { test: none, writes: true, written: null, separates: returned };
      const deleted = operation.result === true || operation.result === 1;
      if (!deleted) return { test: eq(null), writes: false, written: null, separates: true };
      return { test: ne(null), writes: true, written: null, separates: true };
    }
    case 'cas':
      // A cas that never returned swaps exactly when the state equals `expected`, so it observes that.
      if (!returned) return { test: eq(operation.expected), writes: true, written: operation.value, separates: false };
      if (operation.result === true) return { test: eq(operation.expected), writes: true, written: operation.value, separates: true };
      return { test: ne(operation.expected), writes: false, written: null, separates: false };
  }
}
