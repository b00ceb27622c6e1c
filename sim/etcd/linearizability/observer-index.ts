// For the shrinker (minimize.ts): could any operation that stays have
// observed what a write w wrote? An operation o is out of w's reach when it
// returned before w was invoked, or when a separator that stays lies between
// them in real time: a write that returned and leaves a state independent of
// the one it found (a put, a delete, a cas that swapped), invoked after w
// returned and returning before o was invoked. Everything is sorted by invoke
// time once, so a query looks only at the operations near w.
//
// Of the operations that never returned, only a cas whose swap someone saw
// counts as an observer (the value it writes is one a staying operation
// that returned tests for): it could be placed anywhere after its invoke, so
// counting every one would pin every write of its expected value from then
// on, and through those more, and the shrinker would keep most of a long
// history. The price: a write that such a cas needed only to make a swap
// that mattered through a negative test (a later cas that failed, a delete
// that found the key) may go, and the witness may then fail for a reason of
// its own. It is still a history that is not linearizable.
//
// One rule is stricter than soundness needs, for witnesses people can read: a
// write of a value (other than null) that a staying get returned counts as
// observed wherever it is, so a stale read keeps the write it read from.
// (Not for a cas's expected value: cas chains would then keep every link.)
import { isPending, type KvOperation, type KvValue } from './operation.js';

/** What an operation observes about the state it runs in: equal to a value, different from it, or nothing. */
export type Test = { readonly kind: 'none' } | { readonly kind: 'eq'; readonly value: KvValue } | { readonly kind: 'ne'; readonly value: KvValue };

export interface Effect {
  test: Test;
  /** Whether it may change the state, and to what. */
  writes: boolean;
  written: KvValue;
  /** It returned, and leaves a state that does not depend on the one it found. */
  separates: boolean;
}

export class ObserverIndex {
  /** Observers that returned, in invoke order. */
  private readonly observers: { operation: KvOperation; test: Test }[] = [];
  /** Unreturned cas operations whose swap was seen: observers from their invoke on. */
  private readonly unreturned: { operation: KvOperation; test: Test }[] = [];
  private durationMsMax = 0;
  /** Values other than null that a staying get returned. */
  private readonly valuesRead = new Set<string>();
  private readonly separatorInvokeMs: number[] = [];
  /** Per separator (in invoke order): the earliest return among it and those invoked after it. */
  private readonly earliestReturnMsFrom: number[] = [];

  /** `staying`: indices into `operations`, in invoke order. */
  constructor(staying: readonly number[], operations: readonly KvOperation[], effects: readonly Effect[]) {
    const separatorReturnMs: number[] = [];
    for (const i of staying) {
      const operation = operations[i] as KvOperation;
      const effect = effects[i] as Effect;
      if (operation.op === 'get' && operation.result !== undefined && operation.result !== null) this.valuesRead.add(operation.result);
      if (effect.test.kind !== 'none' && !isPending(operation)) {
        this.observers.push({ operation, test: effect.test });
        this.durationMsMax = Math.max(this.durationMsMax, (operation.returnMs as number) - operation.invokeMs);
      }
      if (effect.separates) {
        this.separatorInvokeMs.push(operation.invokeMs);
        separatorReturnMs.push(operation.returnMs as number);
      }
    }
    const valuesTested = new Set<KvValue>(this.observers.flatMap(({ test }) => (test.kind === 'eq' ? [test.value] : [])));
    for (const i of staying) {
      const operation = operations[i] as KvOperation;
      const effect = effects[i] as Effect;
      if (operation.op === 'cas' && isPending(operation) && valuesTested.has(operation.value)) this.unreturned.push({ operation, test: effect.test });
    }
    let earliestMs = Infinity;
    for (let k = separatorReturnMs.length - 1; k >= 0; k--) {
      earliestMs = Math.min(earliestMs, separatorReturnMs[k] as number);
      this.earliestReturnMsFrom[k] = earliestMs;
    }
  }

  /** True if some staying operation within reach of `write` makes an observation its value satisfies. */
  couldObserve(write: KvOperation, effect: Effect): boolean {
    if (effect.written !== null && this.valuesRead.has(effect.written)) return true;
    // Past reachEndMs, a separator has overwritten whatever `write` wrote.
    const reachEndMs = isPending(write)
      ? Infinity
      : (this.earliestReturnMsFrom[firstAbove(this.separatorInvokeMs, write.returnMs as number)] ?? Infinity);
    if (this.unreturned.some(({ operation, test }) => operation.invokeMs <= reachEndMs && satisfies(test, effect.written))) return true;
    // Observers invoked earlier than this returned before `write` was invoked.
    const fromMs = write.invokeMs - this.durationMsMax;
    for (let k = firstAtOrAbove(this.observers, fromMs); k < this.observers.length; k++) {
      const observer = this.observers[k] as { operation: KvOperation; test: Test };
      if (observer.operation.invokeMs > reachEndMs) break;
      if ((observer.operation.returnMs as number) >= write.invokeMs && satisfies(observer.test, effect.written)) return true;
    }
    return false;
  }
}

function satisfies(test: Test, value: KvValue): boolean {
  if (test.kind === 'eq') return test.value === value;
  if (test.kind === 'ne') return test.value !== value;
  return false;
}

/** Index of the first time strictly above `timeMs` in a sorted list. */
function firstAbove(sortedMs: readonly number[], timeMs: number): number {
  let low = 0;
  let high = sortedMs.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((sortedMs[middle] as number) > timeMs) high = middle;
    else low = middle + 1;
  }
  return low;
}

/** Index of the first observer invoked at or after `timeMs`. */
function firstAtOrAbove(observers: readonly { operation: KvOperation }[], timeMs: number): number {
  let low = 0;
  let high = observers.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((observers[middle] as { operation: KvOperation }).operation.invokeMs >= timeMs) high = middle;
    else low = middle + 1;
  }
  return low;
}
