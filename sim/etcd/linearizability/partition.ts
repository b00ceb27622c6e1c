// P-compositionality: a history of independent keys is linearizable iff each
// key's sub-history is (Herlihy and Wing's locality), so the checker splits
// the history per key and searches each alone: k small searches instead of
// one whose state space is their product.
//
// Operations that cannot constrain the outcome are dropped here:
// - ok false: the response said it did not take effect;
// - a get that never returned: it changed nothing and observed nothing.
import { isPending, type KvOperation } from './operation.js';

export interface KeyHistory {
  key: string;
  operations: KvOperation[];
  /** Per operation: its index in the whole history. */
  indices: number[];
}

export interface Partition {
  /** In order of the key's first operation. */
  keys: KeyHistory[];
  dropped: number;
}

export function partitionByKey(operations: readonly KvOperation[]): Partition {
  const byKey = new Map<string, KeyHistory>();
  let dropped = 0;
  operations.forEach((operation, index) => {
    if (operation.ok === false || (operation.op === 'get' && isPending(operation))) {
      dropped++;
      return;
    }
    let history = byKey.get(operation.key);
    if (history === undefined) {
      history = { key: operation.key, operations: [], indices: [] };
      byKey.set(operation.key, history);
    }
    history.operations.push(operation);
    history.indices.push(index);
  });
  return { keys: [...byKey.values()], dropped };
}
