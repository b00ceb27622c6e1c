// The history clients' view of etcd (sim/workloads/kv-history.ts) through the
// runtime etcd client: register operations as etcd requests. A compare-and-
// swap is a txn guarded on the value (or on the key's absence), as clients of
// etcd write one.
import type { Platform } from '../../src/runtime/platform/types.js';
import { EtcdClient } from '../../src/runtime/etcd/client.js';
import type { Compare } from '../../src/runtime/etcd/api/index.js';
import type { KvTarget } from '../workloads/kv-history.js';

export function etcdKvTarget(platform: Platform, endpoint: { host: string; port: number }, timeoutMs: number): KvTarget {
  const client = new EtcdClient(platform, { ...endpoint, timeoutMs });
  return {
    put: async (key, value) => {
      await client.request({ type: 'put', key, value });
    },
    get: async (key) => (await client.request({ type: 'range', key })).kvs[0]?.value ?? null,
    delete: async (key) => (await client.request({ type: 'deleteRange', key })).deleted,
    cas: async (key, expected, value) => {
      const guard: Compare = expected === null ? { key, target: 'CREATE', result: 'EQUAL', createRevision: 0 } : { key, target: 'VALUE', result: 'EQUAL', value: expected };
      return (await client.request({ type: 'txn', compare: [guard], success: [{ type: 'put', key, value }], failure: [] })).succeeded;
    },
  };
}
