// Commands arrive as Raft entry data: JSON parsed by the driver, so anything.
// parseKvCommand checks the shape of one, field by field, and returns a clean
// copy; a wrong shape is ERR_ETCD_BAD_COMMAND naming the field. Unknown fields
// are refused too: in a command they can only be a typo ('prev_kv' for
// 'prevKv') that would otherwise be silently ignored. etcd's own request rules
// (empty key, txn limits) are check-request.ts's.
import { isKvBytes, type KvBytes } from '../../../src/runtime/etcd/api/bytes.js';
import { EtcdKvError } from '../../../src/runtime/etcd/api/errors.js';
import { isLeaseId, type LeaseId } from '../../../src/runtime/etcd/api/lease-id.js';
import type {
  Compare,
  CompareResult,
  CompareTarget,
  DeleteRangeCommand,
  KvCommand,
  PutCommand,
  RangeCommand,
  SortOrder,
  SortTarget,
  TxnCommand,
  TxnOp,
} from '../../../src/runtime/etcd/api/types.js';

/** Deeper nesting than etcd's op budget could ever allow (each level spends at least one of --max-txn-ops). */
export const TXN_DEPTH_MAX = 129;
/** Compares and ops per list, before etcd's own (lower) limit applies: keeps a garbage entry from costing much. */
const LIST_LENGTH_MAX = 10_000;

type Fields = Record<string, unknown>;

export function parseKvCommand(value: unknown): KvCommand {
  const fields = object(value, 'command');
  switch (fields['type']) {
    case 'range':
    case 'put':
    case 'deleteRange':
    case 'txn':
      return parseOp(fields, 'command', 0);
    case 'compact':
      only(fields, 'command', ['type', 'revision', 'physical']);
      return withoutUndefined({ type: 'compact', revision: revision(fields, 'revision', 'command', true), physical: flag(fields, 'physical', 'command') });
    case 'leaseGrant':
      only(fields, 'command', ['type', 'ttlS', 'id']);
      return withoutUndefined({ type: 'leaseGrant', ttlS: integer(fields, 'ttlS', 'command', true), id: leaseId(fields, 'id', 'command') });
    case 'leaseRevoke':
      only(fields, 'command', ['type', 'id']);
      return { type: 'leaseRevoke', id: requiredLeaseId(fields, 'id', 'command') };
    case 'leaseKeepAlive':
      only(fields, 'command', ['type', 'id']);
      return { type: 'leaseKeepAlive', id: requiredLeaseId(fields, 'id', 'command') };
    case 'leaseTimeToLive':
      only(fields, 'command', ['type', 'id', 'keys']);
      return withoutUndefined({ type: 'leaseTimeToLive', id: requiredLeaseId(fields, 'id', 'command'), keys: flag(fields, 'keys', 'command') });
    default:
      throw bad('command.type', `unknown command type ${JSON.stringify(fields['type'])}`);
  }
}

function parseOp(fields: Fields, path: string, depth: number): TxnOp {
  switch (fields['type']) {
    case 'range':
      return parseRange(fields, path);
    case 'put':
      return parsePut(fields, path);
    case 'deleteRange':
      return parseDeleteRange(fields, path);
    case 'txn':
      return parseTxn(fields, path, depth);
    default:
      throw bad(`${path}.type`, `not a txn op: ${JSON.stringify(fields['type'])} (range, put, deleteRange or txn)`);
  }
}

const SORT_ORDERS: readonly SortOrder[] = ['NONE', 'ASCEND', 'DESCEND'];
const SORT_TARGETS: readonly SortTarget[] = ['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE'];

function parseRange(fields: Fields, path: string): RangeCommand {
  only(fields, path, [
    'type', 'key', 'rangeEnd', 'revision', 'limit', 'sortOrder', 'sortTarget', 'serializable', 'keysOnly', 'countOnly',
    'minModRevision', 'maxModRevision', 'minCreateRevision', 'maxCreateRevision',
  ]);
  return withoutUndefined({
    type: 'range',
    key: bytes(fields, 'key', path, true),
    rangeEnd: bytes(fields, 'rangeEnd', path),
    revision: revision(fields, 'revision', path),
    limit: revision(fields, 'limit', path),
    sortOrder: oneOf(fields, 'sortOrder', path, SORT_ORDERS),
    sortTarget: oneOf(fields, 'sortTarget', path, SORT_TARGETS),
    serializable: flag(fields, 'serializable', path),
    keysOnly: flag(fields, 'keysOnly', path),
    countOnly: flag(fields, 'countOnly', path),
    minModRevision: revision(fields, 'minModRevision', path),
    maxModRevision: revision(fields, 'maxModRevision', path),
    minCreateRevision: revision(fields, 'minCreateRevision', path),
    maxCreateRevision: revision(fields, 'maxCreateRevision', path),
  }) as RangeCommand;
}

function parsePut(fields: Fields, path: string): PutCommand {
  only(fields, path, ['type', 'key', 'value', 'lease', 'prevKv', 'ignoreValue', 'ignoreLease']);
  return withoutUndefined({
    type: 'put',
    key: bytes(fields, 'key', path, true),
    value: bytes(fields, 'value', path),
    lease: leaseId(fields, 'lease', path),
    prevKv: flag(fields, 'prevKv', path),
    ignoreValue: flag(fields, 'ignoreValue', path),
    ignoreLease: flag(fields, 'ignoreLease', path),
  }) as PutCommand;
}

function parseDeleteRange(fields: Fields, path: string): DeleteRangeCommand {
  only(fields, path, ['type', 'key', 'rangeEnd', 'prevKv']);
  return withoutUndefined({
    type: 'deleteRange',
    key: bytes(fields, 'key', path, true),
    rangeEnd: bytes(fields, 'rangeEnd', path),
    prevKv: flag(fields, 'prevKv', path),
  }) as DeleteRangeCommand;
}

function parseTxn(fields: Fields, path: string, depth: number): TxnCommand {
  if (depth >= TXN_DEPTH_MAX) throw bad(path, `txns nested deeper than ${TXN_DEPTH_MAX}`);
  only(fields, path, ['type', 'compare', 'success', 'failure']);
  return {
    type: 'txn',
    compare: list(fields, 'compare', path).map((item, i) => parseCompare(item, `${path}.compare[${i}]`)),
    success: list(fields, 'success', path).map((item, i) => parseOp(object(item, `${path}.success[${i}]`), `${path}.success[${i}]`, depth + 1)),
    failure: list(fields, 'failure', path).map((item, i) => parseOp(object(item, `${path}.failure[${i}]`), `${path}.failure[${i}]`, depth + 1)),
  };
}

const COMPARE_RESULTS: readonly CompareResult[] = ['EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL'];
const COMPARE_TARGETS: readonly CompareTarget[] = ['VERSION', 'CREATE', 'MOD', 'VALUE', 'LEASE'];

function parseCompare(value: unknown, path: string): Compare {
  const fields = object(value, path);
  const target = oneOf(fields, 'target', path, COMPARE_TARGETS, true);
  const operand = { VERSION: 'version', CREATE: 'createRevision', MOD: 'modRevision', VALUE: 'value', LEASE: 'lease' }[target];
  only(fields, path, ['key', 'rangeEnd', 'result', 'target', operand]);
  const common = withoutUndefined({
    key: bytes(fields, 'key', path, true),
    rangeEnd: bytes(fields, 'rangeEnd', path),
    result: oneOf(fields, 'result', path, COMPARE_RESULTS, true),
  }) as { key: KvBytes; rangeEnd?: KvBytes; result: CompareResult };
  switch (target) {
    case 'VERSION':
      return { ...common, target, version: integer(fields, 'version', path, true) };
    case 'CREATE':
      return { ...common, target, createRevision: integer(fields, 'createRevision', path, true) };
    case 'MOD':
      return { ...common, target, modRevision: integer(fields, 'modRevision', path, true) };
    case 'VALUE':
      return { ...common, target, value: bytes(fields, 'value', path, true) };
    case 'LEASE':
      return { ...common, target, lease: requiredLeaseId(fields, 'lease', path) };
  }
}

function bad(field: string, problem: string): EtcdKvError {
  return new EtcdKvError('ERR_ETCD_BAD_COMMAND', problem, { field });
}

function object(value: unknown, path: string): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad(path, 'must be an object');
  return value as Fields;
}

function only(fields: Fields, path: string, allowed: readonly string[]): void {
  for (const name of Object.keys(fields)) {
    if (!allowed.includes(name)) throw bad(`${path}.${name}`, `unknown field (allowed: ${allowed.join(', ')})`);
  }
}

function list(fields: Fields, name: string, path: string): unknown[] {
  const value = fields[name];
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw bad(`${path}.${name}`, 'must be an array');
  if (value.length > LIST_LENGTH_MAX) throw bad(`${path}.${name}`, `more than ${LIST_LENGTH_MAX} entries`);
  return value;
}

function bytes(fields: Fields, name: string, path: string, required: true): KvBytes;
function bytes(fields: Fields, name: string, path: string, required?: false): KvBytes | undefined;
function bytes(fields: Fields, name: string, path: string, required = false): KvBytes | undefined {
  const value = fields[name];
  if (value === undefined && !required) return undefined;
  if (!isKvBytes(value)) throw bad(`${path}.${name}`, 'must be a byte string (a string of code units 0-255)');
  return value;
}

function flag(fields: Fields, name: string, path: string): true | undefined {
  const value = fields[name];
  if (value === undefined || value === false) return undefined;
  if (value !== true) throw bad(`${path}.${name}`, 'must be a boolean');
  return true;
}

/** A revision, limit or filter: an integer >= 0 (0 means "none"), exact in a JS number. */
function revision(fields: Fields, name: string, path: string, required: true): number;
function revision(fields: Fields, name: string, path: string): number | undefined;
function revision(fields: Fields, name: string, path: string, required = false): number | undefined {
  const value = fields[name];
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw bad(`${path}.${name}`, 'must be an integer >= 0');
  return value;
}

function integer(fields: Fields, name: string, path: string, required: true): number {
  const value = fields[name];
  if (value === undefined && required) throw bad(`${path}.${name}`, 'is required');
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw bad(`${path}.${name}`, 'must be a safe integer');
  return value;
}

function leaseId(fields: Fields, name: string, path: string): LeaseId | undefined {
  const value = fields[name];
  if (value === undefined) return undefined;
  if (!isLeaseId(value)) throw bad(`${path}.${name}`, 'must be a lease ID: an int64 as a canonical decimal string');
  return value;
}

function requiredLeaseId(fields: Fields, name: string, path: string): LeaseId {
  const value = leaseId(fields, name, path);
  if (value === undefined) throw bad(`${path}.${name}`, 'is required');
  return value;
}

function oneOf<T extends string>(fields: Fields, name: string, path: string, allowed: readonly T[], required: true): T;
function oneOf<T extends string>(fields: Fields, name: string, path: string, allowed: readonly T[]): T | undefined;
function oneOf<T extends string>(fields: Fields, name: string, path: string, allowed: readonly T[], required = false): T | undefined {
  const value = fields[name];
  if (value === undefined && !required) return undefined;
  if (!allowed.includes(value as T)) throw bad(`${path}.${name}`, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  return value as T;
}

/** Leaves out fields that are undefined (flags that are false come out as undefined): one shape per command. */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
