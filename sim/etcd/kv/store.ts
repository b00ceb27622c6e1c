// The key-value state machine a Raft member applies committed commands to,
// modelled on etcd v3's MVCC store, applier and lessor (etcd 3.4:
// mvcc/kvstore*.go, etcdserver/apply.go, lease/lessor.go). Pure: no I/O, no
// clock; the time comes in with each command and only lease expiry uses it.
//
// Revisions as etcd numbers them: the store starts at revision 1; every write
// that changes something (a put, a delete that deletes, a txn with such
// writes, a lease revoke whose lease had keys) takes the next revision, all of
// its changes sharing it; a write that changes nothing takes none. Reads
// answer with the store's current revision in their header.
//
// apply() is the entry point for committed entries: it returns the response
// or the refusal, and the same commands with the same times always give the
// same responses and state. The typed methods (put, range, txn…) are the same
// operations for direct use; they throw the refusal instead.
import { keySpan, type KvBytes } from '../../../src/runtime/etcd/api/bytes.js';
import { checkRequest } from './check-request.js';
import { compactedError, EtcdKvError, futureRevisionError, kvAssert } from '../../../src/runtime/etcd/api/errors.js';
import { KeyIndex } from './key-index.js';
import { NO_LEASE, type LeaseId } from '../../../src/runtime/etcd/api/lease-id.js';
import type { KvOutcome } from '../../../src/runtime/etcd/api/outcome.js';
import { Lessor } from './lessor.js';
import { resolveKvLimits, type KvLimits } from './limits.js';
import { parseKvCommand } from './parse-command.js';
import { shapeRange } from './range-query.js';
import { RevisionLog, type RevisionChanges } from './revision-log.js';
import type {
  Compare,
  CompactResponse,
  DeleteRangeCommand,
  DeleteRangeResponse,
  KvCommand,
  KvResponse,
  LeaseGrantResponse,
  LeaseKeepAliveResponse,
  LeaseRevokeResponse,
  LeaseTimeToLiveResponse,
  PutCommand,
  PutResponse,
  RangeCommand,
  RangeResponse,
  ResponseFor,
  TxnCommand,
  TxnOp,
  TxnOpResponse,
  TxnResponse,
} from '../../../src/runtime/etcd/api/types.js';
import { WriteTxn } from './write-txn.js';
import { checkIgnoredKeysSurvive, collectPlannedOps, planTxn, type TxnPlan } from './txn-plan.js';
import { assertStoreConsistent, dumpStore, type KvStoreDump, type StoreParts } from './store-audit.js';

export type { KvOutcome };

export interface EtcdKvStoreOptions {
  readonly limits?: Partial<KvLimits>;
}

/** Where watchers read history from (watch.ts). */
export interface KvHistory {
  readonly revision: number;
  readonly compactRevision: number;
  /** The changes of a retained revision, in the order they were made. */
  changesAt(revision: number): RevisionChanges | undefined;
}

const INITIAL_CHANGES: RevisionChanges = Object.freeze({ revision: 1, events: Object.freeze([]) });

export class EtcdKvStore implements KvHistory {
  readonly limits: KvLimits;
  private readonly index = new KeyIndex();
  private readonly log = new RevisionLog();
  private readonly lessor = new Lessor();
  private currentRevision = 1;
  /** Oldest revision still readable; 0 until the first compaction. */
  private compactedRevision = 0;

  constructor(options: EtcdKvStoreOptions = {}) {
    this.limits = resolveKvLimits(options.limits);
  }

  get revision(): number {
    return this.currentRevision;
  }

  get compactRevision(): number {
    return this.compactedRevision;
  }

  /** Keys that exist now. */
  get keyCount(): number {
    return this.index.liveKeys;
  }

  changesAt(revision: number): RevisionChanges | undefined {
    if (revision < this.compactedRevision || revision > this.currentRevision) return undefined;
    // Revision 1 is the empty store: nothing changed to make it.
    return revision === 1 ? INITIAL_CHANGES : this.log.at(revision);
  }

  /**
   * Applies one committed command. `command` is checked first (it came out of
   * a Raft entry, so it could be anything); a refusal leaves the state as it
   * was. Exceptions are bugs: EtcdKvInvariantError.
   */
  apply(command: unknown, nowMs: number): KvOutcome {
    kvAssert(Number.isFinite(nowMs), () => `nowMs must be a finite number, got ${nowMs}`);
    const revisionBefore = this.currentRevision;
    try {
      return { ok: true, response: this.execute(parseKvCommand(command), nowMs) };
    } catch (error) {
      if (!(error instanceof EtcdKvError)) throw error;
      kvAssert(this.currentRevision === revisionBefore, () => `refused ${error.code} after moving the revision ${revisionBefore} → ${this.currentRevision}`);
      return { ok: false, error };
    }
  }

  put(key: KvBytes, value: KvBytes, options: Omit<PutCommand, 'type' | 'key' | 'value'> = {}): PutResponse {
    return this.run({ type: 'put', key, value, ...options }, 0);
  }

  range(key: KvBytes, rangeEnd?: KvBytes, options: Omit<RangeCommand, 'type' | 'key' | 'rangeEnd'> = {}): RangeResponse {
    return this.run(rangeEnd === undefined ? { type: 'range', key, ...options } : { type: 'range', key, rangeEnd, ...options }, 0);
  }

  deleteRange(key: KvBytes, rangeEnd?: KvBytes, options: Omit<DeleteRangeCommand, 'type' | 'key' | 'rangeEnd'> = {}): DeleteRangeResponse {
    return this.run(rangeEnd === undefined ? { type: 'deleteRange', key, ...options } : { type: 'deleteRange', key, rangeEnd, ...options }, 0);
  }

  txn(txn: { compare?: readonly Compare[]; success?: readonly TxnOp[]; failure?: readonly TxnOp[] }): TxnResponse {
    return this.run({ type: 'txn', compare: txn.compare ?? [], success: txn.success ?? [], failure: txn.failure ?? [] }, 0);
  }

  compact(revision: number): CompactResponse {
    return this.run({ type: 'compact', revision }, 0);
  }

  leaseGrant(ttlS: number, nowMs: number, options: { id?: LeaseId } = {}): LeaseGrantResponse {
    return this.run(options.id === undefined ? { type: 'leaseGrant', ttlS } : { type: 'leaseGrant', ttlS, id: options.id }, nowMs);
  }

  leaseRevoke(id: LeaseId): LeaseRevokeResponse {
    return this.run({ type: 'leaseRevoke', id }, 0);
  }

  leaseKeepAlive(id: LeaseId, nowMs: number): LeaseKeepAliveResponse {
    return this.run({ type: 'leaseKeepAlive', id }, nowMs);
  }

  leaseTimeToLive(id: LeaseId, nowMs: number, options: { keys?: boolean } = {}): LeaseTimeToLiveResponse {
    return this.run(options.keys === true ? { type: 'leaseTimeToLive', id, keys: true } : { type: 'leaseTimeToLive', id }, nowMs);
  }

  /**
   * Leases whose time is up, soonest first, at most limits.maxExpiredLeasesPerCall.
   * Only the leader should ask, and propose a leaseRevoke for each (as etcd's
   * lessor hands expired leases to the leader's revoke loop); it should not
   * propose the same one again while that proposal is in flight.
   */
  expiredLeases(nowMs: number): LeaseId[] {
    return this.lessor.expired(nowMs, this.limits.maxExpiredLeasesPerCall);
  }

  /** On becoming leader: every lease gets a full TTL from now plus `extendMs` (etcd extends by an election timeout). */
  promoteLeases(nowMs: number, extendMs: number): void {
    this.lessor.promote(nowMs, extendMs);
  }

  /** On losing leadership: leases stop expiring here. */
  demoteLeases(): void {
    this.lessor.demote();
  }

  private run<C extends KvCommand>(command: C, nowMs: number): ResponseFor<C> {
    const outcome = this.apply(command, nowMs);
    if (!outcome.ok) throw outcome.error;
    return outcome.response as ResponseFor<C>;
  }

  private execute(command: KvCommand, nowMs: number): KvResponse {
    checkRequest(command, this.limits);
    const revisionBefore = this.currentRevision;
    const response = this.dispatch(command, nowMs);
    kvAssert(this.currentRevision === revisionBefore || this.currentRevision === revisionBefore + 1, () => `${command.type} moved the revision ${revisionBefore} → ${this.currentRevision}`);
    kvAssert(this.compactedRevision <= this.currentRevision, () => `compact revision ${this.compactedRevision} above the revision ${this.currentRevision}`);
    kvAssert(this.index.liveKeys <= this.limits.maxKeys, () => `${this.index.liveKeys} keys, over maxKeys`);
    kvAssert(response.header.revision <= this.currentRevision, () => `${command.type} answered revision ${response.header.revision} above the store's ${this.currentRevision}`);
    return response;
  }

  private dispatch(command: KvCommand, nowMs: number): KvResponse {
    switch (command.type) {
      case 'range':
        return this.topLevelRange(command);
      case 'put':
        return this.topLevelPut(command);
      case 'deleteRange':
        return this.topLevelDeleteRange(command);
      case 'txn':
        return this.topLevelTxn(command);
      case 'compact':
        return this.applyCompact(command.revision);
      case 'leaseGrant':
        return this.applyLeaseGrant(command.ttlS, command.id, nowMs);
      case 'leaseRevoke':
        return this.applyLeaseRevoke(command.id);
      case 'leaseKeepAlive':
        return this.applyLeaseKeepAlive(command.id, nowMs);
      case 'leaseTimeToLive':
        return this.applyLeaseTimeToLive(command.id, command.keys === true, nowMs);
    }
  }

  private topLevelRange(command: RangeCommand): RangeResponse {
    this.checkReadRevision(command.revision ?? 0, this.currentRevision);
    const revision = command.revision || this.currentRevision;
    return shapeRange(this.index.range(keySpan(command.key, command.rangeEnd), revision), command, this.currentRevision);
  }

  private topLevelPut(command: PutCommand): PutResponse {
    // A lone put checks its lease before the key (etcdserver/apply.go, Put); a txn the other way round.
    this.checkLeaseExists(command.lease);
    this.checkIgnoreFlags(command);
    this.checkSpace([command], []);
    const txn = this.begin();
    const response = this.putIn(txn, command);
    this.commit(txn);
    return response;
  }

  private topLevelDeleteRange(command: DeleteRangeCommand): DeleteRangeResponse {
    this.checkSpace([], [command]);
    const txn = this.begin();
    const response = this.deleteRangeIn(txn, command);
    this.commit(txn);
    return response;
  }

  private topLevelTxn(command: TxnCommand): TxnResponse {
    const plan = planTxn(this.index, this.currentRevision, command);
    const puts: PutCommand[] = [];
    const deletes: DeleteRangeCommand[] = [];
    const ranges: RangeCommand[] = [];
    collectPlannedOps(plan, puts, deletes, ranges);
    // etcd checks the puts on the chosen path, then the ranges (etcdserver/apply.go, Txn).
    for (const put of puts) {
      this.checkIgnoreFlags(put);
      this.checkLeaseExists(put.lease);
    }
    for (const range of ranges) this.checkReadRevision(range.revision ?? 0, this.currentRevision);
    this.checkSpace(puts, deletes);
    checkIgnoredKeysSurvive(plan);
    const txn = this.begin();
    const response = this.applyPlan(txn, plan);
    this.commit(txn);
    return { ...response, header: { revision: this.currentRevision } };
  }


  /** A nested txn's response has an empty header, as etcd leaves it. */
  private applyPlan(txn: WriteTxn, plan: TxnPlan): TxnResponse {
    const responses: TxnOpResponse[] = plan.ops.map((op, position): TxnOpResponse => {
      switch (op.type) {
        case 'range':
          return shapeRange(txn.range(op.key, op.rangeEnd, op.revision || txn.readRevision), op, txn.readRevision);
        case 'put':
          return this.putIn(txn, op);
        case 'deleteRange':
          return this.deleteRangeIn(txn, op);
        case 'txn':
          return this.applyPlan(txn, plan.nested.get(position)!);
      }
    });
    return { type: 'txn', header: { revision: 0 }, succeeded: plan.succeeded, responses };
  }

  private putIn(txn: WriteTxn, command: PutCommand): PutResponse {
    const previous = txn.get(command.key);
    const value = command.ignoreValue === true ? previous!.value : (command.value ?? '');
    const lease = command.ignoreLease === true ? previous!.lease : (command.lease ?? NO_LEASE);
    txn.put(command.key, value, lease);
    const header = { revision: txn.writeRevision };
    return command.prevKv === true && previous !== undefined ? { type: 'put', header, prevKv: previous } : { type: 'put', header };
  }

  /** Its header: the write revision if this or an earlier op of the txn changed something, else the begin revision. */
  private deleteRangeIn(txn: WriteTxn, command: DeleteRangeCommand): DeleteRangeResponse {
    const deleted = txn.deleteRange(command.key, command.rangeEnd);
    return {
      type: 'deleteRange',
      header: { revision: txn.readRevision },
      deleted: deleted.length,
      prevKvs: command.prevKv === true ? deleted : [],
    };
  }

  private applyCompact(revision: number): CompactResponse {
    if (revision <= this.compactedRevision) throw compactedError(revision, this.compactedRevision);
    if (revision > this.currentRevision) throw futureRevisionError(revision, this.currentRevision);
    this.compactTo(revision);
    return { type: 'compact', header: { revision: this.currentRevision } };
  }

  private applyLeaseGrant(ttlS: number, requestedId: LeaseId | undefined, nowMs: number): LeaseGrantResponse {
    if (ttlS > this.limits.maxLeaseTtlS) throw new EtcdKvError('ERR_ETCD_LEASE_TTL_TOO_LARGE', `TTL ${ttlS} s is over ${this.limits.maxLeaseTtlS} s`);
    if (this.lessor.size >= this.limits.maxLeases) throw new EtcdKvError('ERR_ETCD_NO_SPACE', `${this.lessor.size} leases, the limit`);
    if (requestedId !== undefined && requestedId !== NO_LEASE && this.lessor.get(requestedId) !== undefined) {
      throw new EtcdKvError('ERR_ETCD_LEASE_EXISTS', `lease ${requestedId} already exists`);
    }
    const id = requestedId === undefined || requestedId === NO_LEASE ? this.lessor.pickId() : requestedId;
    const grantedTtlS = Math.max(ttlS, this.limits.minLeaseTtlS);
    this.lessor.grant(id, grantedTtlS, nowMs + grantedTtlS * 1_000);
    return { type: 'leaseGrant', header: { revision: this.currentRevision }, id, ttlS: grantedTtlS };
  }

  /** The lease's keys go in one revision, in byte order (as etcd sorts them, so that members agree). */
  private applyLeaseRevoke(id: LeaseId): LeaseRevokeResponse {
    if (this.lessor.get(id) === undefined) throw leaseNotFound(id);
    const keys = this.lessor.revoke(id);
    const txn = this.begin();
    for (const key of keys) txn.deleteExisting(key);
    this.commit(txn);
    return { type: 'leaseRevoke', header: { revision: this.currentRevision } };
  }

  /** etcd answers a keepalive for a lease that is gone, or expired and awaiting revocation, with TTL 0. */
  private applyLeaseKeepAlive(id: LeaseId, nowMs: number): LeaseKeepAliveResponse {
    const header = { revision: this.currentRevision };
    const record = this.lessor.get(id);
    if (record === undefined || record.expiryMs <= nowMs) return { type: 'leaseKeepAlive', header, id, ttlS: 0 };
    record.expiryMs = nowMs + record.ttlS * 1_000;
    return { type: 'leaseKeepAlive', header, id, ttlS: record.ttlS };
  }

  /** TTL left, truncated toward zero like etcd's int64(Remaining().Seconds()); -1 when there is no such lease. */
  private applyLeaseTimeToLive(id: LeaseId, withKeys: boolean, nowMs: number): LeaseTimeToLiveResponse {
    const header = { revision: this.currentRevision };
    const record = this.lessor.get(id);
    if (record === undefined) return { type: 'leaseTimeToLive', header, id, ttlS: -1, grantedTtlS: 0, keys: [] };
    const ttlS = record.expiryMs === Infinity ? record.ttlS : Math.trunc((record.expiryMs - nowMs) / 1_000);
    const keys = withKeys ? [...record.keys].sort() : [];
    return { type: 'leaseTimeToLive', header, id, ttlS, grantedTtlS: record.ttlS, keys };
  }

  /** As etcd's rangeKeys: 0 is "now"; above the store's revision is the future; below the compact revision is gone. */
  private checkReadRevision(revision: number, currentRevision: number): void {
    if (revision > currentRevision) throw futureRevisionError(revision, currentRevision);
    if (revision !== 0 && revision < this.compactedRevision) throw compactedError(revision, this.compactedRevision);
  }

  private checkLeaseExists(lease: LeaseId | undefined): void {
    if (lease !== undefined && lease !== NO_LEASE && this.lessor.get(lease) === undefined) throw leaseNotFound(lease);
  }

  private checkIgnoreFlags(put: PutCommand): void {
    if ((put.ignoreValue === true || put.ignoreLease === true) && this.index.get(put.key, this.currentRevision) === undefined) {
      throw new EtcdKvError('ERR_ETCD_KEY_NOT_FOUND', 'key not found (ignoreValue or ignoreLease needs the key to exist)');
    }
  }

  /**
   * The model's bounds on keys and bytes, checked before anything changes.
   * Deletes are not credited against new keys: a write that deletes some
   * keys and creates as many at the limit is refused.
   */
  private checkSpace(puts: readonly PutCommand[], deletes: readonly DeleteRangeCommand[]): void {
    let newKeys = 0;
    let addedBytes = 0;
    for (const put of puts) {
      const existing = this.index.get(put.key, this.currentRevision);
      if (existing === undefined) newKeys++;
      addedBytes += put.key.length + (put.ignoreValue === true ? (existing?.value.length ?? 0) : (put.value?.length ?? 0));
    }
    for (const del of deletes) {
      for (const kv of this.index.range(keySpan(del.key, del.rangeEnd), this.currentRevision)) addedBytes += kv.key.length;
    }
    if (this.index.liveKeys + newKeys > this.limits.maxKeys) {
      throw new EtcdKvError('ERR_ETCD_NO_SPACE', `${this.index.liveKeys} keys and ${newKeys} new would pass maxKeys ${this.limits.maxKeys}`);
    }
    if (this.index.retainedBytes + addedBytes > this.limits.maxStoreBytes) {
      throw new EtcdKvError('ERR_ETCD_NO_SPACE', `${this.index.retainedBytes} bytes held and ${addedBytes} more would pass maxStoreBytes ${this.limits.maxStoreBytes}`);
    }
  }

  private begin(): WriteTxn {
    return new WriteTxn(this.index, this.lessor, this.currentRevision);
  }

  /** The revision moves only if something changed; then history is trimmed to its bounds. */
  private commit(txn: WriteTxn): void {
    kvAssert(txn.beginRevision === this.currentRevision, () => `txn began at ${txn.beginRevision}, store is at ${this.currentRevision}`);
    if (txn.events.length === 0) return;
    this.currentRevision = txn.writeRevision;
    for (const event of txn.events) {
      kvAssert(event.kv.modRevision === this.currentRevision, () => `event on ${event.kv.key} at ${event.kv.modRevision}, txn at ${this.currentRevision}`);
      kvAssert(event.kv.createRevision <= event.kv.modRevision, () => `${event.kv.key} created at ${event.kv.createRevision} after its change at ${event.kv.modRevision}`);
    }
    this.log.append({ revision: this.currentRevision, events: Object.freeze([...txn.events]) });
    this.trimHistory();
  }

  /** Keeps history within maxHistoryRevisions and maxHistoryChanges, by compacting as etcd's revision auto-compactor would. */
  private trimHistory(): void {
    let target = this.compactedRevision;
    if (this.currentRevision - target > this.limits.maxHistoryRevisions) target = this.currentRevision - this.limits.maxHistoryRevisions;
    let retained = this.log.events;
    if (retained > this.limits.maxHistoryChanges) {
      for (const entry of this.log) {
        if (retained <= this.limits.maxHistoryChanges || entry.revision >= this.currentRevision) {
          target = Math.max(target, entry.revision);
          break;
        }
        retained -= entry.events.length;
      }
    }
    if (target > this.compactedRevision) this.compactTo(target);
  }

  /** Reads at `revision` and later still work; what only earlier ones could see goes (mvcc/kvstore_compaction.go). */
  private compactTo(revision: number): void {
    kvAssert(revision > this.compactedRevision && revision <= this.currentRevision, () => `compaction to ${revision} with compact revision ${this.compactedRevision}, revision ${this.currentRevision}`);
    for (const entry of this.log) {
      if (entry.revision > revision) break;
      for (const event of entry.events) this.index.compact(event.kv.key, revision);
    }
    // The compact revision's own changes stay: a watch may start there.
    this.log.dropBefore(revision, () => {});
    this.compactedRevision = revision;
  }

  /**
   * Everything the store holds, as JSON-safe data: for determinism checks
   * (two stores fed the same commands dump the same) and for debugging.
   * Lease expiry is the leader's soft state and is left out.
   */
  dump(): KvStoreDump {
    return dumpStore(this.parts());
  }

  /**
   * A full check of the store's invariants, O(everything): for tests and the
   * fuzzer, after each step. apply() checks the cheap ones on every command.
   */
  assertConsistent(): void {
    assertStoreConsistent(this.parts());
  }

  private parts(): StoreParts {
    return { index: this.index, lessor: this.lessor, log: this.log, revision: this.currentRevision, compactRevision: this.compactedRevision };
  }

}


function leaseNotFound(id: LeaseId): EtcdKvError {
  return new EtcdKvError('ERR_ETCD_LEASE_NOT_FOUND', `requested lease ${id} not found`);
}


