// The watch vocabulary of etcd v3's API (etcd 3.4: etcdserver/etcdserverpb/rpc.proto,
// WatchCreateRequest and WatchResponse), as pure types: the sim's watch stream
// (sim/etcd/kv/watch.ts) produces these, the gateway codec (../gateway) carries them.
import type { KvBytes } from './bytes.js';
import type { KvEvent, ResponseHeader } from './types.js';

export type WatchFilter = 'NOPUT' | 'NODELETE';

/** WatchCreateRequest. */
export interface WatchCreateRequest {
  readonly key: KvBytes;
  /** As a range's: absent is the key alone, '\0' every key >= key, otherwise [key, rangeEnd). */
  readonly rangeEnd?: KvBytes;
  /** The first revision wanted (inclusive); absent or 0: whatever comes after now. */
  readonly startRevision?: number;
  /** Asks for progressNotifications(): an empty response now and then while nothing happens. */
  readonly progressNotify?: boolean;
  readonly filters?: readonly WatchFilter[];
  readonly prevKv?: boolean;
  /** Asks for this ID; absent or 0: the stream picks the next free one. */
  readonly watchId?: number;
  /** etcd splits huge responses when asked; responses here are bounded anyway (maxEventsPerResponse). */
  readonly fragment?: boolean;
}

/** WatchResponse; the member adds cluster_id, member_id and raft_term to the header. */
export interface WatchResponse {
  readonly header: ResponseHeader;
  /** -1 where etcd answers with no watcher (a refused create, a progress request). */
  readonly watchId: number;
  readonly created: boolean;
  readonly canceled: boolean;
  /** Set (with canceled) when the watcher wanted revisions that are compacted. */
  readonly compactRevision: number;
  readonly cancelReason: string;
  readonly fragment: boolean;
  readonly events: readonly KvEvent[];
}
