// etcd 3.4's v3 HTTP/JSON gateway as a pure codec: request bodies into
// state-machine commands and responses into the gateway's JSON (the sim's
// member serves these), and the reverse for a client of a real etcd.
export { GATEWAY_PATHS, endpointOfPath, isStreamingEndpoint, type GatewayEndpoint } from './endpoints.js';
export { STREAM_MESSAGES_MAX, decodeKeepAliveRequests, decodeRequest, decodeUnaryRequest, decodeWatchRequests, type DecodedRequest, type WatchRequest } from './decode-request.js';
export {
  encodeKeyValue,
  encodeResponseBody,
  encodeResponseFields,
  encodeStreamLine,
  encodeWatchLine,
  encodeWatchResponseFields,
} from './encode-response.js';
export { encodeRequest, encodeWatchRequest, type GatewayRequest } from './encode-request.js';
export { decodeKeepAliveResult, decodeResponseBody, decodeStreamLine, decodeWatchResult, type DecodedResponse, type StreamLine } from './decode-response.js';
export {
  ETCD_MEMBER_STATUS,
  GRPC_CODES,
  KV_ERROR_STATUS,
  decodeErrorBody,
  encodeErrorBody,
  encodeOutcome,
  encodeStreamError,
  errorResponseFor,
  httpStatusOfGrpcCode,
  kvErrorOfStatus,
  statusOfKvError,
  type EtcdStatus,
  type GatewayHttpResponse,
} from './status.js';
export { GatewayRequestError, GatewayResponseError } from './errors.js';
export type { GatewayHeader, GatewayHeaderContext } from './header.js';
export { base64FromBytes, bytesFromBase64, isStdBase64 } from './base64.js';
export { JsonNumber, parseJson, parseJsonSequence, type JsonObject, type JsonValue } from './json-text.js';
export { ProtoFields } from './proto-json.js';
export type { Json, JsonFields } from './json-out.js';
