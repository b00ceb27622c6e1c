// The etcd model's key-value state machine (sim/etcd/kv) against a naive
// reference model, with fast-check: random sequences of puts, deletes,
// ranges, txns (nested, with every compare target), compactions, leases
// (grant, keepalive, time-to-live, expiry and revoke as a leader would drive
// them) and watches, on few keys so that they collide, under small bounds so
// that automatic compaction and the key bound come into play.
//
// The model keeps the whole key space at every revision (a Map per
// revision) and applies each write one op at a time. Checked after every
// step: the response (or the refusal's code) equals the model's; the store's
// revision, compact revision and current contents equal the model's; the
// store's invariants hold (assertConsistent). At the end: a range at every
// revision gives the model's state at it (or ERR_ETCD_COMPACTED below the
// compact revision); every revision's changes, collapsed per key, are the
// difference between the states around it; every watcher received exactly
// the model's events from its start revision, in order, once each.
// Determinism: the same commands, through JSON as Raft would carry them, on
// a second store give identical outcomes and an identical dump.
//
// Etcd's stateless request checks (empty key, txn limits, duplicate keys)
// are taken from checkRequest itself: they are pure and have their own
// examples in test/etcd-kv.test.ts; the model covers what depends on state.
//
// A failure prints fast-check's seed and path; replay with
//   ETCD_KV_PROPERTY_SEED=<seed> ETCD_KV_PROPERTY_PATH=<path> npx vitest run test/etcd-kv-property.test.ts
// ETCD_KV_PROPERTY_RUNS=<n> runs more cases; ETCD_KV_PROPERTY_STATS=1 prints
// what the runs covered (outcomes by code, revisions reached, events watched).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  EtcdKvError,
  EtcdKvStore,
  KvWatchStream,
  RANGE_END_ALL,
  checkRequest,
  keySpan,
  prefixRangeEnd,
  spanContains,
  type Compare,
  type KeyValue,
  type KvCommand,
  type KvEvent,
  type KvLimits,
  type KvOutcome,
  type KvResponse,
  type RangeCommand,
  type TxnCommand,
  type TxnOp,
  type TxnOpResponse,
  type WatchCreateRequest,
  type WatchResponse,
} from '../sim/etcd/kv/index.js';

const NUM_RUNS = Number(process.env.ETCD_KV_PROPERTY_RUNS ?? 150);
/** About 8 ms per case on a CI core, with room: fuzzing runs raise the timeout with the runs. */
const TIMEOUT_MS = Math.max(60_000, NUM_RUNS * 25);
const SEED = process.env.ETCD_KV_PROPERTY_SEED === undefined ? undefined : Number(process.env.ETCD_KV_PROPERTY_SEED);
const PATH = process.env.ETCD_KV_PROPERTY_PATH;
const STATS = process.env.ETCD_KV_PROPERTY_STATS === '1' ? new Map<string, number>() : undefined;

function count(what: string, by = 1): void {
  if (STATS !== undefined) STATS.set(what, (STATS.get(what) ?? 0) + by);
}

// ---------------------------------------------------------------- the model

type State = ReadonlyMap<string, KeyValue>;
type ModelOutcome = { ok: true; response: KvResponse } | { ok: false; code: string; compactRevision?: number };

interface ModelLease {
  ttlS: number;
  expiryMs: number;
}

class Refused extends Error {
  constructor(
    readonly code: string,
    readonly compactRevision?: number,
  ) {
    super(code);
  }
}

const ZERO: KeyValue = { key: '', createRevision: 0, modRevision: 0, version: 0, value: '', lease: '0' };

/** etcd as its documentation describes it, written the slow and obvious way. */
class Model {
  revision = 1;
  compactRevision = 0;
  readonly states = new Map<number, State>([[1, new Map()]]);
  readonly events = new Map<number, KvEvent[]>();
  readonly leases = new Map<string, ModelLease>();
  private nextLeaseId = 1n;

  constructor(readonly limits: KvLimits) {}

  get current(): State {
    return this.states.get(this.revision)!;
  }

  apply(command: KvCommand, nowMs: number): ModelOutcome {
    try {
      checkRequest(command, this.limits);
      return { ok: true, response: this.execute(command, nowMs) };
    } catch (error) {
      if (error instanceof Refused) return error.compactRevision === undefined ? { ok: false, code: error.code } : { ok: false, code: error.code, compactRevision: error.compactRevision };
      if (error instanceof EtcdKvError) return { ok: false, code: error.code };
      throw error;
    }
  }

  /** What a leader would revoke now. */
  expired(nowMs: number): string[] {
    return [...this.leases.entries()]
      .filter(([, lease]) => lease.expiryMs <= nowMs)
      .sort(([a, x], [b, y]) => x.expiryMs - y.expiryMs || Number(BigInt(a) - BigInt(b)))
      .slice(0, this.limits.maxExpiredLeasesPerCall)
      .map(([id]) => id);
  }

  private execute(command: KvCommand, nowMs: number): KvResponse {
    switch (command.type) {
      case 'range': {
        this.checkRevision(command.revision ?? 0);
        const state = this.states.get(command.revision || this.revision)!;
        return shape(state, command, this.revision);
      }
      case 'put': {
        this.checkLease(command.lease);
        this.checkIgnore(command);
        return this.write([command], (txn) => txn.put(command));
      }
      case 'deleteRange':
        return this.write([], (txn) => txn.deleteRange(command));
      case 'txn': {
        const path = this.plan(command);
        const puts = path.ops.filter((op) => op.type === 'put');
        for (const put of puts) {
          this.checkIgnore(put);
          this.checkLease(put.lease);
        }
        for (const range of path.ops.filter((op) => op.type === 'range')) this.checkRevision(range.revision ?? 0);
        const response = this.write(puts, (txn) => txn.run(command, path));
        return { ...response, header: { revision: this.revision } } as KvResponse;
      }
      case 'compact':
        if (command.revision <= this.compactRevision) throw new Refused('ERR_ETCD_COMPACTED', this.compactRevision);
        if (command.revision > this.revision) throw new Refused('ERR_ETCD_FUTURE_REV');
        this.compactRevision = command.revision;
        return { type: 'compact', header: { revision: this.revision } };
      case 'leaseGrant': {
        if (command.ttlS > this.limits.maxLeaseTtlS) throw new Refused('ERR_ETCD_LEASE_TTL_TOO_LARGE');
        if (this.leases.size >= this.limits.maxLeases) throw new Refused('ERR_ETCD_NO_SPACE');
        let id = command.id;
        if (id !== undefined && id !== '0' && this.leases.has(id)) throw new Refused('ERR_ETCD_LEASE_EXISTS');
        if (id === undefined || id === '0') {
          do id = String(this.nextLeaseId++);
          while (this.leases.has(id));
        }
        const ttlS = Math.max(command.ttlS, this.limits.minLeaseTtlS);
        this.leases.set(id, { ttlS, expiryMs: nowMs + ttlS * 1_000 });
        return { type: 'leaseGrant', header: { revision: this.revision }, id, ttlS };
      }
      case 'leaseRevoke': {
        if (!this.leases.has(command.id)) throw new Refused('ERR_ETCD_LEASE_NOT_FOUND');
        const keys = this.keysOf(command.id);
        this.leases.delete(command.id);
        this.write([], (txn) => {
          for (const key of keys) txn.deleteRange({ type: 'deleteRange', key });
          return { type: 'leaseRevoke', header: { revision: 0 } };
        });
        return { type: 'leaseRevoke', header: { revision: this.revision } };
      }
      case 'leaseKeepAlive': {
        const lease = this.leases.get(command.id);
        const header = { revision: this.revision };
        if (lease === undefined || lease.expiryMs <= nowMs) return { type: 'leaseKeepAlive', header, id: command.id, ttlS: 0 };
        lease.expiryMs = nowMs + lease.ttlS * 1_000;
        return { type: 'leaseKeepAlive', header, id: command.id, ttlS: lease.ttlS };
      }
      case 'leaseTimeToLive': {
        const lease = this.leases.get(command.id);
        const header = { revision: this.revision };
        if (lease === undefined) return { type: 'leaseTimeToLive', header, id: command.id, ttlS: -1, grantedTtlS: 0, keys: [] };
        return {
          type: 'leaseTimeToLive',
          header,
          id: command.id,
          ttlS: Math.trunc((lease.expiryMs - nowMs) / 1_000),
          grantedTtlS: lease.ttlS,
          keys: command.keys === true ? this.keysOf(command.id) : [],
        };
      }
    }
  }

  private keysOf(lease: string): string[] {
    return [...this.current.values()].filter((kv) => kv.lease === lease).map((kv) => kv.key).sort();
  }

  private checkRevision(revision: number): void {
    if (revision > this.revision) throw new Refused('ERR_ETCD_FUTURE_REV');
    if (revision !== 0 && revision < this.compactRevision) throw new Refused('ERR_ETCD_COMPACTED', this.compactRevision);
  }

  private checkLease(lease: string | undefined): void {
    if (lease !== undefined && lease !== '0' && !this.leases.has(lease)) throw new Refused('ERR_ETCD_LEASE_NOT_FOUND');
  }

  private checkIgnore(put: { key: string; ignoreValue?: boolean; ignoreLease?: boolean }): void {
    if ((put.ignoreValue === true || put.ignoreLease === true) && !this.current.has(put.key)) throw new Refused('ERR_ETCD_KEY_NOT_FOUND');
  }

  /** Every compare of the txn and of its nested txns, against the state before it. */
  private plan(txn: TxnCommand): { succeeded: boolean; ops: TxnOp[]; nested: Map<number, ReturnType<Model['plan']>> } {
    const succeeded = txn.compare.every((compare) => holds(this.current, compare));
    const chosen = succeeded ? txn.success : txn.failure;
    const nested = new Map<number, ReturnType<Model['plan']>>();
    const ops: TxnOp[] = [];
    chosen.forEach((op, i) => {
      if (op.type !== 'txn') return ops.push(op);
      const inner = this.plan(op);
      nested.set(i, inner);
      ops.push(...inner.ops);
    });
    return { succeeded, ops, nested };
  }

  /** Runs a write; the revision moves if anything changed. The key bound counts creates only. */
  private write<R>(puts: readonly TxnOp[], body: (txn: ModelTxn) => R): R {
    const creates = new Set(puts.flatMap((op) => (op.type === 'put' && !this.current.has(op.key) ? [op.key] : [])));
    if (this.current.size + creates.size > this.limits.maxKeys) throw new Refused('ERR_ETCD_NO_SPACE');
    const txn = new ModelTxn(this, this.current, this.revision);
    const result = body(txn);
    if (txn.events.length > 0) {
      this.revision++;
      this.states.set(this.revision, txn.work);
      this.events.set(this.revision, txn.events);
      this.trimHistory();
    }
    return result;
  }

  private trimHistory(): void {
    let target = Math.max(this.compactRevision, this.revision - this.limits.maxHistoryRevisions);
    const first = Math.max(this.compactRevision, 2);
    let held = 0;
    for (let r = first; r <= this.revision; r++) held += this.events.get(r)!.length;
    if (held > this.limits.maxHistoryChanges) {
      for (let r = first; r <= this.revision; r++) {
        if (held <= this.limits.maxHistoryChanges || r === this.revision) {
          target = Math.max(target, r);
          break;
        }
        held -= this.events.get(r)!.length;
      }
    }
    this.compactRevision = Math.max(this.compactRevision, target);
  }
}

/** One write, applied op by op to a copy of the state. */
class ModelTxn {
  readonly work: Map<string, KeyValue>;
  readonly events: KvEvent[] = [];

  constructor(
    private readonly model: Model,
    private readonly before: State,
    private readonly beginRevision: number,
  ) {
    this.work = new Map(before);
  }

  private get writeRevision(): number {
    return this.beginRevision + 1;
  }

  private get readRevision(): number {
    return this.events.length > 0 ? this.writeRevision : this.beginRevision;
  }

  put(op: Extract<TxnOp, { type: 'put' }>): KvResponse & TxnOpResponse {
    const existing = this.work.get(op.key);
    // etcd 3.4 panics here (the key was there when the txn began, and an earlier op deleted it); the model refuses.
    if ((op.ignoreValue === true || op.ignoreLease === true) && existing === undefined) throw new Refused('ERR_ETCD_KEY_NOT_FOUND');
    const kv: KeyValue = {
      key: op.key,
      createRevision: existing?.createRevision ?? this.writeRevision,
      modRevision: this.writeRevision,
      version: (existing?.version ?? 0) + 1,
      value: op.ignoreValue === true ? existing!.value : (op.value ?? ''),
      lease: op.ignoreLease === true ? existing!.lease : (op.lease ?? '0'),
    };
    this.work.set(op.key, kv);
    const previous = this.before.get(op.key);
    this.events.push(existing === undefined || previous === undefined ? { type: 'PUT', kv } : { type: 'PUT', kv, prevKv: previous });
    const header = { revision: this.writeRevision };
    return op.prevKv === true && existing !== undefined ? { type: 'put', header, prevKv: existing } : { type: 'put', header };
  }

  deleteRange(op: Extract<TxnOp, { type: 'deleteRange' }>): KvResponse & TxnOpResponse {
    const span = keySpan(op.key, op.rangeEnd);
    const doomed = [...this.work.values()].filter((kv) => spanContains(span, kv.key)).sort((a, b) => (a.key < b.key ? -1 : 1));
    for (const kv of doomed) {
      this.work.delete(kv.key);
      const previous = this.before.get(kv.key);
      const tombstone = { ...ZERO, key: kv.key, modRevision: this.writeRevision };
      this.events.push(previous === undefined ? { type: 'DELETE', kv: tombstone } : { type: 'DELETE', kv: tombstone, prevKv: previous });
    }
    return { type: 'deleteRange', header: { revision: this.readRevision }, deleted: doomed.length, prevKvs: op.prevKv === true ? doomed : [] };
  }

  run(txn: TxnCommand, plan: { succeeded: boolean; nested: Map<number, unknown> }): KvResponse & TxnOpResponse {
    const chosen = plan.succeeded ? txn.success : txn.failure;
    const responses = chosen.map((op, i): TxnOpResponse => {
      switch (op.type) {
        case 'put':
          return this.put(op);
        case 'deleteRange':
          return this.deleteRange(op);
        case 'range':
          return shape(op.revision ? this.model.states.get(op.revision)! : this.work, op, this.readRevision);
        case 'txn':
          return this.run(op, plan.nested.get(i) as { succeeded: boolean; nested: Map<number, unknown> });
      }
    });
    return { type: 'txn', header: { revision: 0 }, succeeded: plan.succeeded, responses };
  }
}

function holds(state: State, compare: Compare): boolean {
  const span = keySpan(compare.key, compare.rangeEnd);
  const kvs = [...state.values()].filter((kv) => spanContains(span, kv.key));
  if (kvs.length === 0 && compare.target === 'VALUE') return false;
  return (kvs.length === 0 ? [ZERO] : kvs).every((kv) => {
    const [mine, theirs]: [number | string | bigint, number | string | bigint] =
      compare.target === 'VALUE' ? [kv.value, compare.value]
      : compare.target === 'VERSION' ? [kv.version, compare.version]
      : compare.target === 'CREATE' ? [kv.createRevision, compare.createRevision]
      : compare.target === 'MOD' ? [kv.modRevision, compare.modRevision]
      : [BigInt(kv.lease), BigInt(compare.lease)];
    const order = mine < theirs ? -1 : mine > theirs ? 1 : 0;
    return { EQUAL: order === 0, NOT_EQUAL: order !== 0, GREATER: order > 0, LESS: order < 0 }[compare.result];
  });
}

function shape(state: ReadonlyMap<string, KeyValue>, command: RangeCommand, headerRevision: number): KvResponse & TxnOpResponse {
  const span = keySpan(command.key, command.rangeEnd);
  const found = [...state.values()].filter((kv) => spanContains(span, kv.key)).sort((a, b) => (a.key < b.key ? -1 : 1));
  const header = { revision: headerRevision };
  if (command.countOnly === true) return { type: 'range', header, kvs: [], more: false, count: found.length };
  let kvs = found.filter(
    (kv) =>
      (!command.minModRevision || kv.modRevision >= command.minModRevision) &&
      (!command.maxModRevision || kv.modRevision <= command.maxModRevision) &&
      (!command.minCreateRevision || kv.createRevision >= command.minCreateRevision) &&
      (!command.maxCreateRevision || kv.createRevision <= command.maxCreateRevision),
  );
  const target = command.sortTarget ?? 'KEY';
  const order = command.sortOrder === undefined || command.sortOrder === 'NONE' ? (target === 'KEY' ? 'NONE' : 'ASCEND') : command.sortOrder;
  if (order !== 'NONE') {
    const field = (kv: KeyValue): number | string =>
      ({ KEY: kv.key, VERSION: kv.version, CREATE: kv.createRevision, MOD: kv.modRevision, VALUE: kv.value })[target];
    const sign = order === 'ASCEND' ? 1 : -1;
    kvs = [...kvs].sort((a, b) => (field(a) < field(b) ? -sign : field(a) > field(b) ? sign : a.key < b.key ? -1 : 1));
  }
  const limit = command.limit ?? 0;
  const more = limit > 0 && kvs.length > limit;
  if (more) kvs = kvs.slice(0, limit);
  if (command.keysOnly === true) kvs = kvs.map((kv) => ({ ...kv, value: '' }));
  return { type: 'range', header, kvs, more, count: found.length };
}

// ---------------------------------------------------------------- generators

const KEYS = ['a', 'ab', 'b', 'b/1', 'b/2', 'c', '\x00', '\xff', 'a\xff'] as const;
const LEASES = ['1', '2', '3'] as const;
const keyArb = fc.constantFrom(...KEYS);
const valueArb = fc.constantFrom('', 'x', 'y', 'a longer value');
const spanArb = fc.oneof(
  keyArb.map((key) => ({ key })),
  keyArb.map((key) => ({ key, rangeEnd: prefixRangeEnd(key) })),
  keyArb.map((key) => ({ key, rangeEnd: RANGE_END_ALL })),
  fc.tuple(keyArb, keyArb).map(([key, rangeEnd]) => ({ key, rangeEnd })),
);
const revisionArb = fc.oneof({ weight: 2, arbitrary: fc.constant(0) }, { weight: 3, arbitrary: fc.integer({ min: 1, max: 40 }) });
/** The value one time in `oneIn`, else left out. */
const sometimes = <T>(arb: fc.Arbitrary<T>, oneIn = 2): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: oneIn - 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });

/** Leaves out the fields that came out undefined, as a command written by hand would. */
function clean<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

const putArb = fc
  .record({ key: keyArb, value: valueArb, lease: sometimes(fc.constantFrom(...LEASES, '0'), 4), prevKv: sometimes(fc.constant(true)), ignore: fc.integer({ min: 0, max: 15 }) })
  .map(({ key, value, lease, prevKv, ignore }) =>
    clean({
      type: 'put' as const,
      key,
      value: ignore === 0 ? undefined : value,
      lease: ignore === 1 ? undefined : lease,
      prevKv,
      ignoreValue: ignore === 0 ? true : undefined,
      ignoreLease: ignore === 1 ? true : undefined,
    }),
  );
const deleteArb = fc.record({ span: spanArb, prevKv: sometimes(fc.constant(true)) }).map(({ span, prevKv }) => clean({ type: 'deleteRange' as const, ...span, prevKv }));
const rangeArb: fc.Arbitrary<RangeCommand> = fc
  .record({
    span: spanArb,
    revision: sometimes(revisionArb, 3),
    limit: sometimes(fc.integer({ min: 0, max: 3 }), 3),
    countOnly: sometimes(fc.constant(true), 6),
    keysOnly: sometimes(fc.constant(true), 6),
    sortOrder: sometimes(fc.constantFrom('NONE', 'ASCEND', 'DESCEND' as const), 5),
    sortTarget: sometimes(fc.constantFrom('KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE' as const), 5),
    minModRevision: sometimes(fc.integer({ min: 0, max: 20 }), 6),
    maxCreateRevision: sometimes(fc.integer({ min: 0, max: 20 }), 6),
  })
  .map(({ span, ...options }) => clean({ type: 'range' as const, ...span, ...options }) as RangeCommand);
const compareArb: fc.Arbitrary<Compare> = fc
  .record({
    span: spanArb,
    result: fc.constantFrom('EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL' as const),
    target: fc.constantFrom('VERSION', 'CREATE', 'MOD', 'VALUE', 'LEASE' as const),
    number: fc.integer({ min: 0, max: 12 }),
    value: valueArb,
    lease: fc.constantFrom('0', ...LEASES),
  })
  .map(({ span, result, target, number, value, lease }): Compare => {
    const base = { ...span, result };
    switch (target) {
      case 'VERSION':
        return { ...base, target, version: number % 4 };
      case 'CREATE':
        return { ...base, target, createRevision: number };
      case 'MOD':
        return { ...base, target, modRevision: number };
      case 'VALUE':
        return { ...base, target, value };
      case 'LEASE':
        return { ...base, target, lease };
    }
  });
const { txn: txnArb } = fc.letrec<{ txn: TxnCommand; op: TxnOp }>((tie) => ({
  txn: fc.record({
    type: fc.constant('txn' as const),
    compare: fc.array(compareArb, { maxLength: 3 }),
    success: fc.array(tie('op'), { maxLength: 3 }),
    failure: fc.array(tie('op'), { maxLength: 3 }),
  }),
  op: fc.oneof({ depthSize: 'small', withCrossShrink: true }, putArb, deleteArb, rangeArb, tie('txn')) as fc.Arbitrary<TxnOp>,
}));

type Step =
  | { kind: 'command'; command: KvCommand; advanceMs: number }
  | { kind: 'expire'; advanceMs: number }
  | { kind: 'watch'; request: WatchCreateRequest };

const commandArb: fc.Arbitrary<KvCommand> = fc.oneof(
  { weight: 8, arbitrary: putArb },
  { weight: 2, arbitrary: deleteArb },
  { weight: 2, arbitrary: rangeArb },
  { weight: 4, arbitrary: txnArb },
  { weight: 1, arbitrary: revisionArb.map((revision) => ({ type: 'compact' as const, revision })) },
  {
    weight: 2,
    arbitrary: fc
      .record({ ttlS: fc.constantFrom(-1, 1, 2, 5, 10), id: sometimes(fc.constantFrom(...LEASES, '0')) })
      .map(({ ttlS, id }) => clean({ type: 'leaseGrant' as const, ttlS, id })),
  },
  { weight: 1, arbitrary: fc.constantFrom(...LEASES).map((id) => ({ type: 'leaseRevoke' as const, id })) },
  { weight: 1, arbitrary: fc.constantFrom(...LEASES).map((id) => ({ type: 'leaseKeepAlive' as const, id })) },
  { weight: 1, arbitrary: fc.record({ id: fc.constantFrom(...LEASES), keys: fc.boolean() }).map(({ id, keys }) => ({ type: 'leaseTimeToLive' as const, id, ...(keys ? { keys } : {}) })) },
);
const watchArb: fc.Arbitrary<WatchCreateRequest> = fc
  .record({
    span: spanArb,
    startRevision: sometimes(fc.integer({ min: 0, max: 30 })),
    prevKv: sometimes(fc.constant(true)),
    filters: sometimes(fc.subarray(['NOPUT', 'NODELETE'] as const, { minLength: 1, maxLength: 1 }), 4),
  })
  .map(({ span, ...rest }) => clean({ ...span, ...rest }));
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ kind: fc.constant('command' as const), command: commandArb, advanceMs: fc.integer({ min: 0, max: 2_500 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('expire' as const), advanceMs: fc.integer({ min: 0, max: 6_000 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('watch' as const), request: watchArb }) },
);
const stepsArb = fc.array(stepArb, { minLength: 5, maxLength: 80, size: 'max' });
const limitsArb: fc.Arbitrary<Partial<KvLimits>> = fc.record({
  maxKeys: fc.constantFrom(4, 6, 100),
  maxHistoryRevisions: fc.constantFrom(3, 8, 1_000),
  maxHistoryChanges: fc.constantFrom(5, 12, 1_000),
  maxLeases: fc.constantFrom(2, 10),
  maxExpiredLeasesPerCall: fc.constantFrom(1, 10),
});

// ---------------------------------------------------------------- checking

function summarize(outcome: KvOutcome): ModelOutcome {
  if (outcome.ok) return { ok: true, response: outcome.response };
  return outcome.error.compactRevision === undefined
    ? { ok: false, code: outcome.error.code }
    : { ok: false, code: outcome.error.code, compactRevision: outcome.error.compactRevision };
}

interface ModelWatcher {
  readonly id: number;
  readonly request: WatchCreateRequest;
  nextRevision: number;
  live: boolean;
  readonly expected: KvEvent[];
  readonly received: KvEvent[];
  readonly compactNotices: number[];
  expectedCompactNotice?: number;
}

/** Runs the steps on the store and the model side by side; returns what determinism compares. */
function run(steps: readonly Step[], limitsInput: Partial<KvLimits>, store: EtcdKvStore, model: Model | undefined): unknown[] {
  const stream = new KvWatchStream(store, { maxResponsesPerPoll: 1_000, maxEventsPerResponse: 4 });
  const watchers = new Map<number, ModelWatcher>();
  const trace: unknown[] = [];
  let nowMs = 0;

  const deliver = (responses: WatchResponse[]): void => {
    for (const response of responses) {
      const watcher = watchers.get(response.watchId)!;
      expect(watcher, `response for unknown watcher ${response.watchId}`).toBeDefined();
      if (response.compactRevision !== 0) watcher.compactNotices.push(response.compactRevision);
      expect(response.events.length <= 4 || new Set(response.events.map((e) => e.kv.modRevision)).size === 1).toBe(true);
      watcher.received.push(...response.events);
    }
    trace.push(responses);
  };

  /** The model's idea of a poll: every watcher gets the revisions it is owed, prevKv as etcd reads it. */
  const expectPoll = (): void => {
    if (model === undefined) return;
    for (const watcher of watchers.values()) {
      if (!watcher.live) continue;
      if (watcher.nextRevision < model.compactRevision && watcher.nextRevision <= model.revision) {
        watcher.expectedCompactNotice = model.compactRevision;
        watcher.live = false;
        continue;
      }
      for (; watcher.nextRevision <= model.revision; watcher.nextRevision++) {
        const r = watcher.nextRevision;
        const span = keySpan(watcher.request.key === '' ? '\0' : watcher.request.key, watcher.request.rangeEnd);
        for (const event of model.events.get(r) ?? []) {
          if (!spanContains(span, event.kv.key)) continue;
          if (watcher.request.filters?.includes(event.type === 'PUT' ? 'NOPUT' : 'NODELETE')) continue;
          const keepPrev = watcher.request.prevKv === true && event.prevKv !== undefined && r - 1 >= model.compactRevision;
          watcher.expected.push(keepPrev ? event : { type: event.type, kv: event.kv });
        }
      }
    }
  };

  for (const step of steps) {
    if (step.kind === 'watch') {
      const created = stream.create(step.request);
      trace.push(created);
      const { key, rangeEnd } = step.request;
      if (rangeEnd !== undefined && rangeEnd !== '' && rangeEnd !== RANGE_END_ALL && (key === '' ? '\0' : key) >= rangeEnd) {
        expect(created).toMatchObject({ created: true, canceled: true, watchId: -1, cancelReason: 'mvcc: watcher range is empty' });
        continue;
      }
      if (model !== undefined) {
        expect(created).toMatchObject({ created: true, canceled: false, header: { revision: model.revision } });
        const start = step.request.startRevision || model.revision + 1;
        watchers.set(created.watchId, { id: created.watchId, request: step.request, nextRevision: start, live: true, expected: [], received: [], compactNotices: [] });
      } else {
        watchers.set(created.watchId, { id: created.watchId, request: step.request, nextRevision: 0, live: true, expected: [], received: [], compactNotices: [] });
      }
    } else if (step.kind === 'expire') {
      nowMs += step.advanceMs;
      const due = store.expiredLeases(nowMs);
      if (model !== undefined) expect(due).toEqual(model.expired(nowMs));
      for (const id of due) {
        const outcome = summarize(store.apply({ type: 'leaseRevoke', id }, nowMs));
        trace.push(outcome);
        if (model !== undefined) expect(outcome).toEqual(model.apply({ type: 'leaseRevoke', id }, nowMs));
      }
    } else {
      nowMs += step.advanceMs;
      // Through JSON, as Raft entry data.
      const outcome = summarize(store.apply(JSON.parse(JSON.stringify(step.command)), nowMs));
      trace.push(outcome);
      count(`${step.command.type} ${outcome.ok ? (outcome.response.type === 'txn' ? `ok, ${outcome.response.succeeded ? 'succeeded' : 'failed'}` : 'ok') : outcome.code}`);
      if (model !== undefined) expect(outcome, JSON.stringify(step.command)).toEqual(model.apply(step.command, nowMs));
    }
    deliver(stream.poll());
    expectPoll();
    if (model !== undefined) {
      expect(store.revision).toBe(model.revision);
      expect(store.compactRevision).toBe(model.compactRevision);
      expect(store.range('\0', RANGE_END_ALL).kvs).toEqual(sortedValues(model.current));
    }
    store.assertConsistent();
  }
  expect(stream.hasPending).toBe(false);

  if (model !== undefined) {
    for (const watcher of watchers.values()) {
      expect(watcher.received, `watcher ${watcher.id} ${JSON.stringify(watcher.request)}`).toEqual(watcher.expected);
      expect(watcher.compactNotices).toEqual(watcher.expectedCompactNotice === undefined ? [] : [watcher.expectedCompactNotice]);
      const revisions = watcher.received.map((event) => event.kv.modRevision);
      expect(revisions).toEqual([...revisions].sort((a, b) => a - b));
    }
    checkHistory(store, model);
    count('revisions reached', store.revision);
    count('compact revision reached', store.compactRevision);
    count('runs');
    for (const watcher of watchers.values()) count('watch events delivered', watcher.received.length);
  }
  trace.push(store.dump(), limitsInput);
  return trace;
}

function sortedValues(state: State): KeyValue[] {
  return [...state.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
}

/** A read at every revision, and every revision's changes against the difference of the states around it. */
function checkHistory(store: EtcdKvStore, model: Model): void {
  for (let r = 1; r <= model.revision; r++) {
    const outcome = store.apply({ type: 'range', key: '\0', rangeEnd: RANGE_END_ALL, revision: r }, 0);
    if (r < model.compactRevision) {
      expect(outcome).toMatchObject({ ok: false, error: { code: 'ERR_ETCD_COMPACTED', compactRevision: model.compactRevision } });
      expect(store.changesAt(r)).toBeUndefined();
      continue;
    }
    expect(outcome.ok && outcome.response.type === 'range' && outcome.response.kvs).toEqual(sortedValues(model.states.get(r)!));
    if (r === 1) continue;
    const events = store.changesAt(r)!.events;
    expect(events).toEqual(model.events.get(r));
    // Each key's last event in the revision is what it holds after it; every key that differs has one.
    const last = new Map<string, KvEvent>();
    for (const event of events) last.set(event.kv.key, event);
    const before = model.states.get(r - 1)!;
    const after = model.states.get(r)!;
    for (const [key, event] of last) expect(event.type === 'PUT' ? event.kv : undefined).toEqual(after.get(key));
    for (const key of new Set([...before.keys(), ...after.keys()])) {
      if (before.get(key) !== after.get(key)) expect(last.has(key), `revision ${r} changed ${key} without an event`).toBe(true);
    }
  }
}

describe('etcd kv state machine against a reference model', () => {
  it('agrees on responses, revisions, reads at every revision and watch streams', () => {
    fc.assert(
      fc.property(limitsArb, stepsArb, (limits, steps) => {
        const store = new EtcdKvStore({ limits });
        run(steps, limits, store, new Model(store.limits));
      }),
      { numRuns: NUM_RUNS, seed: SEED, path: PATH, endOnFailure: true },
    );
    if (STATS !== undefined) console.log([...STATS].sort(([a], [b]) => a.localeCompare(b)).map(([what, n]) => `${what}: ${n}`).join('\n'));
  }, TIMEOUT_MS);

  it('is deterministic: the same steps give the same outcomes, watch responses and state', () => {
    fc.assert(
      fc.property(limitsArb, stepsArb, (limits, steps) => {
        const first = run(steps, limits, new EtcdKvStore({ limits }), undefined);
        const second = run(steps, limits, new EtcdKvStore({ limits }), undefined);
        expect(JSON.stringify(second)).toBe(JSON.stringify(first));
      }),
      { numRuns: Math.ceil(NUM_RUNS / 3), seed: SEED, path: PATH, endOnFailure: true },
    );
  }, TIMEOUT_MS);
});
