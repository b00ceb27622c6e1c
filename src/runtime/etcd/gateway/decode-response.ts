// Gateway responses back into state-machine responses: the client's side,
// for code that talks to a real etcd 3.4 over HTTP/JSON. Reading rules are
// the request decoder's (proto-json.ts); a body that does not fit is a
// GatewayResponseError naming the field. Whether a body is an error at all
// is the HTTP status's to say: decodeErrorBody (status.ts) reads those.
import type { KeyValue, KvEvent, KvResponse, TxnOpResponse } from '../api/types.js';
import type { WatchResponse } from '../api/watch-types.js';
import type { GatewayEndpoint } from './endpoints.js';
import { GatewayResponseError } from './errors.js';
import type { GatewayHeader } from './header.js';
import { parseJson } from './json-text.js';
import { ProtoFields } from './proto-json.js';
import type { EtcdStatus } from './status.js';

export interface DecodedResponse<R> {
  readonly header: GatewayHeader;
  readonly response: R;
}

const fail = (field: string, problem: string): Error => new GatewayResponseError(field, problem);
const RESPONSE_LIST_MAX = 1_000_000;

/** A unary endpoint's 200 body. */
export function decodeResponseBody(endpoint: Exclude<GatewayEndpoint, 'watch'>, body: string): DecodedResponse<KvResponse> {
  return decodeResponseFields(endpoint, ProtoFields.of(parseJson(body, fail), '', fail));
}

/** One line of a streaming answer: its result, or the error that ended the stream. */
export type StreamLine = { readonly result: ProtoFields } | { readonly error: EtcdStatus & { readonly httpCode: number } };

export function decodeStreamLine(line: string): StreamLine {
  const fields = ProtoFields.of(parseJson(line, fail), '', fail);
  const error = fields.message('error');
  if (error !== undefined) {
    return { error: { grpcCode: error.int64('grpc_code'), httpCode: error.int64('http_code'), message: error.string('message') } };
  }
  const result = fields.message('result');
  if (result === undefined) throw new GatewayResponseError('(body)', 'a stream line holds neither "result" nor "error"');
  return { result };
}

/** A /v3/lease/keepalive result. */
export function decodeKeepAliveResult(result: ProtoFields): DecodedResponse<KvResponse & { type: 'leaseKeepAlive' }> {
  return {
    header: decodeHeader(result),
    response: { type: 'leaseKeepAlive', header: { revision: decodeHeader(result).revision }, id: result.int64Text('ID'), ttlS: result.int64('TTL') },
  };
}

/** A /v3/watch result. */
export function decodeWatchResult(result: ProtoFields): DecodedResponse<WatchResponse> {
  const header = decodeHeader(result);
  return {
    header,
    response: {
      header: { revision: header.revision },
      watchId: result.int64('watch_id'),
      created: result.bool('created'),
      canceled: result.bool('canceled'),
      compactRevision: result.int64('compact_revision'),
      cancelReason: result.string('cancel_reason'),
      fragment: result.bool('fragment'),
      events: result.repeated('events', RESPONSE_LIST_MAX).map(({ value, path }) => decodeEvent(ProtoFields.of(value, path, fail))),
    },
  };
}

function decodeResponseFields(endpoint: Exclude<GatewayEndpoint, 'watch'>, fields: ProtoFields): DecodedResponse<KvResponse> {
  const header = decodeHeader(fields);
  const revision = { revision: header.revision };
  switch (endpoint) {
    case 'kv.range':
      return { header, response: decodeRange(fields, revision) };
    case 'kv.put':
      return { header, response: decodePut(fields, revision) };
    case 'kv.deleterange':
      return { header, response: decodeDeleteRange(fields, revision) };
    case 'kv.txn':
      return { header, response: decodeTxn(fields, revision) };
    case 'kv.compaction':
      return { header, response: { type: 'compact', header: revision } };
    case 'lease.grant': {
      // LeaseGrantResponse.error is in the .proto but etcd 3.4 reports failures as errors instead.
      const problem = fields.string('error');
      if (problem !== '') throw new GatewayResponseError('error', `lease grant answered with error "${problem}"`);
      return { header, response: { type: 'leaseGrant', header: revision, id: fields.int64Text('ID'), ttlS: fields.int64('TTL') } };
    }
    case 'lease.revoke':
      return { header, response: { type: 'leaseRevoke', header: revision } };
    case 'lease.keepalive':
      return decodeKeepAliveResult(fields);
    case 'lease.timetolive':
      return {
        header,
        response: {
          type: 'leaseTimeToLive',
          header: revision,
          id: fields.int64Text('ID'),
          ttlS: fields.int64('TTL'),
          grantedTtlS: fields.int64('grantedTTL'),
          keys: fields.repeatedBytes('keys', RESPONSE_LIST_MAX),
        },
      };
  }
}

function decodeHeader(fields: ProtoFields): GatewayHeader {
  const header = fields.message('header');
  if (header === undefined) throw new GatewayResponseError(fields.fieldPath('header'), 'missing');
  return { clusterId: header.uint64Text('cluster_id'), memberId: header.uint64Text('member_id'), revision: header.int64('revision'), raftTerm: header.uint64('raft_term') };
}

/** A txn's inner responses have a header with only a revision (or none, in a nested txn's). */
function innerRevision(fields: ProtoFields): { revision: number } {
  return { revision: fields.message('header')?.int64('revision') ?? 0 };
}

function decodeRange(fields: ProtoFields, header: { revision: number }): TxnOpResponse {
  return {
    type: 'range',
    header,
    kvs: fields.repeated('kvs', RESPONSE_LIST_MAX).map(({ value, path }) => decodeKeyValue(ProtoFields.of(value, path, fail))),
    more: fields.bool('more'),
    count: fields.int64('count'),
  };
}

function decodePut(fields: ProtoFields, header: { revision: number }): TxnOpResponse {
  const prev = fields.message('prev_kv');
  return prev === undefined ? { type: 'put', header } : { type: 'put', header, prevKv: decodeKeyValue(prev) };
}

function decodeDeleteRange(fields: ProtoFields, header: { revision: number }): TxnOpResponse {
  return {
    type: 'deleteRange',
    header,
    deleted: fields.int64('deleted'),
    prevKvs: fields.repeated('prev_kvs', RESPONSE_LIST_MAX).map(({ value, path }) => decodeKeyValue(ProtoFields.of(value, path, fail))),
  };
}

const RESPONSE_OPS = ['response_range', 'response_put', 'response_delete_range', 'response_txn'] as const;

function decodeTxn(fields: ProtoFields, header: { revision: number }): TxnOpResponse & { type: 'txn' } {
  return {
    type: 'txn',
    header,
    succeeded: fields.bool('succeeded'),
    responses: fields.repeated('responses', RESPONSE_LIST_MAX).map(({ value, path }) => {
      const op = ProtoFields.of(value, path, fail);
      const present = op.presentOf(RESPONSE_OPS);
      if (present.length !== 1) throw new GatewayResponseError(path, `must hold exactly one of ${RESPONSE_OPS.join(', ')}`);
      const which = present[0] as (typeof RESPONSE_OPS)[number];
      const inner = op.message(which)!;
      switch (which) {
        case 'response_range':
          return decodeRange(inner, innerRevision(inner));
        case 'response_put':
          return decodePut(inner, innerRevision(inner));
        case 'response_delete_range':
          return decodeDeleteRange(inner, innerRevision(inner));
        case 'response_txn':
          return decodeTxn(inner, innerRevision(inner));
      }
    }),
  };
}

function decodeKeyValue(fields: ProtoFields): KeyValue {
  return {
    key: fields.bytes('key'),
    createRevision: fields.int64('create_revision'),
    modRevision: fields.int64('mod_revision'),
    version: fields.int64('version'),
    value: fields.bytes('value'),
    lease: fields.int64Text('lease'),
  };
}

function decodeEvent(fields: ProtoFields): KvEvent {
  const type = fields.enumOf('type', 'mvccpb.Event.EventType', ['PUT', 'DELETE'] as const);
  const kv = decodeKeyValue(fields.message('kv') ?? ProtoFields.of(null, fields.fieldPath('kv'), fail));
  const prev = fields.message('prev_kv');
  return prev === undefined ? { type, kv } : { type, kv, prevKv: decodeKeyValue(prev) };
}
