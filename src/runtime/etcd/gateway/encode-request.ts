// Commands into gateway requests: the client's side, for code that talks to
// a real etcd 3.4 (or to the sim's member) over HTTP/JSON. Bodies follow the
// same rules as responses (encode-response.ts): .proto field names, int64 as
// decimal strings, bytes as base64, zero fields left out; except that a
// Compare always names its result and target and always carries its
// operand, even a zero one ("create_revision": "0"), as Go's protobuf JSON
// does for a oneof and as a reader of the body expects.
import type { Compare, KvCommand, TxnOp } from '../api/types.js';
import type { WatchCreateRequest } from '../api/watch-types.js';
import { base64FromBytes } from './base64.js';
import type { WatchRequest } from './decode-request.js';
import { GATEWAY_PATHS, type GatewayEndpoint } from './endpoints.js';
import { int64Text, withoutZeros, type JsonFields } from './json-out.js';

export interface GatewayRequest {
  readonly endpoint: GatewayEndpoint;
  /** The canonical path, e.g. '/v3/kv/range'; always POST. */
  readonly path: string;
  /** application/json */
  readonly body: string;
}

const ENDPOINT_OF: Readonly<Record<KvCommand['type'], GatewayEndpoint>> = Object.freeze({
  range: 'kv.range',
  put: 'kv.put',
  deleteRange: 'kv.deleterange',
  txn: 'kv.txn',
  compact: 'kv.compaction',
  leaseGrant: 'lease.grant',
  leaseRevoke: 'lease.revoke',
  leaseKeepAlive: 'lease.keepalive',
  leaseTimeToLive: 'lease.timetolive',
});

export function encodeRequest(command: KvCommand): GatewayRequest {
  const endpoint = ENDPOINT_OF[command.type];
  return { endpoint, path: GATEWAY_PATHS[endpoint], body: JSON.stringify(encodeCommandFields(command)) };
}

/** One message for a /v3/watch body (a stream: several may follow one another). */
export function encodeWatchRequest(request: WatchRequest): string {
  switch (request.type) {
    case 'create':
      return JSON.stringify({ create_request: encodeWatchCreate(request.create) });
    case 'cancel':
      return JSON.stringify({ cancel_request: withoutZeros({ watch_id: int64Text(request.watchId) }) });
    case 'progress':
      return JSON.stringify({ progress_request: {} });
  }
}

function encodeCommandFields(command: KvCommand): JsonFields {
  switch (command.type) {
    case 'range':
    case 'put':
    case 'deleteRange':
    case 'txn':
      return encodeOp(command);
    case 'compact':
      return withoutZeros({ revision: int64Text(command.revision), physical: command.physical === true });
    case 'leaseGrant':
      return withoutZeros({ TTL: int64Text(command.ttlS), ID: int64Text(command.id ?? '0') });
    case 'leaseRevoke':
    case 'leaseKeepAlive':
      return withoutZeros({ ID: int64Text(command.id) });
    case 'leaseTimeToLive':
      return withoutZeros({ ID: int64Text(command.id), keys: command.keys === true });
  }
}

function encodeOp(op: TxnOp): JsonFields {
  switch (op.type) {
    case 'range':
      return withoutZeros({
        key: base64FromBytes(op.key),
        range_end: base64FromBytes(op.rangeEnd ?? ''),
        limit: int64Text(op.limit ?? 0),
        revision: int64Text(op.revision ?? 0),
        sort_order: op.sortOrder === undefined || op.sortOrder === 'NONE' ? '' : op.sortOrder,
        sort_target: op.sortTarget === undefined || op.sortTarget === 'KEY' ? '' : op.sortTarget,
        serializable: op.serializable === true,
        keys_only: op.keysOnly === true,
        count_only: op.countOnly === true,
        min_mod_revision: int64Text(op.minModRevision ?? 0),
        max_mod_revision: int64Text(op.maxModRevision ?? 0),
        min_create_revision: int64Text(op.minCreateRevision ?? 0),
        max_create_revision: int64Text(op.maxCreateRevision ?? 0),
      });
    case 'put':
      return withoutZeros({
        key: base64FromBytes(op.key),
        value: base64FromBytes(op.value ?? ''),
        lease: int64Text(op.lease ?? '0'),
        prev_kv: op.prevKv === true,
        ignore_value: op.ignoreValue === true,
        ignore_lease: op.ignoreLease === true,
      });
    case 'deleteRange':
      return withoutZeros({ key: base64FromBytes(op.key), range_end: base64FromBytes(op.rangeEnd ?? ''), prev_kv: op.prevKv === true });
    case 'txn':
      return withoutZeros({
        compare: op.compare.map(encodeCompare),
        success: op.success.map(encodeRequestOp),
        failure: op.failure.map(encodeRequestOp),
      });
  }
}

const REQUEST_OP_FIELD: Readonly<Record<TxnOp['type'], string>> = Object.freeze({
  range: 'request_range',
  put: 'request_put',
  deleteRange: 'request_delete_range',
  txn: 'request_txn',
});

function encodeRequestOp(op: TxnOp): JsonFields {
  return { [REQUEST_OP_FIELD[op.type]]: encodeOp(op) };
}

function encodeCompare(compare: Compare): JsonFields {
  const out: JsonFields = { result: compare.result, target: compare.target };
  if (compare.key !== '') out['key'] = base64FromBytes(compare.key);
  switch (compare.target) {
    case 'VERSION':
      out['version'] = String(compare.version);
      break;
    case 'CREATE':
      out['create_revision'] = String(compare.createRevision);
      break;
    case 'MOD':
      out['mod_revision'] = String(compare.modRevision);
      break;
    case 'VALUE':
      out['value'] = base64FromBytes(compare.value);
      break;
    case 'LEASE':
      out['lease'] = compare.lease;
      break;
  }
  if (compare.rangeEnd !== undefined && compare.rangeEnd !== '') out['range_end'] = base64FromBytes(compare.rangeEnd);
  return out;
}

function encodeWatchCreate(create: WatchCreateRequest): JsonFields {
  return withoutZeros({
    key: base64FromBytes(create.key),
    range_end: base64FromBytes(create.rangeEnd ?? ''),
    start_revision: int64Text(create.startRevision ?? 0),
    progress_notify: create.progressNotify === true,
    filters: [...(create.filters ?? [])],
    prev_kv: create.prevKv === true,
    watch_id: int64Text(create.watchId ?? 0),
    fragment: create.fragment === true,
  });
}

