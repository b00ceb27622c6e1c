// One client operation on one key of the etcd model, as a history records it.
// The fields are the JSON history format's (sim/etcd/README.md), so a history
// read from a file and one built in code are the same objects.

/** The value stored under a key; `null` means the key is absent. */
export type KvValue = string | null;

export type KvOperationKind = 'put' | 'get' | 'delete' | 'cas';
export const KV_OPERATION_KINDS: readonly KvOperationKind[] = ['put', 'get', 'delete', 'cas'];

interface OperationCommon {
  /** Who issued it. A client's operations are sequential, except that it may abandon one that never returned. */
  client: number;
  key: string;
  invokeMs: number;
  /** When the response arrived. `null` (or absent): it never did, and the operation may or may not have taken effect. */
  returnMs?: number | null;
  /**
   * `false`: the response said the operation did not take effect (an error before it was proposed).
   * The checker drops such an operation. Absent means `true`.
   */
  ok?: boolean;
  /** Anything the recorder wants to keep with the operation; the checker ignores it. */
  meta?: unknown;
}

export interface PutOperation extends OperationCommon {
  op: 'put';
  value: string;
}

export interface GetOperation extends OperationCommon {
  op: 'get';
  /** What the read returned; required once it returned with ok. */
  result?: KvValue;
}

export interface DeleteOperation extends OperationCommon {
  op: 'delete';
  /** How many keys it deleted (0 or 1), or whether it deleted one. Absent: not recorded, so not checked. */
  result?: number | boolean;
}

export interface CasOperation extends OperationCommon {
  op: 'cas';
  /** The value the key must hold for the swap to happen; `null` means "the key is absent". */
  expected: KvValue;
  value: string;
  /** Whether the swap happened; required once it returned with ok. */
  result?: boolean;
}

export type KvOperation = PutOperation | GetOperation | DeleteOperation | CasOperation;

/** An operation together with its position in the history it came from, which is how reports name it. */
export interface IndexedOperation {
  index: number;
  operation: KvOperation;
}

/** True when the operation never returned: it may have taken effect at any time after its invoke, or never. */
export function isPending(operation: KvOperation): boolean {
  return operation.returnMs === null || operation.returnMs === undefined;
}
