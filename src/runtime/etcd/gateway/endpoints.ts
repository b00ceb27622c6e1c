// The gateway's endpoints, from etcd 3.4's rpc.proto (the google.api.http
// option of each RPC: all POST, body "*"), and the aliases its HTTP mux
// adds: /v3beta/ is rewritten to /v3/ (embed/serve.go, accessController),
// and lease revoke and time-to-live are also served under /v3/kv/lease/.
export type GatewayEndpoint =
  | 'kv.range'
  | 'kv.put'
  | 'kv.deleterange'
  | 'kv.txn'
  | 'kv.compaction'
  | 'lease.grant'
  | 'lease.revoke'
  | 'lease.keepalive'
  | 'lease.timetolive'
  | 'watch';

/** The canonical path of each endpoint. */
export const GATEWAY_PATHS: Readonly<Record<GatewayEndpoint, string>> = Object.freeze({
  'kv.range': '/v3/kv/range',
  'kv.put': '/v3/kv/put',
  'kv.deleterange': '/v3/kv/deleterange',
  'kv.txn': '/v3/kv/txn',
  'kv.compaction': '/v3/kv/compaction',
  'lease.grant': '/v3/lease/grant',
  'lease.revoke': '/v3/lease/revoke',
  'lease.keepalive': '/v3/lease/keepalive',
  'lease.timetolive': '/v3/lease/timetolive',
  watch: '/v3/watch',
});

const ALIASES: Readonly<Record<string, GatewayEndpoint>> = Object.freeze({
  '/v3/kv/lease/revoke': 'lease.revoke',
  '/v3/kv/lease/timetolive': 'lease.timetolive',
});

/**
 * Streaming RPCs: the body holds a run of JSON request messages, and the
 * answer is newline-delimited JSON, one {"result": …} per response.
 */
export function isStreamingEndpoint(endpoint: GatewayEndpoint): endpoint is 'lease.keepalive' | 'watch' {
  return endpoint === 'lease.keepalive' || endpoint === 'watch';
}

/** The endpoint a POST path names, or undefined (etcd: 404 Not Found). */
export function endpointOfPath(path: string): GatewayEndpoint | undefined {
  const canonical = path.startsWith('/v3beta/') ? `/v3/${path.slice('/v3beta/'.length)}` : path;
  for (const [endpoint, endpointPath] of Object.entries(GATEWAY_PATHS)) {
    if (endpointPath === canonical) return endpoint as GatewayEndpoint;
  }
  return ALIASES[canonical];
}
