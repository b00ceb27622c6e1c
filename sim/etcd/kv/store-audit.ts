// The store's state laid bare: a JSON-safe dump (determinism checks compare
// two), and a full check of its invariants for tests and the fuzzer, which
// looks at every key, lease and retained revision.
import type { KvBytes } from '../../../src/runtime/etcd/api/bytes.js';
import { kvAssert } from '../../../src/runtime/etcd/api/errors.js';
import type { KeyIndex, KeyVersion } from './key-index.js';
import { NO_LEASE, type LeaseId } from '../../../src/runtime/etcd/api/lease-id.js';
import type { Lessor } from './lessor.js';
import type { RevisionLog } from './revision-log.js';
import type { KeyValue, KvEvent } from '../../../src/runtime/etcd/api/types.js';

export interface StoreParts {
  readonly index: KeyIndex;
  readonly lessor: Lessor;
  readonly log: RevisionLog;
  readonly revision: number;
  readonly compactRevision: number;
}

export interface KvStoreDump {
  readonly revision: number;
  readonly compactRevision: number;
  readonly keys: readonly { readonly key: KvBytes; readonly versions: readonly DumpedVersion[] }[];
  readonly leases: readonly { readonly id: LeaseId; readonly ttlS: number; readonly keys: readonly KvBytes[] }[];
  readonly history: readonly { readonly revision: number; readonly events: readonly KvEvent[] }[];
}

type DumpedVersion = { readonly put: KeyValue } | { readonly deletedAt: number };

function dumpVersion(version: KeyVersion): DumpedVersion {
  return version.kind === 'put' ? { put: version.kv } : { deletedAt: version.modRevision };
}

export function dumpStore(parts: StoreParts): KvStoreDump {
  const keys: { key: KvBytes; versions: DumpedVersion[] }[] = [];
  for (const [key, versions] of parts.index.entries()) keys.push({ key, versions: versions.map(dumpVersion) });
  return {
    revision: parts.revision,
    compactRevision: parts.compactRevision,
    keys,
    leases: parts.lessor.all().map((record) => ({ id: record.id, ttlS: record.ttlS, keys: [...record.keys].sort() })),
    history: [...parts.log].map((entry) => ({ revision: entry.revision, events: [...entry.events] })),
  };
}

export function assertStoreConsistent(parts: StoreParts): void {
  let live = 0;
  const leaseOfKey = new Map<KvBytes, LeaseId>();
  for (const [key, versions] of parts.index.entries()) {
    kvAssert(versions.length > 0, () => `${key} has no versions`);
    let previousRevision = 0;
    let generationVersion = 0;
    for (const version of versions) {
      const revision = version.kind === 'put' ? version.kv.modRevision : version.modRevision;
      kvAssert(revision >= previousRevision && revision <= parts.revision, () => `${key}: version at ${revision} out of order or above ${parts.revision}`);
      previousRevision = revision;
      if (version.kind === 'put') {
        kvAssert(generationVersion === 0 || version.kv.version === generationVersion + 1, () => `${key}: version ${version.kv.version} after ${generationVersion}`);
        generationVersion = version.kv.version;
      } else {
        generationVersion = 0;
      }
    }
    const last = versions[versions.length - 1]!;
    if (last.kind === 'put') {
      live++;
      if (last.kv.lease !== NO_LEASE) leaseOfKey.set(key, last.kv.lease);
    }
    const first = versions[0]!;
    kvAssert(first.kind === 'put' || parts.compactRevision < first.modRevision, () => `${key}: a delete at or before the compact revision survived`);
  }
  kvAssert(live === parts.index.liveKeys, () => `${live} live keys counted, the index says ${parts.index.liveKeys}`);
  for (const record of parts.lessor.all()) {
    for (const key of record.keys) kvAssert(leaseOfKey.get(key) === record.id, () => `lease ${record.id} lists ${key}, which is not on it`);
  }
  for (const [key, lease] of leaseOfKey) kvAssert(parts.lessor.get(lease)?.keys.has(key) === true, () => `${key} is on lease ${lease}, which does not list it`);
  const first = parts.log.firstRevision;
  const last = parts.log.lastRevision;
  if (last !== undefined) kvAssert(last === parts.revision, () => `history ends at ${last}, the store is at ${parts.revision}`);
  if (first !== undefined) kvAssert(first <= Math.max(parts.compactRevision, 2), () => `history starts at ${first}, above the compact revision ${parts.compactRevision}`);
}
