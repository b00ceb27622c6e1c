// Gateway request bodies into state-machine commands: what the sim's etcd
// member does with a POST to /v3/…. Message and field names are those of
// etcd 3.4's etcdserver/etcdserverpb/rpc.proto (RangeRequest, PutRequest,
// DeleteRangeRequest, TxnRequest, Compare, RequestOp, CompactionRequest,
// LeaseGrantRequest, LeaseRevokeRequest, LeaseKeepAliveRequest,
// LeaseTimeToLiveRequest, WatchRequest, WatchCreateRequest,
// WatchCancelRequest). JSON reading rules: proto-json.ts.
//
// A body that is not such a message is a GatewayRequestError naming the
// field. What etcd itself refuses after reading (an empty key, too many txn
// ops) is left to the state machine's checkRequest, so that the answer is
// etcd's own error; except an empty txn op, which only the decoder sees and
// which etcd refuses as "key not found" (v3rpc/key.go, checkRequestOp).
import type { KvBytes } from '../api/bytes.js';
import { EtcdKvError } from '../api/errors.js';
import { NO_LEASE } from '../api/lease-id.js';
import type {
  Compare,
  CompareResult,
  CompareTarget,
  DeleteRangeCommand,
  KvCommand,
  LeaseKeepAliveCommand,
  PutCommand,
  RangeCommand,
  SortOrder,
  SortTarget,
  TxnCommand,
  TxnOp,
} from '../api/types.js';
import type { WatchCreateRequest, WatchFilter } from '../api/watch-types.js';
import { isStreamingEndpoint, type GatewayEndpoint } from './endpoints.js';
import { GatewayRequestError } from './errors.js';
import { parseJson, parseJsonSequence, type JsonValue } from './json-text.js';
import { ProtoFields } from './proto-json.js';

/** One message of a /v3/watch stream (WatchRequest's oneof). */
export type WatchRequest =
  | { readonly type: 'create'; readonly create: WatchCreateRequest }
  | { readonly type: 'cancel'; readonly watchId: number }
  | { readonly type: 'progress' };

/** Messages per streaming request body; more is refused rather than buffered. */
export const STREAM_MESSAGES_MAX = 1_024;
/** Entries of any repeated field; etcd's own txn limit (128) applies after. */
const REPEATED_MAX = 10_000;
/** Txn nesting the decoder follows; etcd's op budget stops well before. */
const TXN_DEPTH_MAX = 130;

const requestError = (field: string, problem: string): Error => new GatewayRequestError(field, problem);

/** A request body decoded for its endpoint: one command, or the messages of a stream. */
export type DecodedRequest =
  | { readonly kind: 'unary'; readonly command: KvCommand }
  | { readonly kind: 'keepalive'; readonly commands: readonly LeaseKeepAliveCommand[] }
  | { readonly kind: 'watch'; readonly requests: readonly WatchRequest[] };

/** Decodes any endpoint's body. Throws GatewayRequestError (unreadable) or EtcdKvError (an empty txn op). */
export function decodeRequest(endpoint: GatewayEndpoint, body: string): DecodedRequest {
  if (endpoint === 'watch') return { kind: 'watch', requests: decodeWatchRequests(body) };
  if (endpoint === 'lease.keepalive') return { kind: 'keepalive', commands: decodeKeepAliveRequests(body) };
  return { kind: 'unary', command: decodeUnaryRequest(endpoint, body) };
}

/** Decodes the body of a unary endpoint (all but lease.keepalive and watch). */
export function decodeUnaryRequest(endpoint: Exclude<GatewayEndpoint, 'lease.keepalive' | 'watch'>, body: string): KvCommand {
  if (isStreamingEndpoint(endpoint)) throw new GatewayRequestError('(body)', `${endpoint} is a streaming endpoint`);
  return decodeMessage(endpoint, messageOf(body));
}

/** Decodes the body of /v3/lease/keepalive: one or more LeaseKeepAliveRequest messages. */
export function decodeKeepAliveRequests(body: string): LeaseKeepAliveCommand[] {
  return parseJsonSequence(body, STREAM_MESSAGES_MAX).map((value) => {
    const fields = ProtoFields.of(value, '', requestError);
    return { type: 'leaseKeepAlive', id: fields.int64Text('ID') };
  });
}

/** Decodes the body of /v3/watch: one or more WatchRequest messages. One with no request set is skipped, as etcd skips it. */
export function decodeWatchRequests(body: string): WatchRequest[] {
  const requests: WatchRequest[] = [];
  for (const value of parseJsonSequence(body, STREAM_MESSAGES_MAX)) {
    const request = decodeWatchRequest(ProtoFields.of(value, '', requestError));
    if (request !== undefined) requests.push(request);
  }
  return requests;
}

function messageOf(body: string): ProtoFields {
  // An empty body is the empty message, as the gateway reads it.
  const value: JsonValue = body.trim() === '' ? null : parseJson(body);
  return ProtoFields.of(value, '', requestError);
}

function decodeMessage(endpoint: GatewayEndpoint, fields: ProtoFields): KvCommand {
  switch (endpoint) {
    case 'kv.range':
      return decodeRange(fields);
    case 'kv.put':
      return decodePut(fields);
    case 'kv.deleterange':
      return decodeDeleteRange(fields);
    case 'kv.txn':
      return decodeTxn(fields, 0);
    case 'kv.compaction':
      return withFlags({ type: 'compact', revision: nonNegative(fields.int64('revision')) }, { physical: fields.bool('physical') });
    case 'lease.grant':
      return withLease({ type: 'leaseGrant', ttlS: fields.int64('TTL') }, 'id', fields.int64Text('ID'));
    case 'lease.revoke':
      return { type: 'leaseRevoke', id: fields.int64Text('ID') };
    case 'lease.timetolive':
      return withFlags({ type: 'leaseTimeToLive', id: fields.int64Text('ID') }, { keys: fields.bool('keys') });
    case 'lease.keepalive':
      return { type: 'leaseKeepAlive', id: fields.int64Text('ID') };
    case 'watch':
      throw new GatewayRequestError('(body)', 'watch is a streaming endpoint');
  }
}

const SORT_ORDERS: readonly SortOrder[] = ['NONE', 'ASCEND', 'DESCEND'];
const SORT_TARGETS: readonly SortTarget[] = ['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE'];

/** etcd reads a limit or revision <= 0 as "none" (etcdserver/apply.go, mvcc rangeKeys). */
function nonNegative(value: number): number {
  return Math.max(0, value);
}

function decodeRange(fields: ProtoFields): RangeCommand {
  const sortOrder = fields.enumOf('sort_order', 'RangeRequest.SortOrder', SORT_ORDERS);
  const sortTarget = fields.enumOf('sort_target', 'RangeRequest.SortTarget', SORT_TARGETS);
  const command: Record<string, unknown> = { type: 'range', key: fields.bytes('key') };
  setIf(command, 'rangeEnd', fields.bytes('range_end'), '');
  setIf(command, 'revision', nonNegative(fields.int64('revision')), 0);
  setIf(command, 'limit', nonNegative(fields.int64('limit')), 0);
  setIf(command, 'sortOrder', sortOrder, 'NONE');
  setIf(command, 'sortTarget', sortTarget, 'KEY');
  setIf(command, 'serializable', fields.bool('serializable'), false);
  setIf(command, 'keysOnly', fields.bool('keys_only'), false);
  setIf(command, 'countOnly', fields.bool('count_only'), false);
  for (const [proto, camel] of [
    ['min_mod_revision', 'minModRevision'],
    ['max_mod_revision', 'maxModRevision'],
    ['min_create_revision', 'minCreateRevision'],
    ['max_create_revision', 'maxCreateRevision'],
  ] as const) {
    const value = fields.int64(proto);
    // etcd compares negative bounds literally (and so filters everything or nothing); no client means that.
    if (value < 0) throw new GatewayRequestError(fields.fieldPath(proto), `must not be negative, got ${value}`);
    setIf(command, camel, value, 0);
  }
  return command as unknown as RangeCommand;
}

function decodePut(fields: ProtoFields): PutCommand {
  const command: Record<string, unknown> = { type: 'put', key: fields.bytes('key') };
  setIf(command, 'value', fields.bytes('value'), '');
  setIf(command, 'lease', fields.int64Text('lease'), NO_LEASE);
  setIf(command, 'prevKv', fields.bool('prev_kv'), false);
  setIf(command, 'ignoreValue', fields.bool('ignore_value'), false);
  setIf(command, 'ignoreLease', fields.bool('ignore_lease'), false);
  return command as unknown as PutCommand;
}

function decodeDeleteRange(fields: ProtoFields): DeleteRangeCommand {
  const command: Record<string, unknown> = { type: 'deleteRange', key: fields.bytes('key') };
  setIf(command, 'rangeEnd', fields.bytes('range_end'), '');
  setIf(command, 'prevKv', fields.bool('prev_kv'), false);
  return command as unknown as DeleteRangeCommand;
}

function decodeTxn(fields: ProtoFields, depth: number): TxnCommand {
  if (depth > TXN_DEPTH_MAX) throw new GatewayRequestError(fields.path, `txns nested deeper than ${TXN_DEPTH_MAX}`);
  return {
    type: 'txn',
    compare: fields.repeated('compare', REPEATED_MAX).map(({ value, path }) => decodeCompare(ProtoFields.of(value, path, requestError))),
    success: fields.repeated('success', REPEATED_MAX).map(({ value, path }) => decodeRequestOp(value, path, depth)),
    failure: fields.repeated('failure', REPEATED_MAX).map(({ value, path }) => decodeRequestOp(value, path, depth)),
  };
}

const REQUEST_OPS = ['request_range', 'request_put', 'request_delete_range', 'request_txn'] as const;

function decodeRequestOp(value: JsonValue, path: string, depth: number): TxnOp {
  const fields = ProtoFields.of(value, path, requestError);
  const present = fields.presentOf(REQUEST_OPS);
  if (present.length === 0) {
    throw new EtcdKvError('ERR_ETCD_KEY_NOT_FOUND', 'an empty op: none of request_range, request_put, request_delete_range, request_txn', { field: path });
  }
  if (present.length > 1) throw new GatewayRequestError(path, `sets ${present.join(' and ')}: a RequestOp holds one request`);
  const which = present[0] as (typeof REQUEST_OPS)[number];
  const op = fields.message(which)!;
  switch (which) {
    case 'request_range':
      return decodeRange(op);
    case 'request_put':
      return decodePut(op);
    case 'request_delete_range':
      return decodeDeleteRange(op);
    case 'request_txn':
      return decodeTxn(op, depth + 1);
  }
}

const COMPARE_RESULTS: readonly CompareResult[] = ['EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL'];
const COMPARE_TARGETS: readonly CompareTarget[] = ['VERSION', 'CREATE', 'MOD', 'VALUE', 'LEASE'];
const OPERAND_OF: Readonly<Record<CompareTarget, string>> = { VERSION: 'version', CREATE: 'create_revision', MOD: 'mod_revision', VALUE: 'value', LEASE: 'lease' };

/**
 * Result and target are enums whose zero (EQUAL, VERSION) protobuf JSON
 * leaves out. The operand is the oneof target_union; when absent, etcd
 * compares against zero (or the empty value). An operand that does not
 * match the target, which etcd would ignore, is refused: it is surely a bug.
 */
function decodeCompare(fields: ProtoFields): Compare {
  const result = fields.enumOf('result', 'Compare.CompareResult', COMPARE_RESULTS);
  const target = fields.enumOf('target', 'Compare.CompareTarget', COMPARE_TARGETS);
  const operands = fields.presentOf(Object.values(OPERAND_OF));
  if (operands.length > 1) throw new GatewayRequestError(fields.path, `sets ${operands.join(' and ')}: a Compare holds one operand`);
  if (operands.length === 1 && operands[0] !== OPERAND_OF[target]) {
    throw new GatewayRequestError(fields.fieldPath(operands[0]!), `does not go with target ${target} (which compares ${OPERAND_OF[target]})`);
  }
  const common: { key: KvBytes; rangeEnd?: KvBytes; result: CompareResult } = { key: fields.bytes('key'), result };
  const rangeEnd = fields.bytes('range_end');
  if (rangeEnd !== '') common.rangeEnd = rangeEnd;
  switch (target) {
    case 'VERSION':
      return { ...common, target, version: fields.int64('version') };
    case 'CREATE':
      return { ...common, target, createRevision: fields.int64('create_revision') };
    case 'MOD':
      return { ...common, target, modRevision: fields.int64('mod_revision') };
    case 'VALUE':
      return { ...common, target, value: fields.bytes('value') };
    case 'LEASE':
      return { ...common, target, lease: fields.int64Text('lease') };
  }
}

const WATCH_REQUESTS = ['create_request', 'cancel_request', 'progress_request'] as const;
const WATCH_FILTERS: readonly WatchFilter[] = ['NOPUT', 'NODELETE'];

function decodeWatchRequest(fields: ProtoFields): WatchRequest | undefined {
  const present = fields.presentOf(WATCH_REQUESTS);
  if (present.length === 0) return undefined;
  if (present.length > 1) throw new GatewayRequestError('(body)', `sets ${present.join(' and ')}: a WatchRequest holds one request`);
  const which = present[0] as (typeof WATCH_REQUESTS)[number];
  const request = fields.message(which)!;
  switch (which) {
    case 'create_request':
      return { type: 'create', create: decodeWatchCreate(request) };
    case 'cancel_request':
      return { type: 'cancel', watchId: watchId(request) };
    case 'progress_request':
      return { type: 'progress' };
  }
}

function decodeWatchCreate(fields: ProtoFields): WatchCreateRequest {
  const create: Record<string, unknown> = { key: fields.bytes('key') };
  setIf(create, 'rangeEnd', fields.bytes('range_end'), '');
  const startRevision = fields.int64('start_revision');
  if (startRevision < 0) throw new GatewayRequestError(fields.fieldPath('start_revision'), `must not be negative, got ${startRevision}`);
  setIf(create, 'startRevision', startRevision, 0);
  setIf(create, 'progressNotify', fields.bool('progress_notify'), false);
  const filters = fields.repeatedEnum('filters', REPEATED_MAX, 'WatchCreateRequest.FilterType', WATCH_FILTERS);
  if (filters.length > 0) create['filters'] = [...new Set(filters)];
  setIf(create, 'prevKv', fields.bool('prev_kv'), false);
  setIf(create, 'watchId', watchId(fields), 0);
  setIf(create, 'fragment', fields.bool('fragment'), false);
  return create as unknown as WatchCreateRequest;
}

function watchId(fields: ProtoFields): number {
  const id = fields.int64('watch_id');
  if (id < 0) throw new GatewayRequestError(fields.fieldPath('watch_id'), `must not be negative, got ${id}`);
  return id;
}

/** Sets a field unless it holds its zero: a decoded command has the same shape as one written by hand. */
function setIf(target: Record<string, unknown>, name: string, value: unknown, zero: unknown): void {
  if (value !== zero) target[name] = value;
}

function withFlags<T extends object>(command: T, flags: Record<string, boolean>): T {
  const out = Object.assign({}, command) as Record<string, unknown>;
  for (const [name, value] of Object.entries(flags)) if (value) out[name] = true;
  return out as T;
}

function withLease<T extends object>(command: T, name: string, id: string): T {
  return (id === NO_LEASE ? command : { ...command, [name]: id }) as T;
}
