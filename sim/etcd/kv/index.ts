// The key-value state machine of the etcd model: an MVCC store with etcd v3's
// revisions, txns, leases and compaction (store.ts) and watches over its
// history (watch.ts). The API vocabulary it speaks (commands, responses,
// bytes, lease IDs, errors, watch types) lives in src/runtime/etcd/api and is
// re-exported here, so that sim code can import everything from this file.
export { EtcdKvStore, type EtcdKvStoreOptions, type KvHistory } from './store.js';
export type { KvStoreDump } from './store-audit.js';
export { KvWatchStream, NO_WATCH_ID, WATCH_CANCEL_REASONS, WATCH_DEFAULT_LIMITS, type WatchLimits } from './watch.js';
export { KV_DEFAULT_LIMITS, resolveKvLimits, type KvLimits } from './limits.js';
export { parseKvCommand } from './parse-command.js';
export { checkRequest, requestBytes } from './check-request.js';
export type { RevisionChanges } from './revision-log.js';
export {
  EtcdKvConfigError,
  EtcdKvError,
  EtcdKvInvariantError,
  NO_LEASE,
  RANGE_END_ALL,
  bytesFromUint8Array,
  bytesFromUtf8,
  compareLeaseIds,
  describeBytes,
  isKvBytes,
  isLeaseId,
  keySpan,
  prefixRangeEnd,
  spanContains,
  uint8ArrayFromBytes,
  utf8FromBytes,
  type EtcdKvErrorCode,
  type KeySpan,
  type KvBytes,
  type KvOutcome,
  type LeaseId,
  type WatchCreateRequest,
  type WatchFilter,
  type WatchResponse,
} from '../../../src/runtime/etcd/api/index.js';
export type * from '../../../src/runtime/etcd/api/types.js';
