// State-machine responses into the gateway's JSON, as etcd 3.4 serves it:
// protobuf JSON with the .proto field names (grpc-gateway's default JSONPb
// marshaler, OrigName), fields in .proto order, int64 and uint64 as decimal
// strings, bytes as base64, and every field holding its zero (0, false, "",
// empty list, PUT as an event type) left out. Shapes checked field by field
// against etcd 3.4.23's answers: RangeResponse, PutResponse,
// DeleteRangeResponse, TxnResponse/ResponseOp, CompactionResponse,
// LeaseGrantResponse, LeaseRevokeResponse, LeaseKeepAliveResponse,
// LeaseTimeToLiveResponse, WatchResponse, mvccpb.KeyValue and mvccpb.Event.
// Two details found that way: a txn's inner responses carry a header with
// only the revision (a nested txn's is "header":{}), and a watch's
// compaction notice has a header without revision.
import type { KeyValue, KvEvent, KvResponse, TxnOpResponse } from '../api/types.js';
import type { WatchResponse } from '../api/watch-types.js';
import { base64FromBytes } from './base64.js';
import type { GatewayHeaderContext } from './header.js';
import { int64Text, withoutZeros, type JsonFields } from './json-out.js';


/** A unary endpoint's response body. */
export function encodeResponseBody(response: KvResponse, context: GatewayHeaderContext): string {
  return JSON.stringify(encodeResponseFields(response, context));
}

/**
 * One line of a streaming endpoint's answer: {"result": …} and a newline
 * (grpc-gateway's streamChunk; each message on its own line).
 */
export function encodeStreamLine(result: JsonFields): string {
  return `${JSON.stringify({ result })}\n`;
}

export function encodeWatchLine(response: WatchResponse, context: GatewayHeaderContext): string {
  return encodeStreamLine(encodeWatchResponseFields(response, context));
}

export function encodeResponseFields(response: KvResponse, context: GatewayHeaderContext): JsonFields {
  const header = encodeHeader(response.header.revision, context);
  switch (response.type) {
    case 'range':
    case 'put':
    case 'deleteRange':
    case 'txn':
      return encodeOpResponse(response, header);
    case 'compact':
    case 'leaseRevoke':
      return { header };
    case 'leaseGrant':
    case 'leaseKeepAlive':
      return withoutZeros({ header, ID: int64Text(response.id), TTL: int64Text(response.ttlS) });
    case 'leaseTimeToLive':
      return withoutZeros({ header, ID: int64Text(response.id), TTL: int64Text(response.ttlS), grantedTTL: int64Text(response.grantedTtlS), keys: response.keys.map(base64FromBytes) });
  }
}

export function encodeWatchResponseFields(response: WatchResponse, context: GatewayHeaderContext): JsonFields {
  return withoutZeros({
    header: encodeHeader(response.header.revision, context),
    watch_id: int64Text(response.watchId),
    created: response.created,
    canceled: response.canceled,
    compact_revision: int64Text(response.compactRevision),
    cancel_reason: response.cancelReason,
    fragment: response.fragment,
    events: response.events.map(encodeEvent),
  });
}

export function encodeKeyValue(kv: KeyValue): JsonFields {
  return withoutZeros({
    key: base64FromBytes(kv.key),
    create_revision: int64Text(kv.createRevision),
    mod_revision: int64Text(kv.modRevision),
    version: int64Text(kv.version),
    value: base64FromBytes(kv.value),
    lease: int64Text(kv.lease),
  });
}

function encodeEvent(event: KvEvent): JsonFields {
  return withoutZeros({
    type: event.type === 'PUT' ? '' : event.type,
    kv: encodeKeyValue(event.kv),
    prev_kv: event.prevKv === undefined ? '' : encodeKeyValue(event.prevKv),
  });
}

function encodeHeader(revision: number, context: GatewayHeaderContext): JsonFields {
  return withoutZeros({ cluster_id: int64Text(context.clusterId), member_id: int64Text(context.memberId), revision: int64Text(revision), raft_term: int64Text(context.raftTerm) });
}

/** Inside a txn etcd fills only the revision of each response's header. */
function encodeOpResponse(response: TxnOpResponse, header: JsonFields): JsonFields {
  switch (response.type) {
    case 'range':
      return withoutZeros({ header, kvs: response.kvs.map(encodeKeyValue), more: response.more, count: int64Text(response.count) });
    case 'put':
      return withoutZeros({ header, prev_kv: response.prevKv === undefined ? '' : encodeKeyValue(response.prevKv) });
    case 'deleteRange':
      return withoutZeros({ header, deleted: int64Text(response.deleted), prev_kvs: response.prevKvs.map(encodeKeyValue) });
    case 'txn':
      return withoutZeros({
        header,
        succeeded: response.succeeded,
        responses: response.responses.map((inner): JsonFields => {
          const innerFields = encodeOpResponse(inner, withoutZeros({ revision: int64Text(inner.header.revision) }));
          return { [RESPONSE_OP_FIELD[inner.type]]: innerFields };
        }),
      });
  }
}

const RESPONSE_OP_FIELD: Readonly<Record<TxnOpResponse['type'], string>> = Object.freeze({
  range: 'response_range',
  put: 'response_put',
  deleteRange: 'response_delete_range',
  txn: 'response_txn',
});

