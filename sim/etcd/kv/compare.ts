// A txn's guards, evaluated as etcd's applier does (etcdserver/apply.go,
// applyCompare and compareKV): every key in the compared range must pass; an
// empty range compares the zero KeyValue (so CREATE == 0 holds for a missing
// key: create-if-absent), except that a VALUE compare fails on it whatever
// the operator, since a missing value and an empty one cannot be told apart.
import { keySpan } from '../../../src/runtime/etcd/api/bytes.js';
import type { KeyIndex } from './key-index.js';
import { compareLeaseIds, NO_LEASE } from '../../../src/runtime/etcd/api/lease-id.js';
import type { Compare, KeyValue } from '../../../src/runtime/etcd/api/types.js';

const ZERO_KV: KeyValue = Object.freeze({ key: '', createRevision: 0, modRevision: 0, version: 0, value: '', lease: NO_LEASE });

export function comparesHold(index: KeyIndex, revision: number, compares: readonly Compare[]): boolean {
  return compares.every((compare) => compareHolds(index, revision, compare));
}

function compareHolds(index: KeyIndex, revision: number, compare: Compare): boolean {
  const kvs = index.range(keySpan(compare.key, compare.rangeEnd), revision);
  if (kvs.length === 0) return compare.target === 'VALUE' ? false : passes(compare, ZERO_KV);
  return kvs.every((kv) => passes(compare, kv));
}

function passes(compare: Compare, kv: KeyValue): boolean {
  const order = ordering(compare, kv);
  switch (compare.result) {
    case 'EQUAL':
      return order === 0;
    case 'NOT_EQUAL':
      return order !== 0;
    case 'GREATER':
      return order > 0;
    case 'LESS':
      return order < 0;
  }
}

/** The key's field against the compare's operand: negative, zero or positive. */
function ordering(compare: Compare, kv: KeyValue): number {
  switch (compare.target) {
    case 'VALUE':
      return kv.value < compare.value ? -1 : kv.value > compare.value ? 1 : 0;
    case 'VERSION':
      return Math.sign(kv.version - compare.version);
    case 'CREATE':
      return Math.sign(kv.createRevision - compare.createRevision);
    case 'MOD':
      return Math.sign(kv.modRevision - compare.modRevision);
    case 'LEASE':
      return compareLeaseIds(kv.lease, compare.lease);
  }
}
