// The key-value state machine of the etcd model: an MVCC store with etcd v3's
// revisions, txns, leases and compaction (store.ts), the commands a Raft
// member applies to it (types.ts), and watches over its history (watch.ts).
export { EtcdKvStore, type EtcdKvStoreOptions, type KvHistory, type KvOutcome } from './store.js';
export type { KvStoreDump } from './store-audit.js';
export { KvWatchStream, NO_WATCH_ID, WATCH_CANCEL_REASONS, WATCH_DEFAULT_LIMITS, type WatchCreateRequest, type WatchFilter, type WatchLimits, type WatchResponse } from './watch.js';
export { EtcdKvConfigError, EtcdKvError, EtcdKvInvariantError, type EtcdKvErrorCode } from './errors.js';
export { KV_DEFAULT_LIMITS, resolveKvLimits, type KvLimits } from './limits.js';
export { parseKvCommand } from './parse-command.js';
export { checkRequest, requestBytes } from './check-request.js';
export {
  RANGE_END_ALL,
  bytesFromUint8Array,
  bytesFromUtf8,
  describeBytes,
  isKvBytes,
  keySpan,
  prefixRangeEnd,
  spanContains,
  uint8ArrayFromBytes,
  utf8FromBytes,
  type KeySpan,
  type KvBytes,
} from './bytes.js';
export { NO_LEASE, compareLeaseIds, isLeaseId, type LeaseId } from './lease-id.js';
export type { RevisionChanges } from './revision-log.js';
export type * from './types.js';
