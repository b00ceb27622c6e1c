// One write transaction: every change it makes carries the same revision,
// the store's revision plus one, and the store takes that revision only if
// something changed (mvcc/kvstore_txn.go, storeTxnWrite). Reads inside see
// the transaction's own changes. Callers check everything that could refuse
// before they start one: a write transaction never fails half way.
import { keySpan, type KvBytes } from '../../../src/runtime/etcd/api/bytes.js';
import { kvAssert } from '../../../src/runtime/etcd/api/errors.js';
import type { KeyIndex } from './key-index.js';
import { NO_LEASE, type LeaseId } from '../../../src/runtime/etcd/api/lease-id.js';
import type { Lessor } from './lessor.js';
import type { KeyValue, KvEvent } from '../../../src/runtime/etcd/api/types.js';

export class WriteTxn {
  readonly events: KvEvent[] = [];

  constructor(
    private readonly index: KeyIndex,
    private readonly lessor: Lessor,
    /** The store's revision when the transaction began. */
    readonly beginRevision: number,
  ) {}

  /** The revision every change of this transaction gets. */
  get writeRevision(): number {
    return this.beginRevision + 1;
  }

  /** What reads inside see: the begin revision, or the write revision once something changed. */
  get readRevision(): number {
    return this.events.length > 0 ? this.writeRevision : this.beginRevision;
  }

  get(key: KvBytes): KeyValue | undefined {
    return this.index.get(key, this.readRevision);
  }

  range(key: KvBytes, rangeEnd: KvBytes | undefined, revision: number): KeyValue[] {
    return this.index.range(keySpan(key, rangeEnd), revision);
  }

  put(key: KvBytes, value: KvBytes, lease: LeaseId): KeyValue {
    const revision = this.writeRevision;
    const existing = this.index.get(key, revision);
    const kv: KeyValue = Object.freeze({
      key,
      createRevision: existing?.createRevision ?? revision,
      modRevision: revision,
      version: (existing?.version ?? 0) + 1,
      value,
      lease,
    });
    this.index.put(kv);
    if (existing !== undefined && existing.lease !== NO_LEASE) this.lessor.detach(existing.lease, key);
    if (lease !== NO_LEASE) this.lessor.attach(lease, key);
    this.events.push(withPrevious({ type: 'PUT', kv }, existing === undefined ? undefined : this.index.get(key, this.beginRevision)));
    return kv;
  }

  /** Deletes the keys in the range; returns what they held, in byte order. */
  deleteRange(key: KvBytes, rangeEnd: KvBytes | undefined): KeyValue[] {
    const doomed = this.range(key, rangeEnd, this.readRevision);
    for (const kv of doomed) this.deleteKey(kv);
    return doomed;
  }

  /** Deletes one key that exists (a lease revoke's keys). */
  deleteExisting(key: KvBytes): void {
    const kv = this.get(key);
    kvAssert(kv !== undefined, () => `deleting ${key}, which does not exist at ${this.readRevision}`);
    this.deleteKey(kv);
  }

  private deleteKey(kv: KeyValue): void {
    const revision = this.writeRevision;
    this.index.delete(kv.key, revision);
    if (kv.lease !== NO_LEASE) this.lessor.detach(kv.lease, kv.key);
    // etcd's watch looks the previous value up at the revision before the event.
    const tombstone: KeyValue = Object.freeze({ key: kv.key, createRevision: 0, modRevision: revision, version: 0, value: '', lease: NO_LEASE });
    this.events.push(withPrevious({ type: 'DELETE', kv: tombstone }, this.index.get(kv.key, this.beginRevision)));
  }
}

/**
 * etcd's watch fills prev_kv by reading the key at the event's revision minus
 * one, except for a create (a PUT whose create and mod revisions match). So a
 * key changed twice in one revision shows the value from before the
 * transaction both times, and a key re-created in it none.
 */
function withPrevious(event: KvEvent, previous: KeyValue | undefined): KvEvent {
  const isCreate = event.type === 'PUT' && event.kv.createRevision === event.kv.modRevision;
  return Object.freeze(previous === undefined || isCreate ? event : { ...event, prevKv: previous });
}
