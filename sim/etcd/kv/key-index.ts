// The multi-version index: for every key, its versions in revision order, so
// that a read at any retained revision finds what the key held then. This is
// etcd's keyIndex and backend together (mvcc/key_index.go, kvstore_txn.go),
// in memory. A key may change twice in one revision (a txn that deletes from
// a key to the end and puts a key in that range, which etcd allows); its
// versions are then in the order the txn made them.
import { kvAssert } from '../../../src/runtime/etcd/api/errors.js';
import type { KeySpan, KvBytes } from '../../../src/runtime/etcd/api/bytes.js';
import type { KeyValue } from '../../../src/runtime/etcd/api/types.js';

/** A put (the KeyValue as stored) or a delete at a revision. */
export type KeyVersion = { readonly kind: 'put'; readonly kv: KeyValue } | { readonly kind: 'delete'; readonly modRevision: number };

function versionRevision(version: KeyVersion): number {
  return version.kind === 'put' ? version.kv.modRevision : version.modRevision;
}

function versionBytes(key: KvBytes, version: KeyVersion): number {
  return key.length + (version.kind === 'put' ? version.kv.value.length : 0);
}

export class KeyIndex {
  /** Every key with retained versions, in byte order. */
  private readonly sortedKeys: KvBytes[] = [];
  private readonly versions = new Map<KvBytes, KeyVersion[]>();
  private liveKeyCount = 0;
  private retainedVersionCount = 0;
  private retainedByteCount = 0;

  /** Keys that exist now. */
  get liveKeys(): number {
    return this.liveKeyCount;
  }

  /** Key and value bytes of every retained version (a delete counts its key). */
  get retainedBytes(): number {
    return this.retainedByteCount;
  }

  get retainedVersions(): number {
    return this.retainedVersionCount;
  }

  /** The key as of `revision`, or undefined where it did not exist then. */
  get(key: KvBytes, revision: number): KeyValue | undefined {
    const chain = this.versions.get(key);
    if (chain === undefined) return undefined;
    const at = lastAtOrBefore(chain, revision);
    const version = at < 0 ? undefined : chain[at];
    return version?.kind === 'put' ? version.kv : undefined;
  }

  /** Keys that existed at `revision` within the span, in byte order. */
  range(span: KeySpan, revision: number): KeyValue[] {
    const found: KeyValue[] = [];
    for (const key of this.keysIn(span)) {
      const kv = this.get(key, revision);
      if (kv !== undefined) found.push(kv);
    }
    return found;
  }

  /** Records a put; `kv` is what the key holds from its modRevision on. */
  put(kv: KeyValue): void {
    const chain = this.chainFor(kv.key);
    const last = chain[chain.length - 1];
    kvAssert(last === undefined || versionRevision(last) <= kv.modRevision, () => `put of ${kv.key} at ${kv.modRevision} after a version at ${versionRevision(last!)}`);
    if (last?.kind !== 'put') this.liveKeyCount++;
    this.append(kv.key, chain, { kind: 'put', kv });
  }

  /** Records a delete of a key that exists. */
  delete(key: KvBytes, modRevision: number): void {
    const chain = this.versions.get(key);
    const last = chain?.[chain.length - 1];
    kvAssert(chain !== undefined && last?.kind === 'put', () => `delete of ${key}, which does not exist`);
    kvAssert(versionRevision(last) <= modRevision, () => `delete of ${key} at ${modRevision} after a version at ${versionRevision(last)}`);
    this.liveKeyCount--;
    this.append(key, chain, { kind: 'delete', modRevision });
  }

  /**
   * Forgets what no read at compactRevision or later can see: of the versions
   * at or before it, only the last is kept, and not even that if it is a
   * delete (mvcc/key_index.go, compact). A key left with nothing goes.
   */
  compact(key: KvBytes, compactRevision: number): void {
    const chain = this.versions.get(key);
    if (chain === undefined) return;
    const at = lastAtOrBefore(chain, compactRevision);
    if (at < 0) return;
    const dropThrough = chain[at]!.kind === 'delete' ? at : at - 1;
    if (dropThrough < 0) return;
    for (const version of chain.splice(0, dropThrough + 1)) {
      this.retainedVersionCount--;
      this.retainedByteCount -= versionBytes(key, version);
    }
    if (chain.length === 0) {
      this.versions.delete(key);
      const position = lowerBound(this.sortedKeys, key);
      kvAssert(this.sortedKeys[position] === key, () => `key ${key} missing from the sorted keys`);
      this.sortedKeys.splice(position, 1);
    }
  }

  /** Every retained version, for dumps and checks: [key, versions] in key order. */
  *entries(): IterableIterator<[KvBytes, readonly KeyVersion[]]> {
    for (const key of this.sortedKeys) yield [key, this.versions.get(key)!];
  }

  private *keysIn(span: KeySpan): IterableIterator<KvBytes> {
    if (span.kind === 'single') {
      if (this.versions.has(span.key)) yield span.key;
      return;
    }
    for (let i = lowerBound(this.sortedKeys, span.start); i < this.sortedKeys.length; i++) {
      const key = this.sortedKeys[i]!;
      if (span.kind === 'between' && key >= span.end) return;
      yield key;
    }
  }

  private chainFor(key: KvBytes): KeyVersion[] {
    let chain = this.versions.get(key);
    if (chain === undefined) {
      chain = [];
      this.versions.set(key, chain);
      this.sortedKeys.splice(lowerBound(this.sortedKeys, key), 0, key);
    }
    return chain;
  }

  private append(key: KvBytes, chain: KeyVersion[], version: KeyVersion): void {
    chain.push(version);
    this.retainedVersionCount++;
    this.retainedByteCount += versionBytes(key, version);
  }
}

/** Index of the last version at or before `revision`, or -1. */
function lastAtOrBefore(chain: readonly KeyVersion[], revision: number): number {
  let low = 0;
  let high = chain.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (versionRevision(chain[middle]!) <= revision) low = middle + 1;
    else high = middle;
  }
  return low - 1;
}

/** First position whose key is >= `key`. */
function lowerBound(keys: readonly KvBytes[], key: KvBytes): number {
  let low = 0;
  let high = keys.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (keys[middle]! < key) low = middle + 1;
    else high = middle;
  }
  return low;
}
