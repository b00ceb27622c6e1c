// etcd v3's API vocabulary (etcd 3.4: rpc.proto, kv.proto): the commands and
// responses (types.ts), keys and values as byte strings (bytes.ts), lease IDs
// (lease-id.ts), watch requests and responses (watch-types.ts), etcd's errors
// (errors.ts) and the outcome of applying a command (outcome.ts). Pure data
// and helpers, shared by the sim's etcd member (sim/etcd) and runtime clients.
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
export { EtcdKvConfigError, EtcdKvError, EtcdKvInvariantError, type EtcdKvErrorCode } from './errors.js';
export { NO_LEASE, compareLeaseIds, isLeaseId, type LeaseId } from './lease-id.js';
export type { KvOutcome } from './outcome.js';
export type { WatchCreateRequest, WatchFilter, WatchResponse } from './watch-types.js';
export type * from './types.js';
