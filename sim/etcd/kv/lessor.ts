// Leases, after etcd's lessor (lease/lessor.go): each has a TTL and the keys
// attached to it. Which leases exist, their TTLs and their keys are
// replicated state, changed only by applied commands. When a lease expires is
// not: as in etcd, only the leader keeps expiry times (its lessor is
// "primary"), asks which leases have expired and proposes their revocation
// through Raft. A new leader restarts every lease's clock (promote).
import type { KvBytes } from '../../../src/runtime/etcd/api/bytes.js';
import { kvAssert } from '../../../src/runtime/etcd/api/errors.js';
import { compareLeaseIds, type LeaseId } from '../../../src/runtime/etcd/api/lease-id.js';

export interface LeaseRecord {
  readonly id: LeaseId;
  /** The TTL granted, after raising to the minimum. */
  readonly ttlS: number;
  /** When this member would expire it; Infinity while not primary. Soft state: not replicated. */
  expiryMs: number;
  /** Attached keys. Insertion order differs between members; read them sorted. */
  readonly keys: Set<KvBytes>;
}

export class Lessor {
  private readonly leases = new Map<LeaseId, LeaseRecord>();
  /** Where the search for a free ID starts when a grant names none; replicated, so every member picks the same. */
  private nextAutoId = 1n;

  get size(): number {
    return this.leases.size;
  }

  get(id: LeaseId): LeaseRecord | undefined {
    return this.leases.get(id);
  }

  /** The lowest unused positive ID from the counter on (etcd picks at random at the member; the model must agree across members). */
  pickId(): LeaseId {
    for (let tries = 0; tries <= this.leases.size; tries++) {
      const candidate = String(this.nextAutoId);
      this.nextAutoId++;
      if (!this.leases.has(candidate)) return candidate;
    }
    throw new Error('unreachable: more IDs tried than leases exist');
  }

  grant(id: LeaseId, ttlS: number, expiryMs: number): LeaseRecord {
    kvAssert(!this.leases.has(id) && id !== '0', () => `grant of lease ${id}, which exists or is no lease`);
    const record: LeaseRecord = { id, ttlS, expiryMs, keys: new Set() };
    this.leases.set(id, record);
    return record;
  }

  /** Forgets the lease; the store deletes its keys in the same revision. Returns the keys in byte order. */
  revoke(id: LeaseId): KvBytes[] {
    const record = this.leases.get(id);
    kvAssert(record !== undefined, () => `revoke of lease ${id}, which does not exist`);
    this.leases.delete(id);
    return [...record.keys].sort(byteOrder);
  }

  attach(id: LeaseId, key: KvBytes): void {
    const record = this.leases.get(id);
    kvAssert(record !== undefined, () => `attach of ${key} to lease ${id}, which does not exist`);
    record.keys.add(key);
  }

  detach(id: LeaseId, key: KvBytes): void {
    const record = this.leases.get(id);
    // A key outlives its lease only between a revoke's forgetting the lease and deleting its keys.
    if (record !== undefined) record.keys.delete(key);
  }

  /** Leases whose expiry has come, soonest first (ties by ID), at most `max`. */
  expired(nowMs: number, max: number): LeaseId[] {
    return [...this.leases.values()]
      .filter((record) => record.expiryMs <= nowMs)
      .sort((a, b) => a.expiryMs - b.expiryMs || compareLeaseIds(a.id, b.id))
      .slice(0, max)
      .map((record) => record.id);
  }

  /** etcd's Promote: a new leader gives every lease a full TTL from now, plus `extendMs`. */
  promote(nowMs: number, extendMs: number): void {
    for (const record of this.leases.values()) record.expiryMs = nowMs + record.ttlS * 1_000 + extendMs;
  }

  /** etcd's Demote: a member that stops leading stops expiring leases. */
  demote(): void {
    for (const record of this.leases.values()) record.expiryMs = Infinity;
  }

  /** All leases in ID order. */
  all(): LeaseRecord[] {
    return [...this.leases.values()].sort((a, b) => compareLeaseIds(a.id, b.id));
  }
}

export function byteOrder(a: KvBytes, b: KvBytes): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
