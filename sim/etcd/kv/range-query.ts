// A range's answer from the keys found at its revision, as etcd's applier
// shapes it (etcdserver/apply.go, Range): count is every key found; the
// min/max filters, sorting and limit come after it; `more` says the limit cut
// something off; keys_only blanks values, count_only drops the kvs.
import type { KeyValue, RangeCommand, RangeResponse, SortTarget } from '../../../src/runtime/etcd/api/types.js';

export function shapeRange(found: readonly KeyValue[], command: RangeCommand, headerRevision: number): RangeResponse {
  const count = found.length;
  if (command.countOnly === true) return { type: 'range', header: { revision: headerRevision }, kvs: [], more: false, count };
  let kvs = found.filter((kv) => passesFilters(kv, command));
  kvs = sorted(kvs, command);
  const limit = command.limit ?? 0;
  const more = limit > 0 && kvs.length > limit;
  if (more) kvs = kvs.slice(0, limit);
  if (command.keysOnly === true) kvs = kvs.map((kv) => ({ ...kv, value: '' }));
  return { type: 'range', header: { revision: headerRevision }, kvs, more, count };
}

function passesFilters(kv: KeyValue, command: RangeCommand): boolean {
  const { minModRevision = 0, maxModRevision = 0, minCreateRevision = 0, maxCreateRevision = 0 } = command;
  if (maxModRevision !== 0 && kv.modRevision > maxModRevision) return false;
  if (minModRevision !== 0 && kv.modRevision < minModRevision) return false;
  if (maxCreateRevision !== 0 && kv.createRevision > maxCreateRevision) return false;
  if (minCreateRevision !== 0 && kv.createRevision < minCreateRevision) return false;
  return true;
}

/**
 * Keys come in byte order; etcd sorts only when asked, and sorts ascending
 * when a target other than KEY comes without an order. Go's sort is not
 * stable, so etcd's order among ties is unspecified; here ties keep byte
 * order of their keys, in both directions.
 */
function sorted(kvs: KeyValue[], command: RangeCommand): KeyValue[] {
  const target = command.sortTarget ?? 'KEY';
  let order = command.sortOrder ?? 'NONE';
  if (order === 'NONE' && target !== 'KEY') order = 'ASCEND';
  if (order === 'NONE') return kvs;
  const direction = order === 'ASCEND' ? 1 : -1;
  return kvs
    .map((kv, position) => ({ kv, position }))
    .sort((a, b) => direction * compareBy(target, a.kv, b.kv) || a.position - b.position)
    .map(({ kv }) => kv);
}

function compareBy(target: SortTarget, a: KeyValue, b: KeyValue): number {
  switch (target) {
    case 'KEY':
      return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
    case 'VERSION':
      return a.version - b.version;
    case 'CREATE':
      return a.createRevision - b.createRevision;
    case 'MOD':
      return a.modRevision - b.modRevision;
    case 'VALUE':
      return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
  }
}
