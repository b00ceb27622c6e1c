// etcd's errors as the gateway serves them. The body is grpc-gateway's
// errorBody: {"error": msg, "message": msg, "code": grpcCode}, in that order
// (grpc-gateway v1.6.4 runtime/errors.go, the version Debian builds etcd
// 3.4.23 with; checked against that server). The HTTP status comes from the
// gRPC code by that version's HTTPStatusFromCode, where FailedPrecondition is
// 412 (later versions say 400; the real server answered 412 to "lease
// already exists"). Messages are etcd's, word for word (etcdserver/api/
// v3rpc/rpctypes/error.go), because clients match on them.
import { EtcdKvError, type EtcdKvErrorCode } from '../api/errors.js';
import type { KvOutcome } from '../api/outcome.js';
import { encodeResponseBody } from './encode-response.js';
import type { GatewayHeaderContext } from './header.js';
import { isStreamingEndpoint, type GatewayEndpoint } from './endpoints.js';
import { GatewayResponseError, type GatewayRequestError } from './errors.js';
import { parseJson } from './json-text.js';
import { ProtoFields } from './proto-json.js';

/** gRPC status codes (google.golang.org/grpc/codes). */
export const GRPC_CODES = Object.freeze({
  OK: 0,
  CANCELED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
});

export interface EtcdStatus {
  readonly grpcCode: number;
  readonly message: string;
}

/** The state machine's refusals as etcd reports them. */
export const KV_ERROR_STATUS: Readonly<Record<EtcdKvErrorCode, EtcdStatus | undefined>> = Object.freeze({
  ERR_ETCD_EMPTY_KEY: { grpcCode: GRPC_CODES.INVALID_ARGUMENT, message: 'etcdserver: key is not provided' },
  ERR_ETCD_KEY_NOT_FOUND: { grpcCode: GRPC_CODES.INVALID_ARGUMENT, message: 'etcdserver: key not found' },
  ERR_ETCD_VALUE_PROVIDED: { grpcCode: GRPC_CODES.INVALID_ARGUMENT, message: 'etcdserver: value is provided' },
  ERR_ETCD_LEASE_PROVIDED: { grpcCode: GRPC_CODES.INVALID_ARGUMENT, message: 'etcdserver: lease is provided' },
  ERR_ETCD_TOO_MANY_OPS: { grpcCode: GRPC_CODES.INVALID_ARGUMENT, message: 'etcdserver: too many operations in txn request' },
  ERR_ETCD_DUPLICATE_KEY: { grpcCode: GRPC_CODES.INVALID_ARGUMENT, message: 'etcdserver: duplicate key given in txn request' },
  ERR_ETCD_REQUEST_TOO_LARGE: { grpcCode: GRPC_CODES.INVALID_ARGUMENT, message: 'etcdserver: request is too large' },
  ERR_ETCD_COMPACTED: { grpcCode: GRPC_CODES.OUT_OF_RANGE, message: 'etcdserver: mvcc: required revision has been compacted' },
  ERR_ETCD_FUTURE_REV: { grpcCode: GRPC_CODES.OUT_OF_RANGE, message: 'etcdserver: mvcc: required revision is a future revision' },
  ERR_ETCD_NO_SPACE: { grpcCode: GRPC_CODES.RESOURCE_EXHAUSTED, message: 'etcdserver: mvcc: database space exceeded' },
  ERR_ETCD_LEASE_NOT_FOUND: { grpcCode: GRPC_CODES.NOT_FOUND, message: 'etcdserver: requested lease not found' },
  ERR_ETCD_LEASE_EXISTS: { grpcCode: GRPC_CODES.FAILED_PRECONDITION, message: 'etcdserver: lease already exists' },
  ERR_ETCD_LEASE_TTL_TOO_LARGE: { grpcCode: GRPC_CODES.OUT_OF_RANGE, message: 'etcdserver: too large lease TTL' },
  // Not etcd's: the model's own message says which field.
  ERR_ETCD_BAD_COMMAND: undefined,
});

/**
 * Errors of the member rather than the state machine, which the sim's etcd
 * member and a client of a real one both need (same source file).
 */
export const ETCD_MEMBER_STATUS = Object.freeze({
  noLeader: { grpcCode: GRPC_CODES.UNAVAILABLE, message: 'etcdserver: no leader' },
  notLeader: { grpcCode: GRPC_CODES.FAILED_PRECONDITION, message: 'etcdserver: not leader' },
  leaderChanged: { grpcCode: GRPC_CODES.UNAVAILABLE, message: 'etcdserver: leader changed' },
  stopped: { grpcCode: GRPC_CODES.UNAVAILABLE, message: 'etcdserver: server stopped' },
  timeout: { grpcCode: GRPC_CODES.UNAVAILABLE, message: 'etcdserver: request timed out' },
  timeoutDueToLeaderFail: { grpcCode: GRPC_CODES.UNAVAILABLE, message: 'etcdserver: request timed out, possibly due to previous leader failure' },
  timeoutDueToConnectionLost: { grpcCode: GRPC_CODES.UNAVAILABLE, message: 'etcdserver: request timed out, possibly due to connection lost' },
  unhealthy: { grpcCode: GRPC_CODES.UNAVAILABLE, message: 'etcdserver: unhealthy cluster' },
  tooManyRequests: { grpcCode: GRPC_CODES.RESOURCE_EXHAUSTED, message: 'etcdserver: too many requests' },
} satisfies Record<string, EtcdStatus>);

/** grpc-gateway v1.6.4's HTTPStatusFromCode. */
export function httpStatusOfGrpcCode(grpcCode: number): number {
  const table: Record<number, number> = {
    0: 200, 1: 408, 2: 500, 3: 400, 4: 504, 5: 404, 6: 409, 7: 403, 8: 429, 9: 412, 10: 409, 11: 400, 12: 501, 13: 500, 14: 503, 15: 500, 16: 401,
  };
  return table[grpcCode] ?? 500;
}

/** etcd's status for a state-machine refusal. */
export function statusOfKvError(error: EtcdKvError): EtcdStatus {
  return KV_ERROR_STATUS[error.code] ?? { grpcCode: GRPC_CODES.INVALID_ARGUMENT, message: error.message };
}

/** An HTTP status and its application/json body. */
export interface GatewayHttpResponse {
  readonly httpStatus: number;
  /** application/json */
  readonly body: string;
}

export function encodeErrorBody(status: EtcdStatus): GatewayHttpResponse {
  return {
    httpStatus: httpStatusOfGrpcCode(status.grpcCode),
    body: JSON.stringify({ error: status.message, message: status.message, code: status.grpcCode }),
  };
}

/**
 * The HTTP answer to a request that failed: a refusal of the state machine,
 * or a body the decoder could not read. The gateway answers the latter with
 * InvalidArgument (400) on unary endpoints, and with Unknown (500) on the
 * streaming ones (/v3/watch, /v3/lease/keepalive), as the real server does.
 */
export function errorResponseFor(error: EtcdKvError | GatewayRequestError, endpoint: GatewayEndpoint): GatewayHttpResponse {
  if (error instanceof EtcdKvError) return encodeErrorBody(statusOfKvError(error));
  const grpcCode = isStreamingEndpoint(endpoint) ? GRPC_CODES.UNKNOWN : GRPC_CODES.INVALID_ARGUMENT;
  return encodeErrorBody({ grpcCode, message: error.message });
}

/**
 * The HTTP answer to an applied command: 200 and the response's JSON, or
 * etcd's error. Keepalive responses go out as stream lines instead
 * (encodeStreamLine).
 */
export function encodeOutcome(outcome: KvOutcome, endpoint: GatewayEndpoint, context: GatewayHeaderContext): GatewayHttpResponse {
  if (!outcome.ok) return errorResponseFor(outcome.error, endpoint);
  return { httpStatus: 200, body: encodeResponseBody(outcome.response, context) };
}

/** Reads an error body (a client's side); GatewayResponseError when it is not one. */
export function decodeErrorBody(body: string): EtcdStatus {
  const fail = (field: string, problem: string): Error => new GatewayResponseError(field, problem);
  const fields = ProtoFields.of(parseJson(body, fail), '', fail);
  const message = fields.string('message') || fields.string('error');
  return { grpcCode: fields.int64('code'), message };
}

/**
 * The state-machine error a client should raise for an etcd status, matched
 * on etcd's message (as clientv3 does); undefined for other errors.
 */
export function kvErrorOfStatus(status: EtcdStatus): EtcdKvError | undefined {
  for (const [code, known] of Object.entries(KV_ERROR_STATUS)) {
    if (known !== undefined && known.message === status.message) return new EtcdKvError(code as EtcdKvErrorCode, status.message);
  }
  return undefined;
}

/**
 * A stream that fails after its first response ends with one line
 * {"error": {"grpc_code", "http_code", "message", "http_status"}} (grpc-gateway
 * v1.6.4 runtime/handler.go, streamChunk; fields of its internal.StreamError).
 */
export function encodeStreamError(status: EtcdStatus): string {
  const httpCode = httpStatusOfGrpcCode(status.grpcCode);
  return `${JSON.stringify({ error: { grpc_code: status.grpcCode, http_code: httpCode, message: status.message, http_status: HTTP_STATUS_TEXT[httpCode] ?? '' } })}\n`;
}

const HTTP_STATUS_TEXT: Readonly<Record<number, string>> = Object.freeze({
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  408: 'Request Timeout',
  409: 'Conflict',
  412: 'Precondition Failed',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
});
