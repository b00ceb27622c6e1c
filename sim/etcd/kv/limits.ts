// The bounds of the state machine, with etcd's defaults where etcd has one
// (embed/config.go, lease/lessor.go, etcdserver/server.go) and sim-sized ones
// where it relies on disk. Hitting a bound is a designed refusal, never a
// silent drop.
import { EtcdKvConfigError } from '../../../src/runtime/etcd/api/errors.js';

export interface KvLimits {
  /** etcd's --max-request-bytes default, 1.5 MiB: the keys, range ends and values of one command, summed. */
  readonly maxRequestBytes: number;
  /** etcd's --max-txn-ops default: compares, and ops per branch, per txn level. */
  readonly maxTxnOps: number;
  /** Live keys; a write that would pass it is refused with ERR_ETCD_NO_SPACE. */
  readonly maxKeys: number;
  /** Keys and values retained, history included (etcd's backend quota, sim-sized). */
  readonly maxStoreBytes: number;
  /**
   * History kept for reads and watches at old revisions: after a write, the
   * store compacts itself so that at most this many revisions lie above the
   * compact revision (like etcd's --auto-compaction-mode=revision).
   */
  readonly maxHistoryRevisions: number;
  /** Also compacts once the retained history holds more changes than this. */
  readonly maxHistoryChanges: number;
  readonly maxLeases: number;
  /**
   * etcd raises a shorter TTL to ceil(1.5 × election timeout): 2 s with the
   * product's 1,000 ms (etcdserver/server.go, minTTL).
   */
  readonly minLeaseTtlS: number;
  /** lease.MaxLeaseTTL. */
  readonly maxLeaseTtlS: number;
  /** Leases expiredLeases() returns per call (etcd revokes at most 500 per pass of its loop). */
  readonly maxExpiredLeasesPerCall: number;
}

export const KV_DEFAULT_LIMITS: KvLimits = Object.freeze({
  maxRequestBytes: 1.5 * 1024 * 1024,
  maxTxnOps: 128,
  maxKeys: 100_000,
  maxStoreBytes: 256 * 1024 * 1024,
  maxHistoryRevisions: 10_000,
  maxHistoryChanges: 100_000,
  maxLeases: 10_000,
  minLeaseTtlS: 2,
  maxLeaseTtlS: 9_000_000_000,
  maxExpiredLeasesPerCall: 500,
});

export function resolveKvLimits(input: Partial<KvLimits> = {}): KvLimits {
  const limits: KvLimits = { ...KV_DEFAULT_LIMITS, ...Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) };
  for (const [field, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new EtcdKvConfigError(field, `must be a positive integer, got ${String(value)}`);
    }
  }
  if (limits.minLeaseTtlS > limits.maxLeaseTtlS) {
    throw new EtcdKvConfigError('minLeaseTtlS', `must not exceed maxLeaseTtlS (${limits.maxLeaseTtlS})`);
  }
  return Object.freeze(limits);
}
