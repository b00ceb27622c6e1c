// Errors of etcd's key-value API. EtcdKvError is a refusal a client must
// expect, one per etcd error modelled (../gateway/status.ts maps each to
// etcd's gRPC code and message, and back): the sim's state machine
// (sim/etcd/kv) returns it from apply(), never changing state before it
// refuses. EtcdKvInvariantError is a bug, thrown and never caught, so that the
// fuzzer finds it.

export type EtcdKvErrorCode =
  /** etcdserver: key is not provided */
  | 'ERR_ETCD_EMPTY_KEY'
  /** etcdserver: key not found (ignore_value / ignore_lease on a missing key; an empty txn op) */
  | 'ERR_ETCD_KEY_NOT_FOUND'
  /** etcdserver: value is provided (with ignore_value) */
  | 'ERR_ETCD_VALUE_PROVIDED'
  /** etcdserver: lease is provided (with ignore_lease) */
  | 'ERR_ETCD_LEASE_PROVIDED'
  /** etcdserver: too many operations in txn request */
  | 'ERR_ETCD_TOO_MANY_OPS'
  /** etcdserver: duplicate key given in txn request */
  | 'ERR_ETCD_DUPLICATE_KEY'
  /** etcdserver: request is too large */
  | 'ERR_ETCD_REQUEST_TOO_LARGE'
  /** etcdserver: mvcc: required revision has been compacted */
  | 'ERR_ETCD_COMPACTED'
  /** etcdserver: mvcc: required revision is a future revision */
  | 'ERR_ETCD_FUTURE_REV'
  /** etcdserver: mvcc: database space exceeded (the model's key-count and byte bounds) */
  | 'ERR_ETCD_NO_SPACE'
  /** etcdserver: requested lease not found */
  | 'ERR_ETCD_LEASE_NOT_FOUND'
  /** etcdserver: lease already exists */
  | 'ERR_ETCD_LEASE_EXISTS'
  /** etcdserver: too large lease TTL */
  | 'ERR_ETCD_LEASE_TTL_TOO_LARGE'
  /** Not etcd's: the command is not a well-formed command (wrong type, missing field); `field` says which. */
  | 'ERR_ETCD_BAD_COMMAND';

export class EtcdKvError extends Error {
  readonly code: EtcdKvErrorCode;
  /** The field at fault, as a path ('success[2].put.key'), where one is. */
  readonly field: string | undefined;
  /** For ERR_ETCD_COMPACTED: the store's compact revision, the oldest one still readable. */
  readonly compactRevision: number | undefined;

  constructor(code: EtcdKvErrorCode, detail: string, options: { field?: string; compactRevision?: number } = {}) {
    super(`${code}: ${options.field === undefined ? '' : `${options.field}: `}${detail}`);
    this.name = 'EtcdKvError';
    this.code = code;
    this.field = options.field;
    this.compactRevision = options.compactRevision;
  }
}

/** A bad limit given at construction. */
export class EtcdKvConfigError extends Error {
  readonly code = 'ERR_ETCD_KV_CONFIG';
  readonly field: string;
  constructor(field: string, problem: string) {
    super(`ERR_ETCD_KV_CONFIG: ${field}: ${problem}`);
    this.name = 'EtcdKvConfigError';
    this.field = field;
  }
}

/** A rule of the state machine broke: revisions went backwards, an index disagrees with itself. */
export class EtcdKvInvariantError extends Error {
  readonly code = 'ERR_ETCD_INVARIANT';
  constructor(problem: string) {
    super(`ERR_ETCD_INVARIANT: ${problem}`);
    this.name = 'EtcdKvInvariantError';
  }
}

export function kvAssert(condition: boolean, problem: () => string): asserts condition {
  if (!condition) throw new EtcdKvInvariantError(problem());
}

export function compactedError(revision: number, compactRevision: number): EtcdKvError {
  return new EtcdKvError('ERR_ETCD_COMPACTED', `required revision ${revision} has been compacted (compact revision ${compactRevision})`, {
    compactRevision,
  });
}

export function futureRevisionError(revision: number, currentRevision: number): EtcdKvError {
  return new EtcdKvError('ERR_ETCD_FUTURE_REV', `required revision ${revision} is a future revision (current ${currentRevision})`);
}
