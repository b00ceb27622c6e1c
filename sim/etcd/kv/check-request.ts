// etcd's checks on a request before it is proposed, which depend on nothing
// but the request (etcdserver/api/v3rpc/key.go: checkRangeRequest,
// checkPutRequest, checkDeleteRequest, checkTxnRequest, checkIntervals; the
// size check of etcdserver/v3_server.go). A driver runs them before proposing
// so that a bad request never reaches the log; apply runs them again, so the
// state machine never depends on the driver having done so.
import type { KvBytes } from '../../../src/runtime/etcd/api/bytes.js';
import { EtcdKvError } from '../../../src/runtime/etcd/api/errors.js';
import type { KvLimits } from './limits.js';
import { NO_LEASE } from '../../../src/runtime/etcd/api/lease-id.js';
import type { Compare, DeleteRangeCommand, KvCommand, PutCommand, TxnCommand, TxnOp } from '../../../src/runtime/etcd/api/types.js';

export function checkRequest(command: KvCommand, limits: KvLimits): void {
  const bytes = requestBytes(command);
  if (bytes > limits.maxRequestBytes) {
    throw new EtcdKvError('ERR_ETCD_REQUEST_TOO_LARGE', `${bytes} bytes of keys and values, over the ${limits.maxRequestBytes}-byte limit`);
  }
  switch (command.type) {
    case 'range':
    case 'put':
    case 'deleteRange':
      checkOp(command, 'command', limits.maxTxnOps);
      return;
    case 'txn':
      checkTxn(command, 'command', limits.maxTxnOps);
      // After the per-op checks, as etcd does, so that the interval work is bounded by them.
      checkIntervals(command.success, 'command.success');
      checkIntervals(command.failure, 'command.failure');
      return;
    case 'compact':
    case 'leaseGrant':
    case 'leaseRevoke':
    case 'leaseKeepAlive':
    case 'leaseTimeToLive':
      return;
  }
}

/**
 * What etcd measures is the marshalled request, a few bytes per field more;
 * the model counts the bytes that matter: keys, range ends and values.
 */
export function requestBytes(command: KvCommand): number {
  switch (command.type) {
    case 'range':
    case 'deleteRange':
      return command.key.length + (command.rangeEnd?.length ?? 0);
    case 'put':
      return command.key.length + (command.value?.length ?? 0);
    case 'txn':
      return (
        command.compare.reduce((sum, compare) => sum + compareBytes(compare), 0) +
        command.success.reduce((sum, op) => sum + requestBytes(op), 0) +
        command.failure.reduce((sum, op) => sum + requestBytes(op), 0)
      );
    default:
      return 0;
  }
}

function compareBytes(compare: Compare): number {
  return compare.key.length + (compare.rangeEnd?.length ?? 0) + (compare.target === 'VALUE' ? compare.value.length : 0);
}

function emptyKey(field: string): EtcdKvError {
  return new EtcdKvError('ERR_ETCD_EMPTY_KEY', 'key is not provided', { field });
}

function checkOp(op: TxnOp, path: string, maxTxnOps: number): void {
  switch (op.type) {
    case 'range':
    case 'deleteRange':
      if (op.key === '') throw emptyKey(`${path}.key`);
      return;
    case 'put':
      checkPut(op, path);
      return;
    case 'txn':
      checkTxn(op, path, maxTxnOps);
      return;
  }
}

function checkPut(put: PutCommand, path: string): void {
  if (put.key === '') throw emptyKey(`${path}.key`);
  if (put.ignoreValue === true && (put.value ?? '') !== '') {
    throw new EtcdKvError('ERR_ETCD_VALUE_PROVIDED', 'value is provided (with ignoreValue)', { field: `${path}.value` });
  }
  if (put.ignoreLease === true && (put.lease ?? NO_LEASE) !== NO_LEASE) {
    throw new EtcdKvError('ERR_ETCD_LEASE_PROVIDED', 'lease is provided (with ignoreLease)', { field: `${path}.lease` });
  }
}

/** A nested txn gets what its parent's budget leaves: maxTxnOps less the parent's widest list. */
function checkTxn(txn: TxnCommand, path: string, maxTxnOps: number): void {
  const opCount = Math.max(txn.compare.length, txn.success.length, txn.failure.length);
  if (opCount > maxTxnOps) {
    throw new EtcdKvError('ERR_ETCD_TOO_MANY_OPS', `${opCount} operations in one list, over the limit of ${maxTxnOps}`, { field: path });
  }
  txn.compare.forEach((compare, i) => {
    if (compare.key === '') throw emptyKey(`${path}.compare[${i}].key`);
  });
  txn.success.forEach((op, i) => checkOp(op, `${path}.success[${i}]`, maxTxnOps - opCount));
  txn.failure.forEach((op, i) => checkOp(op, `${path}.failure[${i}]`, maxTxnOps - opCount));
}

/**
 * A delete's interval, as etcd's checkIntervals builds it: [key, rangeEnd)
 * compared as plain strings, or the key alone. etcd does not read '\0' as
 * "to the end" here, so [key, '\0') overlaps no key: a txn may delete from a
 * key to the end and put a key in that range. The model allows it too, and
 * records both changes at one revision, as etcd does.
 */
interface DeleteInterval {
  readonly start: KvBytes;
  /** undefined: the point `start` alone. */
  readonly end: KvBytes | undefined;
}

function intersects(dels: readonly DeleteInterval[], key: KvBytes): boolean {
  return dels.some((del) => (del.end === undefined ? key === del.start : del.start <= key && key < del.end));
}

function duplicateKey(path: string): EtcdKvError {
  return new EtcdKvError('ERR_ETCD_DUPLICATE_KEY', 'duplicate key given in txn request: a key is put twice, or put and deleted, on one path', {
    field: path,
  });
}

/**
 * No key may be put twice, nor put and deleted, on any one path through a
 * txn; a nested txn's two branches are exclusive, so the same key may be put
 * in both. Returns this level's puts and deletes for the level above.
 */
function checkIntervals(ops: readonly TxnOp[], path: string): { puts: Set<KvBytes>; dels: DeleteInterval[] } {
  const dels: DeleteInterval[] = ops
    .filter((op): op is DeleteRangeCommand => op.type === 'deleteRange')
    .map((op) => ({ start: op.key, end: op.rangeEnd === undefined || op.rangeEnd === '' ? undefined : op.rangeEnd }));
  const puts = new Set<KvBytes>();
  ops.forEach((op, i) => {
    if (op.type !== 'txn') return;
    const then = checkIntervals(op.success, `${path}[${i}].success`);
    const otherwise = checkIntervals(op.failure, `${path}[${i}].failure`);
    for (const key of then.puts) {
      if (puts.has(key) || intersects(dels, key)) throw duplicateKey(`${path}[${i}]`);
      puts.add(key);
    }
    for (const key of otherwise.puts) {
      if ((puts.has(key) && !then.puts.has(key)) || intersects(dels, key)) throw duplicateKey(`${path}[${i}]`);
      puts.add(key);
    }
    dels.push(...then.dels, ...otherwise.dels);
  });
  ops.forEach((op, i) => {
    if (op.type !== 'put') return;
    if (puts.has(op.key) || intersects(dels, op.key)) throw duplicateKey(`${path}[${i}].key`);
    puts.add(op.key);
  });
  return { puts, dels };
}
