// The Wing–Gong linearizability search with Lowe's memoization, for the
// operations on one key (P-compositionality: a history is linearizable iff
// the history of each key is, so keys are searched one at a time).
//
// A configuration is (set of linearized operations, register state). From
// one, the search may linearize any operation whose call entry comes before
// the first return entry still in the list (every operation that returned
// before that one was invoked is already linearized, so real-time order
// holds). It tries the candidates in list order, lifts the first one the model
// accepts into a configuration it has not seen, and starts over from the head;
// when it meets a return entry it backs out of the last choice. It stops when
// every operation that returned is linearized, or when it has backed out of
// the empty configuration.
//
// Refinements, each an argument that some linearization survives them:
// - Reads first. If a candidate that leaves the state alone (a get, a cas that
//   did not swap, a delete of nothing) fits the current state, it is the only
//   move tried: moving it to the front of any linearization from here keeps
//   that linearization valid (it sees the same state, and being a candidate,
//   nothing must precede it). If that move fails, the configuration fails.
// - Operations that never returned are optional. They have no return entry, so
//   nothing forces them in; they sit in a second list that is tried only after
//   the returned candidates, and success needs only every returned operation.
//   The memo lets a configuration with fewer of them linearized stand for one
//   with more (memo.ts).
// - Such an operation is linearized only where it is needed. Take a
//   linearization and an unreturned operation p in it that changes the state
//   from s to x, followed by o. If o is a blind write (a put) or nothing, p
//   can be dropped. If o is a returned operation that would also accept s, o
//   either reads (then o can go before p) or overwrites regardless (then p can
//   be dropped). If o is an unreturned cas, it matters only when it swaps
//   after p and not before. Repeating these moves ends (each drops p or moves
//   it past a returned operation) in a linearization where every unreturned
//   operation is followed by one that needs it: a returned operation that
//   rejects s, or an unreturned cas expecting x and not s. So after lifting p,
//   only such a move is tried. Such a "restricted" configuration is not
//   memoized (what it may do depends on s too, and storing s splits the memo
//   for little gain): its next move leads back to configurations that are.
//   And of unreturned operations that do the same thing (same kind, same
//   compiled values: see register-model.ts), only the earliest invoked one
//   still unlinearized is tried: any linearization using a later twin can use
//   the earlier one instead, which was invoked no later.
import type { Budget, BoundReason } from './budget.js';
import { EntryList } from './entry-list.js';
import { LinearizedMemo } from './memo.js';
import { LinearizedSet } from './linearized-set.js';
import type { KvOperation } from './operation.js';
import { ABSENT, REJECT, compileRegisterOps, isReadOnly, observesState, stepRegister, type RegisterOps } from './register-model.js';

export type SearchOutcome =
  /** `order`: a linearization, as indices into the operations searched; unreturned operations left out never took effect. */
  | { verdict: 'linearizable'; order: number[]; memoEntries: number }
  /** `frontierMsMax`: the latest frontier any configuration had; operations invoked after it were never candidates. */
  | { verdict: 'not-linearizable'; memoEntries: number; frontierMsMax: number }
  | { verdict: 'unknown'; reason: BoundReason; memoEntries: number };

const ENTER = 0;
const SCAN = 1;
const BACK = 2;

/**
 * Searches one key's operations. The caller has dropped operations that
 * cannot constrain anything: those with ok false, and gets that never returned.
 */
export function searchLinearization(operations: readonly KvOperation[], budget: Budget): SearchOutcome {
  const ops = compileRegisterOps(operations);
  const count = ops.count;
  const invokeMs = new Float64Array(count);
  const returnMs = new Float64Array(count);
  const readOnly = new Uint8Array(count);
  const observer = new Uint8Array(count);
  const isCas = new Uint8Array(count);
  const lifted = new Uint8Array(count);
  let remaining = 0;
  operations.forEach((operation, op) => {
    invokeMs[op] = operation.invokeMs;
    returnMs[op] = ops.pending[op] === 1 ? NaN : (operation.returnMs as number);
    readOnly[op] = isReadOnly(ops, op) ? 1 : 0;
    observer[op] = observesState(ops, op) ? 1 : 0;
    isCas[op] = operation.op === 'cas' ? 1 : 0;
    if (ops.pending[op] === 0) remaining++;
  });
  const previousTwin = unreturnedTwins(ops, invokeMs);
  const returned = new EntryList({ count, invokeMs, returnMs, include: (op) => ops.pending[op] === 0 });
  const unreturned = new EntryList({ count, invokeMs, returnMs, include: (op) => ops.pending[op] === 1 });
  const set = new LinearizedSet(invokeMs, ops.pending);
  const memo = new LinearizedMemo(set, count, budget.memoWordsMax);
  // The path from the empty configuration: each choice, the state before it, and whether it was forced.
  const stackOp = new Int32Array(count);
  const stackState = new Int32Array(count);
  const stackForced = new Uint8Array(count);
  let depth = 0;
  let state = ABSENT;
  memo.add(set, state);
  const push = (op: number, forced: boolean, next: number): void => {
    stackOp[depth] = op;
    stackState[depth] = state;
    stackForced[depth] = forced ? 1 : 0;
    depth++;
    state = next;
    lifted[op] = 1;
    if (ops.pending[op] === 1) {
      unreturned.lift(op);
    } else {
      returned.lift(op);
      remaining--;
    }
  };

  /** Sets `restricted` and `restrictedFrom` for the configuration on top of the stack. */
  const restrictFromStack = (): void => {
    restricted = depth > 0 && ops.pending[stackOp[depth - 1] as number] === 1;
    if (restricted) restrictedFrom = stackState[depth - 1] as number;
  };
  /** In a restricted configuration: whether `candidate` needs the unreturned operation just lifted (see the file comment). */
  const needs = (candidate: number): boolean => {
    if (ops.pending[candidate] === 1) return isCas[candidate] === 1 && ops.expected[candidate] === state && ops.expected[candidate] !== restrictedFrom;
    return observer[candidate] === 1 && stepRegister(ops, candidate, restrictedFrom) === REJECT;
  };

  let mode = ENTER;
  // Where the scan is: in the returned list, or in the unreturned list up to the frontier.
  let inUnreturned = false;
  let entry = returned.first();
  let frontierMs = 0;
  let frontierMsMax = -Infinity;
  // After lifting an unreturned operation: the state before it, and only a move that needs it may follow.
  let restricted = false;
  let restrictedFrom = 0;
  // Steps are taken in batches granted by the budget.
  let steps = 0;
  let grant = 0;
  const finish = (verdict: 'not-linearizable' | 'linearizable'): SearchOutcome => {
    budget.charge(steps);
    if (verdict === 'not-linearizable') return { verdict, memoEntries: memo.size, frontierMsMax };
    return { verdict, order: Array.from(stackOp.subarray(0, depth)), memoEntries: memo.size };
  };
  const giveUp = (reason: BoundReason): SearchOutcome => {
    budget.charge(steps);
    return { verdict: 'unknown', reason, memoEntries: memo.size };
  };

  for (;;) {
    if (steps === grant) {
      const granted = budget.charge(steps);
      steps = 0;
      if (typeof granted !== 'number') return giveUp(granted);
      grant = granted;
    }
    steps++;

    if (mode === ENTER) {
      if (remaining === 0) return finish('linearizable');
      restrictFromStack();
      const read = readCandidate(returned, ops, readOnly, state);
      if (read < 0) {
        inUnreturned = false;
        entry = returned.first();
        mode = SCAN;
        continue;
      }
      // It was a candidate before the unreturned operation too, and would have been forced there had it fit.
      if (restricted && stepRegister(ops, read, restrictedFrom) !== REJECT) throw new Error('invariant: a read forced after an optional write needs it');
      set.toggle(read);
      if (memo.covers(set, state)) {
        set.toggle(read);
        mode = BACK;
        continue;
      }
      if (!memo.add(set, state)) return giveUp('memory');
      push(read, true, state);
      continue;
    }

    if (mode === BACK) {
      // The current configuration has no completion: undo the choice that led here.
      if (depth === 0) return finish('not-linearizable');
      depth--;
      const op = stackOp[depth] as number;
      state = stackState[depth] as number;
      set.toggle(op);
      lifted[op] = 0;
      if (ops.pending[op] === 1) {
        unreturned.unlift(op);
      } else {
        returned.unlift(op);
        remaining++;
      }
      // A forced move was its configuration's only one: that one has failed too.
      if (stackForced[depth] === 1) continue;
      restrictFromStack();
      if (ops.pending[op] === 1) {
        inUnreturned = true;
        entry = unreturned.next[unreturned.callEntry(op)] as number;
        frontierMs = firstReturnMs(returned);
      } else {
        inUnreturned = false;
        entry = returned.next[returned.callEntry(op)] as number;
      }
      mode = SCAN;
      continue;
    }

    // SCAN: the next candidate at or after `entry`, if any.
    let candidate: number;
    if (!inUnreturned) {
      // An operation that returned is still unlinearized, so its return entry lies ahead.
      if (entry === returned.tail) throw new Error('invariant: the scan meets a return entry before the end of the list');
      if (returned.isReturn[entry] === 1) {
        inUnreturned = true;
        frontierMs = returned.timeMs[entry] as number;
        if (frontierMs > frontierMsMax) frontierMsMax = frontierMs;
        entry = unreturned.first();
        continue;
      }
      candidate = returned.opOf[entry] as number;
    } else {
      if (entry === unreturned.tail || (unreturned.timeMs[entry] as number) > frontierMs) {
        mode = BACK;
        continue;
      }
      candidate = unreturned.opOf[entry] as number;
      const twin = previousTwin[candidate] as number;
      // Twins are lifted in invoke order and unlifted in reverse, so the lifted ones are always the first few.
      if (twin >= 0 && lifted[twin] === 0) {
        entry = unreturned.next[entry] as number;
        continue;
      }
    }

    if (!restricted || needs(candidate)) {
      const next = stepRegister(ops, candidate, state);
      const optional = ops.pending[candidate] === 1;
      // An unreturned operation that changes nothing is never needed.
      if (next !== REJECT && !(optional && next === state)) {
        set.toggle(candidate);
        if (optional || !memo.covers(set, next)) {
          if (!optional && !memo.add(set, next)) return giveUp('memory');
          push(candidate, false, next);
          mode = ENTER;
          continue;
        }
        set.toggle(candidate);
      }
    }
    entry = (inUnreturned ? unreturned.next[entry] : returned.next[entry]) as number;
  }
}

/** Per unreturned operation: the one invoked last before it that does the same thing, or -1. */
function unreturnedTwins(ops: RegisterOps, invokeMs: Float64Array): Int32Array {
  const previous = new Int32Array(ops.count).fill(-1);
  const order = Array.from({ length: ops.count }, (_, op) => op)
    .filter((op) => ops.pending[op] === 1)
    .sort((a, b) => (invokeMs[a] as number) - (invokeMs[b] as number) || a - b);
  const lastOf = new Map<string, number>();
  for (const op of order) {
    const signature = `${ops.kind[op]}/${ops.written[op]}/${ops.expected[op]}`;
    previous[op] = lastOf.get(signature) ?? -1;
    lastOf.set(signature, op);
  }
  return previous;
}

/** A returned read-only candidate whose result fits `state`, or -1. */
function readCandidate(list: EntryList, ops: RegisterOps, readOnly: Uint8Array, state: number): number {
  for (let entry = list.first(); entry !== list.tail && list.isReturn[entry] === 0; entry = list.next[entry] as number) {
    const op = list.opOf[entry] as number;
    if (readOnly[op] === 1 && stepRegister(ops, op, state) === state) return op;
  }
  return -1;
}

/** The time of the first return entry still in the list: no later-invoked operation may be linearized before it. */
function firstReturnMs(list: EntryList): number {
  for (let entry = list.first(); entry !== list.tail; entry = list.next[entry] as number) {
    if (list.isReturn[entry] === 1) return list.timeMs[entry] as number;
  }
  throw new Error('invariant: a configuration being backed out of has an unlinearized returned operation');
}
