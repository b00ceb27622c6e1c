// The etcd model's key-value state machine (sim/etcd/kv), by worked example:
// revisions numbered as etcd numbers them, ranges, txn compare-and-swap and
// create-if-absent, leases (expiry, revoke deleting keys), compaction, watches
// from past revisions, and refusals of bad input. Where a number or shape was
// checked against a real etcd 3.4.23, the comment says so.
import { describe, expect, it } from 'vitest';
import {
  EtcdKvConfigError,
  EtcdKvError,
  EtcdKvStore,
  KvWatchStream,
  NO_WATCH_ID,
  RANGE_END_ALL,
  WATCH_CANCEL_REASONS,
  bytesFromUtf8,
  prefixRangeEnd,
  utf8FromBytes,
  type KeyValue,
  type KvCommand,
  type KvResponse,
} from '../sim/etcd/kv/index.js';

function refusal(run: () => unknown): EtcdKvError {
  try {
    run();
  } catch (error) {
    if (error instanceof EtcdKvError) return error;
    throw error;
  }
  throw new Error('expected an EtcdKvError');
}

function kv(key: string, value: string, createRevision: number, modRevision: number, version: number, lease = '0'): KeyValue {
  return { key, value, createRevision, modRevision, version, lease };
}

describe('revisions, as etcd numbers them', () => {
  it('starts at 1 and takes one per write that changes something', () => {
    const store = new EtcdKvStore();
    expect(store.revision).toBe(1);
    expect(store.range('foo')).toEqual({ type: 'range', header: { revision: 1 }, kvs: [], more: false, count: 0 });
    expect(store.put('foo', 'bar').header.revision).toBe(2);
    expect(store.put('foo', 'baz', { prevKv: true })).toEqual({ type: 'put', header: { revision: 3 }, prevKv: kv('foo', 'bar', 2, 2, 1) });
    expect(store.range('foo').kvs).toEqual([kv('foo', 'baz', 2, 3, 2)]);
  });

  it('a delete of nothing takes no revision; a delete resets the version; a re-create starts a new generation', () => {
    const store = new EtcdKvStore();
    store.put('a', '1'); // 2
    store.put('a', '2'); // 3
    expect(store.deleteRange('nothing')).toEqual({ type: 'deleteRange', header: { revision: 3 }, deleted: 0, prevKvs: [] });
    expect(store.revision).toBe(3);
    expect(store.deleteRange('a', undefined, { prevKv: true })).toEqual({ type: 'deleteRange', header: { revision: 4 }, deleted: 1, prevKvs: [kv('a', '2', 2, 3, 2)] });
    expect(store.put('a', '3').header.revision).toBe(5);
    expect(store.range('a').kvs).toEqual([kv('a', '3', 5, 5, 1)]);
  });

  it('reads answer with the current revision, even when reading an older one', () => {
    const store = new EtcdKvStore();
    store.put('k', 'v1'); // 2
    store.put('k', 'v2'); // 3
    store.put('other', 'x'); // 4
    const old = store.range('k', undefined, { revision: 2 });
    expect(old.header.revision).toBe(4);
    expect(old.kvs).toEqual([kv('k', 'v1', 2, 2, 1)]);
    expect(store.range('k', undefined, { revision: 1 }).kvs).toEqual([]);
    expect(refusal(() => store.range('k', undefined, { revision: 5 })).code).toBe('ERR_ETCD_FUTURE_REV');
  });

  it('a deleteRange over several keys gives them all one revision', () => {
    const store = new EtcdKvStore();
    for (const key of ['p/a', 'p/b', 'p/c', 'q']) store.put(key, 'v');
    const response = store.deleteRange('p/', prefixRangeEnd('p/'));
    expect(response).toMatchObject({ header: { revision: 6 }, deleted: 3 });
    expect(store.changesAt(6)?.events.map((event) => [event.type, event.kv.key, event.kv.modRevision])).toEqual([
      ['DELETE', 'p/a', 6],
      ['DELETE', 'p/b', 6],
      ['DELETE', 'p/c', 6],
    ]);
  });
});

describe('range', () => {
  const store = new EtcdKvStore();
  for (const [key, value] of [['k1', 'c'], ['k2', 'b'], ['k3', 'a'], ['l', 'z'], ['\xff', 'end']] as const) store.put(key, value);

  it('reads one key, a prefix, every key from a key on, or everything', () => {
    expect(store.range('k2').kvs.map((x) => x.key)).toEqual(['k2']);
    expect(store.range('k', prefixRangeEnd('k')).kvs.map((x) => x.key)).toEqual(['k1', 'k2', 'k3']);
    expect(store.range('k3', RANGE_END_ALL).kvs.map((x) => x.key)).toEqual(['k3', 'l', '\xff']);
    expect(store.range('\0', RANGE_END_ALL).count).toBe(5);
    expect(store.range('l', 'k').kvs).toEqual([]);
  });

  it('computes prefix ends as clientv3 does', () => {
    expect(prefixRangeEnd('abc')).toBe('abd');
    expect(prefixRangeEnd('a\xff')).toBe('b');
    expect(prefixRangeEnd('\xff\xff')).toBe(RANGE_END_ALL);
  });

  it('counts every key in range; limit cuts with more; count and keys only; checked against etcd 3.4.23', () => {
    const limited = store.range('k', 'l', { limit: 2 });
    expect(limited.kvs.map((x) => x.key)).toEqual(['k1', 'k2']);
    expect(limited.more).toBe(true);
    expect(limited.count).toBe(3);
    expect(store.range('k', 'l', { countOnly: true, limit: 2 })).toEqual({ type: 'range', header: { revision: 6 }, kvs: [], more: false, count: 3 });
    expect(store.range('k1', undefined, { keysOnly: true }).kvs).toEqual([kv('k1', '', 2, 2, 1)]);
  });

  it('sorts when asked (ascending by default for a non-key target) and filters after counting', () => {
    expect(store.range('k', 'l', { sortTarget: 'VALUE' }).kvs.map((x) => x.key)).toEqual(['k3', 'k2', 'k1']);
    expect(store.range('k', 'l', { sortOrder: 'DESCEND', sortTarget: 'MOD', limit: 2 }).kvs.map((x) => x.key)).toEqual(['k3', 'k2']);
    const filtered = store.range('k', 'l', { minModRevision: 3, limit: 1 });
    expect(filtered.kvs.map((x) => x.key)).toEqual(['k2']);
    expect(filtered).toMatchObject({ more: true, count: 3 });
  });

  it('keys are bytes: text outside ASCII goes through UTF-8', () => {
    const local = new EtcdKvStore();
    const key = bytesFromUtf8('/registry/nœuds/é');
    local.put(key, bytesFromUtf8('✓'));
    expect(utf8FromBytes(local.range(key).kvs[0]!.value)).toBe('✓');
    expect(refusal(() => local.put('/registry/é\u2713', 'x'))).toMatchObject({ code: 'ERR_ETCD_BAD_COMMAND', field: 'command.key' });
  });
});

describe('txn', () => {
  it('create-if-absent: CREATE == 0 holds only for a missing key (checked against etcd 3.4.23)', () => {
    const store = new EtcdKvStore();
    const createA = {
      compare: [{ key: 'a', target: 'CREATE', result: 'EQUAL', createRevision: 0 }] as const,
      success: [{ type: 'put', key: 'a', value: '1' }, { type: 'range', key: 'a' }] as const,
      failure: [{ type: 'range', key: 'a' }] as const,
    };
    const first = store.txn(createA);
    expect(first).toEqual({
      type: 'txn',
      header: { revision: 2 },
      succeeded: true,
      responses: [
        { type: 'put', header: { revision: 2 } },
        { type: 'range', header: { revision: 2 }, kvs: [kv('a', '1', 2, 2, 1)], more: false, count: 1 },
      ],
    });
    const second = store.txn(createA);
    expect(second.succeeded).toBe(false);
    expect(second.header.revision).toBe(2);
    expect(second.responses).toEqual([{ type: 'range', header: { revision: 2 }, kvs: [kv('a', '1', 2, 2, 1)], more: false, count: 1 }]);
  });

  it('compare-and-swap on mod revision: the stale writer loses and nothing changes', () => {
    const store = new EtcdKvStore();
    const { header } = store.put('lock', 'free');
    const swap = (value: string) =>
      store.txn({ compare: [{ key: 'lock', target: 'MOD', result: 'EQUAL', modRevision: header.revision }], success: [{ type: 'put', key: 'lock', value }] });
    expect(swap('mine').succeeded).toBe(true);
    expect(swap('theirs')).toEqual({ type: 'txn', header: { revision: 3 }, succeeded: false, responses: [] });
    expect(store.range('lock').kvs[0]!.value).toBe('mine');
  });

  it('a VALUE compare on a missing key fails whatever its operator, as etcd has it', () => {
    const store = new EtcdKvStore();
    const notEqual = store.txn({ compare: [{ key: 'missing', target: 'VALUE', result: 'NOT_EQUAL', value: 'x' }] });
    expect(notEqual.succeeded).toBe(false);
    const versionZero = store.txn({ compare: [{ key: 'missing', target: 'VERSION', result: 'EQUAL', version: 0 }] });
    expect(versionZero.succeeded).toBe(true);
  });

  it('compares every key of a range, and the LEASE target as an int64', () => {
    const store = new EtcdKvStore();
    store.leaseGrant(60, 0, { id: '7587869461395486466' });
    store.put('r/a', '1', { lease: '7587869461395486466' });
    store.put('r/b', '1');
    const allVersionOne = { key: 'r/', rangeEnd: prefixRangeEnd('r/'), target: 'VERSION', result: 'EQUAL', version: 1 } as const;
    expect(store.txn({ compare: [allVersionOne] }).succeeded).toBe(true);
    store.put('r/b', '2');
    expect(store.txn({ compare: [allVersionOne] }).succeeded).toBe(false);
    expect(store.txn({ compare: [{ key: 'r/a', target: 'LEASE', result: 'GREATER', lease: '7587869461395486465' }] }).succeeded).toBe(true);
    expect(store.txn({ compare: [{ key: 'r/b', target: 'LEASE', result: 'EQUAL', lease: '0' }] }).succeeded).toBe(true);
  });

  it('inner headers as etcd fills them: a range after a put sees it; a nested txn has none (checked against etcd 3.4.23)', () => {
    const store = new EtcdKvStore();
    store.put('a', '1'); // 2
    const response = store.txn({
      success: [
        { type: 'range', key: 'a' },
        { type: 'put', key: 'a', value: '2', prevKv: true },
        { type: 'deleteRange', key: 'zz' },
        { type: 'txn', compare: [], success: [], failure: [] },
      ],
    });
    expect(response.header.revision).toBe(3);
    expect(response.responses.map((r) => r.header.revision)).toEqual([2, 3, 3, 0]);
    expect(response.responses[1]).toEqual({ type: 'put', header: { revision: 3 }, prevKv: kv('a', '1', 2, 2, 1) });
  });

  it('a txn that only reads, or deletes nothing, takes no revision', () => {
    const store = new EtcdKvStore();
    store.put('a', '1');
    expect(store.txn({ success: [{ type: 'range', key: 'a' }, { type: 'deleteRange', key: 'none' }] }).header.revision).toBe(2);
    expect(store.revision).toBe(2);
  });

  it('evaluates nested guards before any write of the txn', () => {
    const store = new EtcdKvStore();
    const response = store.txn({
      success: [
        { type: 'put', key: 'x', value: '1' },
        { type: 'txn', compare: [{ key: 'x', target: 'CREATE', result: 'EQUAL', createRevision: 0 }], success: [{ type: 'put', key: 'y', value: 'x was absent' }], failure: [] },
      ],
    });
    expect(response.responses[1]).toMatchObject({ type: 'txn', succeeded: true });
    expect(store.range('y').kvs[0]!.value).toBe('x was absent');
  });

  it('refuses a key put twice or put and deleted on one path, and too many ops', () => {
    const store = new EtcdKvStore();
    expect(refusal(() => store.txn({ success: [{ type: 'put', key: 'q', value: '' }, { type: 'put', key: 'q', value: '' }] })).code).toBe('ERR_ETCD_DUPLICATE_KEY');
    expect(refusal(() => store.txn({ success: [{ type: 'deleteRange', key: 'a', rangeEnd: 'c' }, { type: 'put', key: 'b', value: '' }] })).code).toBe('ERR_ETCD_DUPLICATE_KEY');
    // The two branches of a nested txn exclude each other: the same key may be put in both.
    const nested = { type: 'txn', compare: [], success: [{ type: 'put', key: 'k', value: '1' }], failure: [{ type: 'put', key: 'k', value: '2' }] } as const;
    expect(store.txn({ success: [nested] }).succeeded).toBe(true);
    const ops = Array.from({ length: 129 }, () => ({ type: 'range', key: 'a' }) as const);
    expect(refusal(() => store.txn({ success: ops })).code).toBe('ERR_ETCD_TOO_MANY_OPS');
    expect(store.txn({ success: ops.slice(1) }).responses).toHaveLength(128);
    expect(store.revision).toBe(2);
  });

  it('allows what etcd allows: a delete to the end and a put in its range, both at one revision', () => {
    const store = new EtcdKvStore();
    store.put('k1', 'old'); // 2
    store.put('k2', 'old'); // 3
    const response = store.txn({ success: [{ type: 'deleteRange', key: 'k', rangeEnd: RANGE_END_ALL }, { type: 'put', key: 'k2', value: 'again' }] });
    expect(response.header.revision).toBe(4);
    expect(store.changesAt(4)?.events.map((event) => `${event.type} ${event.kv.key} v${event.kv.version}`)).toEqual(['DELETE k1 v0', 'DELETE k2 v0', 'PUT k2 v1']);
    expect(store.range('k', RANGE_END_ALL).kvs).toEqual([kv('k2', 'again', 4, 4, 1)]);
    store.assertConsistent();
  });

  it('refuses, whole, the txn that makes etcd 3.4.23 panic: a delete to the end, then a put that needs the deleted key', () => {
    // Real etcd passes every check (the key exists when the txn begins; its
    // duplicate-key check misses '\0' deletes), fails half way and panics:
    // "unexpected error during txn: etcdserver: key not found", on every
    // member that applies the entry. Observed on Debian's etcd 3.4.23.
    const store = new EtcdKvStore();
    store.put('c', 'v');
    const txn = { success: [{ type: 'deleteRange', key: 'a', rangeEnd: RANGE_END_ALL }, { type: 'put', key: 'c', value: '', ignoreLease: true }] } as const;
    expect(refusal(() => store.txn(txn)).code).toBe('ERR_ETCD_KEY_NOT_FOUND');
    expect(store.revision).toBe(2);
    expect(store.range('c').kvs).toEqual([kv('c', 'v', 2, 2, 1)]);
  });

  it('a txn refused on its path changes nothing', () => {
    const store = new EtcdKvStore();
    store.put('a', '1');
    const error = refusal(() => store.txn({ success: [{ type: 'put', key: 'b', value: '' }, { type: 'put', key: 'c', value: '', lease: '42' }] }));
    expect(error.code).toBe('ERR_ETCD_LEASE_NOT_FOUND');
    expect(refusal(() => store.txn({ success: [{ type: 'put', key: 'z', value: '', ignoreValue: true }] })).code).toBe('ERR_ETCD_KEY_NOT_FOUND');
    expect(refusal(() => store.txn({ success: [{ type: 'put', key: 'b', value: '' }, { type: 'range', key: 'a', revision: 9 }] })).code).toBe('ERR_ETCD_FUTURE_REV');
    expect(store.revision).toBe(2);
    expect(store.range('b').kvs).toEqual([]);
  });
});

describe('put options', () => {
  it('ignoreValue and ignoreLease keep what the key has; both need the key (checked against etcd 3.4.23)', () => {
    const store = new EtcdKvStore();
    store.leaseGrant(10, 0, { id: '5' });
    store.put('k', 'v', { lease: '5' });
    expect(store.put('k', '', { ignoreValue: true }).header.revision).toBe(3);
    expect(store.range('k').kvs[0]).toEqual(kv('k', 'v', 2, 3, 2, '0'));
    store.put('k', 'w', { lease: '5' });
    store.put('k', 'x', { ignoreLease: true });
    expect(store.range('k').kvs[0]).toEqual(kv('k', 'x', 2, 5, 4, '5'));
    expect(refusal(() => store.put('new', '', { ignoreValue: true })).code).toBe('ERR_ETCD_KEY_NOT_FOUND');
    expect(refusal(() => store.put('k', 'v', { ignoreValue: true })).code).toBe('ERR_ETCD_VALUE_PROVIDED');
    expect(refusal(() => store.put('k', 'v', { ignoreLease: true, lease: '5' })).code).toBe('ERR_ETCD_LEASE_PROVIDED');
  });
});

describe('leases', () => {
  it('grants at least the minimum TTL, refuses a taken ID and a TTL over MaxLeaseTTL (checked against etcd 3.4.23)', () => {
    const store = new EtcdKvStore();
    expect(store.leaseGrant(1, 0, { id: '9' })).toEqual({ type: 'leaseGrant', header: { revision: 1 }, id: '9', ttlS: 2 });
    expect(store.leaseGrant(-5, 0, { id: '10' }).ttlS).toBe(2);
    expect(refusal(() => store.leaseGrant(30, 0, { id: '9' })).code).toBe('ERR_ETCD_LEASE_EXISTS');
    expect(refusal(() => store.leaseGrant(9_000_000_001, 0)).code).toBe('ERR_ETCD_LEASE_TTL_TOO_LARGE');
    expect(store.leaseGrant(30, 0).id).toBe('1');
    expect(store.leaseGrant(30, 0).id).toBe('2');
  });

  it('a revoke deletes the attached keys in one revision, in byte order; a revoke of a bare lease takes none', () => {
    const store = new EtcdKvStore();
    store.leaseGrant(30, 0, { id: '7' });
    store.leaseGrant(30, 0, { id: '8' });
    store.put('l2', 'v', { lease: '7' }); // 2
    store.put('l1', 'v', { lease: '7' }); // 3
    store.put('keep', 'v'); // 4
    expect(store.leaseRevoke('7')).toEqual({ type: 'leaseRevoke', header: { revision: 5 } });
    expect(store.changesAt(5)?.events.map((event) => `${event.type} ${event.kv.key}`)).toEqual(['DELETE l1', 'DELETE l2']);
    expect(store.range('\0', RANGE_END_ALL).kvs.map((x) => x.key)).toEqual(['keep']);
    expect(store.leaseRevoke('8').header.revision).toBe(5);
    expect(refusal(() => store.leaseRevoke('7')).code).toBe('ERR_ETCD_LEASE_NOT_FOUND');
    expect(refusal(() => store.put('x', 'v', { lease: '7' })).code).toBe('ERR_ETCD_LEASE_NOT_FOUND');
  });

  it('moving a key to another lease, or deleting it, detaches it', () => {
    const store = new EtcdKvStore();
    store.leaseGrant(30, 0, { id: '1' });
    store.leaseGrant(30, 0, { id: '2' });
    store.put('a', 'v', { lease: '1' });
    store.put('b', 'v', { lease: '1' });
    store.put('a', 'v', { lease: '2' });
    store.deleteRange('b');
    expect(store.leaseTimeToLive('1', 0, { keys: true }).keys).toEqual([]);
    expect(store.leaseTimeToLive('2', 0, { keys: true }).keys).toEqual(['a']);
    expect(store.leaseRevoke('1').header.revision).toBe(store.revision);
    store.assertConsistent();
  });

  it("expiry is the leader's: expiredLeases lists what is due, soonest first; keepalive restarts the clock", () => {
    const store = new EtcdKvStore();
    store.leaseGrant(10, 1_000, { id: '1' }); // due at 11 s
    store.leaseGrant(5, 2_000, { id: '2' }); // due at 7 s
    store.put('session', 'v', { lease: '1' });
    expect(store.expiredLeases(6_999)).toEqual([]);
    expect(store.expiredLeases(7_000)).toEqual(['2']);
    expect(store.leaseKeepAlive('1', 10_000)).toEqual({ type: 'leaseKeepAlive', header: { revision: 2 }, id: '1', ttlS: 10 });
    expect(store.expiredLeases(19_999)).toEqual(['2']);
    expect(store.expiredLeases(20_000)).toEqual(['2', '1']);
    expect(store.leaseTimeToLive('1', 12_500)).toMatchObject({ ttlS: 7, grantedTtlS: 10 });
    // The leader proposes the revoke; applying it deletes the key.
    store.apply({ type: 'leaseRevoke', id: '1' }, 20_000);
    expect(store.range('session').kvs).toEqual([]);
  });

  it('a keepalive extends only leases that exist and have not expired; etcd answers TTL 0 (checked against etcd 3.4.23)', () => {
    const store = new EtcdKvStore();
    store.leaseGrant(2, 0, { id: '3' });
    expect(store.leaseKeepAlive('3', 2_000).ttlS).toBe(0);
    expect(store.leaseKeepAlive('12345', 0).ttlS).toBe(0);
    expect(store.leaseTimeToLive('12345', 0)).toEqual({ type: 'leaseTimeToLive', header: { revision: 1 }, id: '12345', ttlS: -1, grantedTtlS: 0, keys: [] });
  });

  it('a new leader restarts every clock (promote); a follower expires nothing (demote)', () => {
    const store = new EtcdKvStore();
    store.leaseGrant(10, 0, { id: '1' });
    store.demoteLeases();
    expect(store.expiredLeases(1e12)).toEqual([]);
    store.promoteLeases(50_000, 1_000);
    expect(store.expiredLeases(60_999)).toEqual([]);
    expect(store.expiredLeases(61_000)).toEqual(['1']);
  });

  it('bounds the leases handed out per call', () => {
    const store = new EtcdKvStore({ limits: { maxExpiredLeasesPerCall: 3 } });
    for (let i = 1; i <= 5; i++) store.leaseGrant(2, i, { id: String(i) });
    expect(store.expiredLeases(1e9)).toEqual(['1', '2', '3']);
  });
});

describe('compaction', () => {
  function withHistory(): EtcdKvStore {
    const store = new EtcdKvStore();
    for (let i = 1; i <= 6; i++) store.put('k', `v${i}`); // revisions 2..7
    return store;
  }

  it('refuses a revision already compacted and one in the future (checked against etcd 3.4.23)', () => {
    const store = withHistory();
    expect(store.compact(5)).toEqual({ type: 'compact', header: { revision: 7 } });
    expect(refusal(() => store.compact(5))).toMatchObject({ code: 'ERR_ETCD_COMPACTED', compactRevision: 5 });
    expect(refusal(() => store.compact(4)).code).toBe('ERR_ETCD_COMPACTED');
    expect(refusal(() => store.compact(8)).code).toBe('ERR_ETCD_FUTURE_REV');
  });

  it('reads below the compact revision fail with it; at it and above they work', () => {
    const store = withHistory();
    store.compact(5);
    const error = refusal(() => store.range('k', undefined, { revision: 4 }));
    expect(error.code).toBe('ERR_ETCD_COMPACTED');
    expect(error.compactRevision).toBe(5);
    expect(store.range('k', undefined, { revision: 5 }).kvs).toEqual([kv('k', 'v4', 2, 5, 4)]);
    expect(store.range('k', undefined, { revision: 7 }).kvs).toEqual([kv('k', 'v6', 2, 7, 6)]);
    expect(refusal(() => store.txn({ success: [{ type: 'range', key: 'k', revision: 4 }] })).code).toBe('ERR_ETCD_COMPACTED');
    store.assertConsistent();
  });

  it('forgets deleted keys entirely once compacted past their delete', () => {
    const store = new EtcdKvStore();
    store.put('gone', 'v'); // 2
    store.deleteRange('gone'); // 3
    store.put('x', 'v'); // 4
    store.compact(4);
    expect(store.dump().keys.map((entry) => entry.key)).toEqual(['x']);
  });

  it('keeps history bounded: maxHistoryRevisions, then maxHistoryChanges', () => {
    const byRevisions = new EtcdKvStore({ limits: { maxHistoryRevisions: 3 } });
    for (let i = 0; i < 10; i++) byRevisions.put('k', String(i));
    expect(byRevisions.revision).toBe(11);
    expect(byRevisions.compactRevision).toBe(8);
    expect(byRevisions.range('k', undefined, { revision: 8 }).kvs[0]!.value).toBe('6');

    const byChanges = new EtcdKvStore({ limits: { maxHistoryChanges: 4 } });
    byChanges.txn({ success: ['a', 'b', 'c'].map((key) => ({ type: 'put', key, value: '1' }) as const) }); // 2: 3 changes
    byChanges.put('d', '1'); // 3: 4 changes held
    expect(byChanges.compactRevision).toBe(0);
    byChanges.put('e', '1'); // 4: 5 > 4, so revision 2 goes
    expect(byChanges.compactRevision).toBe(3);
    byChanges.assertConsistent();
  });
});

describe('watch', () => {
  it('a watcher from a past revision first gets the history since then, then live events (checked against etcd 3.4.23)', () => {
    const store = new EtcdKvStore();
    store.put('foo', 'bar'); // 2
    store.put('foo', 'baz'); // 3
    store.put('a', '1'); // 4
    const stream = new KvWatchStream(store);
    expect(stream.create({ key: 'a', rangeEnd: RANGE_END_ALL, startRevision: 1, prevKv: true })).toEqual({
      header: { revision: 4 },
      watchId: 0,
      created: true,
      canceled: false,
      compactRevision: 0,
      cancelReason: '',
      fragment: false,
      events: [],
    });
    store.deleteRange('a'); // 5
    const [history, ...rest] = stream.poll();
    expect(rest).toEqual([]);
    expect(history!.header.revision).toBe(5);
    expect(history!.events).toEqual([
      { type: 'PUT', kv: kv('foo', 'bar', 2, 2, 1) },
      { type: 'PUT', kv: kv('foo', 'baz', 2, 3, 2), prevKv: kv('foo', 'bar', 2, 2, 1) },
      { type: 'PUT', kv: kv('a', '1', 4, 4, 1) },
      { type: 'DELETE', kv: kv('a', '', 0, 5, 0), prevKv: kv('a', '1', 4, 4, 1) },
    ]);
    expect(stream.poll()).toEqual([]);
    store.put('b', '2'); // 6
    expect(stream.poll().map((r) => [r.header.revision, r.events.map((e) => e.kv.key)])).toEqual([[6, ['b']]]);
  });

  it('without a start revision it sees only what comes next; without prevKv none is given', () => {
    const store = new EtcdKvStore();
    store.put('w', '0');
    const stream = new KvWatchStream(store);
    stream.create({ key: 'w' });
    expect(stream.poll()).toEqual([]);
    store.put('w', '1');
    store.put('x', 'not watched');
    expect(stream.poll().map((r) => r.events)).toEqual([[{ type: 'PUT', kv: kv('w', '1', 2, 3, 2) }]]);
  });

  it('filters, several watchers in ID order, cancel and progress', () => {
    const store = new EtcdKvStore();
    const stream = new KvWatchStream(store);
    expect(stream.create({ key: 'p/', rangeEnd: prefixRangeEnd('p/'), filters: ['NOPUT'] }).watchId).toBe(0);
    expect(stream.create({ key: 'p/', rangeEnd: prefixRangeEnd('p/'), watchId: 5 }).watchId).toBe(5);
    expect(stream.create({ key: 'p/a' }).watchId).toBe(1);
    store.put('p/a', '1');
    store.deleteRange('p/a');
    expect(stream.poll().map((r) => [r.watchId, r.events.map((e) => e.type)])).toEqual([
      [0, ['DELETE']],
      [1, ['PUT', 'DELETE']],
      [5, ['PUT', 'DELETE']],
    ]);
    expect(stream.cancel(5)).toMatchObject({ watchId: 5, canceled: true, header: { revision: 3 } });
    expect(stream.cancel(5)).toBeUndefined();
    expect(stream.progress()).toMatchObject({ watchId: NO_WATCH_ID, header: { revision: 3 }, created: false });
  });

  it('refuses a taken ID and an empty range as etcd does: created, cancelled, watch ID -1', () => {
    const store = new EtcdKvStore();
    const stream = new KvWatchStream(store, { maxWatchers: 2 });
    stream.create({ key: 'a', watchId: 3 });
    expect(stream.create({ key: 'b', watchId: 3 })).toMatchObject({ watchId: -1, created: true, canceled: true, cancelReason: WATCH_CANCEL_REASONS.duplicateId });
    expect(stream.create({ key: 'b', rangeEnd: 'a' })).toMatchObject({ watchId: -1, canceled: true, cancelReason: WATCH_CANCEL_REASONS.emptyRange });
    stream.create({ key: 'c' });
    expect(stream.create({ key: 'd' })).toMatchObject({ watchId: -1, canceled: true });
  });

  it('a watcher owed compacted revisions is told the compact revision and cancelled (checked against etcd 3.4.23)', () => {
    const store = new EtcdKvStore();
    for (let i = 0; i < 6; i++) store.put('k', String(i)); // 2..7
    store.compact(5);
    const stream = new KvWatchStream(store);
    stream.create({ key: 'k', startRevision: 3 });
    expect(stream.poll()).toEqual([
      { header: { revision: 0 }, watchId: 0, created: false, canceled: true, compactRevision: 5, cancelReason: '', fragment: false, events: [] },
    ]);
    expect(stream.watcherCount).toBe(0);
    stream.create({ key: 'k', startRevision: 5, prevKv: true });
    const [first] = stream.poll();
    // The event at the compact revision has no prevKv: the revision before it is gone.
    expect(first!.events.map((e) => [e.kv.modRevision, e.prevKv?.modRevision])).toEqual([[5, undefined], [6, 5], [7, 6]]);
  });

  it('a lagging watcher overtaken by automatic compaction is cancelled, never handed a gap', () => {
    const store = new EtcdKvStore({ limits: { maxHistoryRevisions: 2 } });
    const stream = new KvWatchStream(store);
    stream.create({ key: 'k', startRevision: 1 });
    for (let i = 0; i < 5; i++) store.put('k', String(i));
    expect(stream.poll()).toMatchObject([{ canceled: true, compactRevision: 4 }]);
  });

  it('bounds events per response at whole revisions, and responses per poll', () => {
    const store = new EtcdKvStore();
    for (let i = 0; i < 10; i++) store.put('k', String(i)); // 2..11
    store.txn({ success: ['k0', 'k1', 'k2', 'k3'].map((key) => ({ type: 'put', key, value: '' }) as const) }); // 12: 4 events
    const stream = new KvWatchStream(store, { maxEventsPerResponse: 3, maxResponsesPerPoll: 2 });
    stream.create({ key: 'k', rangeEnd: 'l', startRevision: 2 });
    const sizes: number[][] = [];
    for (let round = 0; round < 10 && (round === 0 || stream.hasPending); round++) sizes.push(stream.poll().map((r) => r.events.length));
    // A revision bigger than the bound goes alone.
    expect(sizes).toEqual([[3, 3], [3, 1], [4]]);
  });
});

describe('commands as Raft entry data', () => {
  it('apply takes parsed JSON and returns refusals as results, leaving the state alone', () => {
    const store = new EtcdKvStore();
    const commands: KvCommand[] = [
      { type: 'put', key: 'a', value: '1' },
      { type: 'txn', compare: [{ key: 'a', target: 'VALUE', result: 'EQUAL', value: '1' }], success: [{ type: 'deleteRange', key: 'a' }], failure: [] },
      { type: 'range', key: 'a', revision: 2 },
    ];
    const responses = commands.map((command) => store.apply(JSON.parse(JSON.stringify(command)), 0));
    expect(responses.map((outcome) => outcome.ok && outcome.response.header.revision)).toEqual([2, 3, 3]);
    const bad = store.apply({ type: 'range', key: '' }, 0);
    expect(bad).toMatchObject({ ok: false, error: { code: 'ERR_ETCD_EMPTY_KEY', field: 'command.key' } });
    expect(store.revision).toBe(3);
  });

  it.each([
    [null, 'command'],
    [{ type: 'frobnicate' }, 'command.type'],
    [{ type: 'put', key: 'a', value: 1 }, 'command.value'],
    [{ type: 'put', key: 'a', prev_kv: true }, 'command.prev_kv'],
    [{ type: 'range', key: 'a', revision: -1 }, 'command.revision'],
    [{ type: 'range', key: 'a', limit: 1.5 }, 'command.limit'],
    [{ type: 'put', key: 'a', lease: 7 }, 'command.lease'],
    [{ type: 'put', key: 'a', lease: '9223372036854775808' }, 'command.lease'],
    [{ type: 'txn', compare: [{ key: 'a', target: 'SIZE', result: 'EQUAL' }] }, 'command.compare[0].target'],
    [{ type: 'txn', compare: [{ key: 'a', target: 'MOD', result: 'EQUAL', version: 1 }] }, 'command.compare[0].version'],
    [{ type: 'txn', success: [{ type: 'compact', revision: 1 }] }, 'command.success[0].type'],
    [{ type: 'txn', failure: 'none' }, 'command.failure'],
    [{ type: 'leaseGrant' }, 'command.ttlS'],
  ])('refuses the malformed command %j, naming %s', (command, field) => {
    const outcome = new EtcdKvStore().apply(command, 0);
    expect(outcome).toMatchObject({ ok: false, error: { code: 'ERR_ETCD_BAD_COMMAND', field } });
  });

  it("refuses a request over 1.5 MiB (etcd's --max-request-bytes)", () => {
    const store = new EtcdKvStore();
    const limit = 1.5 * 1024 * 1024;
    expect(refusal(() => store.put('big', 'x'.repeat(limit))).code).toBe('ERR_ETCD_REQUEST_TOO_LARGE');
    expect(store.put('big', 'x'.repeat(limit - 3)).header.revision).toBe(2);
  });

  it("refuses writes past the key and byte bounds with etcd's database-space-exceeded error", () => {
    const store = new EtcdKvStore({ limits: { maxKeys: 2, maxStoreBytes: 100 } });
    store.put('a', '');
    store.put('b', '');
    expect(refusal(() => store.put('c', '')).code).toBe('ERR_ETCD_NO_SPACE');
    store.put('a', 'overwrite is fine');
    expect(refusal(() => store.put('a', 'y'.repeat(100))).code).toBe('ERR_ETCD_NO_SPACE');
    expect(() => new EtcdKvStore({ limits: { maxKeys: 0 } })).toThrow(EtcdKvConfigError);
  });

  it('is deterministic: the same commands at the same times give the same responses and state', () => {
    const script: [KvCommand, number][] = [
      [{ type: 'leaseGrant', ttlS: 5 }, 0],
      [{ type: 'put', key: 'a', value: '1', lease: '1' }, 10],
      [{ type: 'txn', compare: [{ key: 'a', target: 'CREATE', result: 'GREATER', createRevision: 0 }], success: [{ type: 'put', key: 'b', value: '2', prevKv: true }], failure: [] }, 20],
      [{ type: 'leaseKeepAlive', id: '1' }, 3_000],
      [{ type: 'compact', revision: 2 }, 4_000],
      [{ type: 'leaseRevoke', id: '1' }, 9_000],
    ];
    const run = (): [KvResponse[], unknown] => {
      const store = new EtcdKvStore();
      const responses = script.map(([command, nowMs]) => {
        const outcome = store.apply(command, nowMs);
        if (!outcome.ok) throw outcome.error;
        return outcome.response;
      });
      return [responses, store.dump()];
    };
    expect(run()).toEqual(run());
  });
});
