// The vocabulary of the key-value state machine, after etcd v3's API
// (etcd 3.4: etcdserver/etcdserverpb/rpc.proto, mvcc/mvccpb/kv.proto): the
// commands a Raft member applies, and the responses they produce. Commands are
// plain JSON-safe data: they travel as Raft entry data. Field names are
// etcd's, in camelCase; a field left out means what its zero means in etcd.
import type { KvBytes } from './bytes.js';
import type { LeaseId } from './lease-id.js';

/** mvccpb.KeyValue. A DELETE event's kv has only key and modRevision set (the rest zero), as etcd's. */
export interface KeyValue {
  readonly key: KvBytes;
  /** Revision of the put that created this generation of the key. */
  readonly createRevision: number;
  /** Revision of the last change to the key. */
  readonly modRevision: number;
  /** 1 on create, +1 per put; a delete ends the generation (0). */
  readonly version: number;
  readonly value: KvBytes;
  /** NO_LEASE ('0') when none. */
  readonly lease: LeaseId;
}

/**
 * What the state machine knows of etcd's ResponseHeader: the store revision.
 * The member fills cluster_id, member_id and raft_term (../gateway/header.ts).
 * Revision 0 occurs where etcd leaves it unset: a nested txn's response and a
 * watch response that reports compaction.
 */
export interface ResponseHeader {
  readonly revision: number;
}

export type SortOrder = 'NONE' | 'ASCEND' | 'DESCEND';
export type SortTarget = 'KEY' | 'VERSION' | 'CREATE' | 'MOD' | 'VALUE';

export interface RangeCommand {
  readonly type: 'range';
  readonly key: KvBytes;
  /** Absent: just key. '\0': every key >= key. Otherwise [key, rangeEnd); prefixRangeEnd(p) selects a prefix. */
  readonly rangeEnd?: KvBytes;
  /** Read as of this revision; absent or 0: the current one. */
  readonly revision?: number;
  /** At most this many kvs (0 or absent: no limit); `more` says whether there were others. */
  readonly limit?: number;
  readonly sortOrder?: SortOrder;
  readonly sortTarget?: SortTarget;
  /** etcd serves a serializable read from the local member; the driver decides, the state machine ignores it. */
  readonly serializable?: boolean;
  readonly keysOnly?: boolean;
  readonly countOnly?: boolean;
  readonly minModRevision?: number;
  readonly maxModRevision?: number;
  readonly minCreateRevision?: number;
  readonly maxCreateRevision?: number;
}

export interface PutCommand {
  readonly type: 'put';
  readonly key: KvBytes;
  readonly value?: KvBytes;
  /** Attach the key to this lease (it must exist); absent or '0': none (and detach any). */
  readonly lease?: LeaseId;
  readonly prevKv?: boolean;
  /** Keep the key's current value (the key must exist; value must be empty). */
  readonly ignoreValue?: boolean;
  /** Keep the key's current lease (the key must exist; lease must be absent). */
  readonly ignoreLease?: boolean;
}

export interface DeleteRangeCommand {
  readonly type: 'deleteRange';
  readonly key: KvBytes;
  readonly rangeEnd?: KvBytes;
  readonly prevKv?: boolean;
}

export type CompareResult = 'EQUAL' | 'GREATER' | 'LESS' | 'NOT_EQUAL';
export type CompareTarget = 'VERSION' | 'CREATE' | 'MOD' | 'VALUE' | 'LEASE';

/**
 * One guard of a txn. Over a range, every key must pass; a range with no key
 * compares the zero KeyValue, except that a VALUE compare then fails whatever
 * its result (etcdserver/apply.go, applyCompare). Create-if-absent is
 * `{ target: 'CREATE', result: 'EQUAL', createRevision: 0 }`; compare-and-swap
 * is `{ target: 'MOD', result: 'EQUAL', modRevision: <last seen> }`.
 */
export type Compare = {
  readonly key: KvBytes;
  readonly rangeEnd?: KvBytes;
  readonly result: CompareResult;
} & (
  | { readonly target: 'VERSION'; readonly version: number }
  | { readonly target: 'CREATE'; readonly createRevision: number }
  | { readonly target: 'MOD'; readonly modRevision: number }
  | { readonly target: 'VALUE'; readonly value: KvBytes }
  | { readonly target: 'LEASE'; readonly lease: LeaseId }
);

export type TxnOp = RangeCommand | PutCommand | DeleteRangeCommand | TxnCommand;

export interface TxnCommand {
  readonly type: 'txn';
  readonly compare: readonly Compare[];
  readonly success: readonly TxnOp[];
  readonly failure: readonly TxnOp[];
}

export interface CompactCommand {
  readonly type: 'compact';
  readonly revision: number;
  /** etcd waits for the on-disk compaction; nothing to wait for here. */
  readonly physical?: boolean;
}

export interface LeaseGrantCommand {
  readonly type: 'leaseGrant';
  /** Raised to the minimum TTL (limits.minLeaseTtlS), as etcd's lessor does. */
  readonly ttlS: number;
  /** Absent or '0': the state machine picks the next free ID. */
  readonly id?: LeaseId;
}

export interface LeaseRevokeCommand {
  readonly type: 'leaseRevoke';
  readonly id: LeaseId;
}

/**
 * etcd renews leases at the leader without Raft (lessor.Renew); expiry is the
 * leader's soft state. A driver serves this locally rather than proposing it.
 */
export interface LeaseKeepAliveCommand {
  readonly type: 'leaseKeepAlive';
  readonly id: LeaseId;
}

/** Also served locally by the leader in etcd. */
export interface LeaseTimeToLiveCommand {
  readonly type: 'leaseTimeToLive';
  readonly id: LeaseId;
  readonly keys?: boolean;
}

export type KvCommand =
  | RangeCommand
  | PutCommand
  | DeleteRangeCommand
  | TxnCommand
  | CompactCommand
  | LeaseGrantCommand
  | LeaseRevokeCommand
  | LeaseKeepAliveCommand
  | LeaseTimeToLiveCommand;

export type KvCommandType = KvCommand['type'];

export interface RangeResponse {
  readonly type: 'range';
  readonly header: ResponseHeader;
  readonly kvs: readonly KeyValue[];
  /** More keys matched than `limit` let through. */
  readonly more: boolean;
  /** Keys in the range at that revision, before limit and the min/max filters (as etcd counts). */
  readonly count: number;
}

export interface PutResponse {
  readonly type: 'put';
  readonly header: ResponseHeader;
  /** Only when asked for and the key existed. */
  readonly prevKv?: KeyValue;
}

export interface DeleteRangeResponse {
  readonly type: 'deleteRange';
  readonly header: ResponseHeader;
  readonly deleted: number;
  /** Only when asked for. */
  readonly prevKvs: readonly KeyValue[];
}

export type TxnOpResponse = RangeResponse | PutResponse | DeleteRangeResponse | TxnResponse;

export interface TxnResponse {
  readonly type: 'txn';
  readonly header: ResponseHeader;
  readonly succeeded: boolean;
  readonly responses: readonly TxnOpResponse[];
}

export interface CompactResponse {
  readonly type: 'compact';
  readonly header: ResponseHeader;
}

export interface LeaseGrantResponse {
  readonly type: 'leaseGrant';
  readonly header: ResponseHeader;
  readonly id: LeaseId;
  readonly ttlS: number;
}

export interface LeaseRevokeResponse {
  readonly type: 'leaseRevoke';
  readonly header: ResponseHeader;
}

export interface LeaseKeepAliveResponse {
  readonly type: 'leaseKeepAlive';
  readonly header: ResponseHeader;
  readonly id: LeaseId;
  /** The lease's TTL, now restarted; 0 when no such lease (or it had expired): etcd answers so, not with an error. */
  readonly ttlS: number;
}

export interface LeaseTimeToLiveResponse {
  readonly type: 'leaseTimeToLive';
  readonly header: ResponseHeader;
  readonly id: LeaseId;
  /** Seconds left (rounded down); -1 when no such lease, as etcd answers. */
  readonly ttlS: number;
  readonly grantedTtlS: number;
  /** Attached keys in byte order, when asked for. */
  readonly keys: readonly KvBytes[];
}

export interface KvResponseByType {
  range: RangeResponse;
  put: PutResponse;
  deleteRange: DeleteRangeResponse;
  txn: TxnResponse;
  compact: CompactResponse;
  leaseGrant: LeaseGrantResponse;
  leaseRevoke: LeaseRevokeResponse;
  leaseKeepAlive: LeaseKeepAliveResponse;
  leaseTimeToLive: LeaseTimeToLiveResponse;
}

export type KvResponse = KvResponseByType[KvCommandType];
export type ResponseFor<C extends KvCommand> = KvResponseByType[C['type']];

/** mvccpb.Event. */
export interface KvEvent {
  readonly type: 'PUT' | 'DELETE';
  readonly kv: KeyValue;
  /** The key before this change; absent for a create. Watch hands it out only when asked. */
  readonly prevKv?: KeyValue;
}
