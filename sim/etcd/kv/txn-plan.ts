// A txn's path through its guards, fixed before any of its writes, as
// etcd's applier fixes it (etcdserver/apply.go, compareToPath): every guard,
// nested ones included, sees the store as it was before the txn. Then the
// checks that walk that path.
import { keySpan, spanContains, type KeySpan } from '../../../src/runtime/etcd/api/bytes.js';
import { comparesHold } from './compare.js';
import { EtcdKvError } from '../../../src/runtime/etcd/api/errors.js';
import type { KeyIndex } from './key-index.js';
import type { DeleteRangeCommand, PutCommand, RangeCommand, TxnCommand, TxnOp } from '../../../src/runtime/etcd/api/types.js';

/** A txn's path, fixed before any of its writes, as etcd's compareToPath fixes it. */
export interface TxnPlan {
  readonly succeeded: boolean;
  readonly ops: readonly TxnOp[];
  /** The plans of the nested txns among `ops`, by position. */
  readonly nested: ReadonlyMap<number, TxnPlan>;
}

export function planTxn(index: KeyIndex, revision: number, command: TxnCommand): TxnPlan {
  const succeeded = comparesHold(index, revision, command.compare);
  const ops = succeeded ? command.success : command.failure;
  const nested = new Map<number, TxnPlan>();
  ops.forEach((op, position) => {
    if (op.type === 'txn') nested.set(position, planTxn(index, revision, op));
  });
  return { succeeded, ops, nested };
}

/**
 * A put with ignoreValue or ignoreLease needs its key when it runs, not only
 * when the txn begins. etcd checks it at the beginning only, and its
 * duplicate-key check misses a delete to '\0' before the put; so a txn such
 * as [deleteRange('a', '\0'), put('c', ignoreLease)] with 'c' present gets
 * past every check and then fails half way, and etcd 3.4.23 panics on it
 * ("unexpected error during txn: etcdserver: key not found"), on every member
 * that applies the entry. The model refuses such a txn whole instead.
 */
export function checkIgnoredKeysSurvive(plan: TxnPlan): void {
  const deleted: KeySpan[] = [];
  const visit = (current: TxnPlan): void => {
    current.ops.forEach((op, position) => {
      if (op.type === 'deleteRange') deleted.push(keySpan(op.key, op.rangeEnd));
      else if (op.type === 'txn') visit(current.nested.get(position)!);
      else if (op.type === 'put' && (op.ignoreValue === true || op.ignoreLease === true) && deleted.some((span) => spanContains(span, op.key))) {
        throw new EtcdKvError('ERR_ETCD_KEY_NOT_FOUND', 'key not found: an earlier op of the txn deletes the key that ignoreValue or ignoreLease needs');
      }
    });
  };
  visit(plan);
}

/** The puts, deletes and ranges a plan will run, nested txns' included. */
export function collectPlannedOps(plan: TxnPlan, puts: PutCommand[], deletes: DeleteRangeCommand[], ranges: RangeCommand[]): void {
  plan.ops.forEach((op, position) => {
    if (op.type === 'put') puts.push(op);
    else if (op.type === 'deleteRange') deletes.push(op);
    else if (op.type === 'range') ranges.push(op);
    else collectPlannedOps(plan.nested.get(position)!, puts, deletes, ranges);
  });
}