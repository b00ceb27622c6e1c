// A small REST backend and its client, for tunnel scenarios: GET and PUT of
// /api/items/<id>, one item map per calling host (named by the x-pf9lab-host
// header), answering JSON. The backend records every request it receives
// with its path, so a scenario can check that only /api/... reached it (SNI
// isolation). `requestLineTap` does the same at the byte level for any HTTP
// backend (the registry), without touching its code.
import type { Platform, StreamSocket } from '../../src/runtime/platform/types.js';
import { httpRequest, serveHttp, type HttpServer, type HttpServerResponse } from '../../src/runtime/net/http1/index.js';
import { tapAcceptedStreams } from './accept-tap.js';
import { failureState } from './http-outcome.js';

export const HOST_HEADER = 'x-pf9lab-host';

export interface BackendRequest {
  method: string;
  path: string;
  /** Virtual wall-clock time. */
  atMs: number;
}

/** What a backend received and what it stores; outlives the process, like a database on disk. */
export class RestEchoState {
  readonly requests: BackendRequest[] = [];
  /** host → id → value. */
  readonly items = new Map<string, Map<string, string>>();
}

/** GET /api/items/<id> → 200 {"id","value"} or 404; PUT /api/items/<id> with {"value"} → 200 {"id","value"}. */
export function serveRestEcho(platform: Platform, port: number, state: RestEchoState): Promise<HttpServer> {
  return serveHttp(platform, { host: '0.0.0.0', port }, async (request): Promise<HttpServerResponse> => {
    state.requests.push({ method: request.method, path: request.path, atMs: platform.clock.now() });
    const match = /^\/api\/items\/([a-z0-9._-]{1,64})$/.exec(request.path);
    if (match === null) return { status: 404, body: 'not found\n' };
    const id = match[1] as string;
    const host = request.headers[HOST_HEADER] ?? '';
    let items = state.items.get(host);
    if (items === undefined) {
      items = new Map();
      state.items.set(host, items);
    }
    if (request.method === 'GET') {
      const value = items.get(id);
      if (value === undefined) return { status: 404, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, error: 'no such item' }) };
      return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, value }) };
    }
    if (request.method === 'PUT') {
      let value: unknown;
      try {
        value = (JSON.parse(request.body.toString('utf8')) as { value?: unknown }).value;
      } catch {
        return { status: 400, body: 'bad JSON\n' };
      }
      if (typeof value !== 'string') return { status: 400, body: 'value must be a string\n' };
      items.set(id, value);
      return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, value }) };
    }
    return { status: 405, body: 'method not allowed\n' };
  });
}

/** 'truncated': the answer ended cleanly before it was complete (see PullState). */
export type RestCallState = 'ok' | 'failed' | 'truncated' | 'wrong';

export interface RestCallRecord {
  client: string;
  method: 'GET' | 'PUT';
  id: string;
  startedAtMs: number;
  endedAtMs: number;
  state: RestCallState;
  /** PUT: the value sent. GET: the value returned (undefined: 404 or failure). */
  value: string | undefined;
  detail: string;
}

/**
 * One call. A PUT is ok when answered 200 with the value it sent; a GET is ok
 * on 200 with a value, or 404 (judging the value is the caller's business).
 * A transport error or a timeout is a failure; a well-framed answer that says
 * something else is `wrong`.
 */
export async function restCall(
  platform: Platform,
  options: { client: string; method: 'GET' | 'PUT'; id: string; value?: string; host: string; port: number; timeoutMs: number; runStartMs: number },
): Promise<RestCallRecord> {
  const startedAtMs = platform.clock.now() - options.runStartMs;
  const record = (state: RestCallState, value: string | undefined, detail: string): RestCallRecord => ({
    client: options.client,
    method: options.method,
    id: options.id,
    startedAtMs,
    endedAtMs: platform.clock.now() - options.runStartMs,
    state,
    value,
    detail,
  });
  let response;
  try {
    response = await httpRequest(platform, {
      host: options.host,
      port: options.port,
      method: options.method,
      path: `/api/items/${options.id}`,
      headers: { [HOST_HEADER]: options.client, 'content-type': 'application/json' },
      ...(options.method === 'PUT' ? { body: JSON.stringify({ value: options.value }) } : {}),
      timeoutMs: options.timeoutMs,
    });
  } catch (error) {
    return record(failureState(error), options.value, (error as Error).message);
  }
  const text = response.body.toString('utf8');
  if (options.method === 'GET' && response.status === 404) return record('ok', undefined, 'no such item');
  if (response.status !== 200) return record('wrong', undefined, `HTTP ${response.status}: ${text.slice(0, 80)}`);
  let body: { id?: unknown; value?: unknown };
  try {
    body = JSON.parse(text) as { id?: unknown; value?: unknown };
  } catch {
    return record('wrong', undefined, `not JSON: ${text.slice(0, 80)}`);
  }
  if (body.id !== options.id || typeof body.value !== 'string') return record('wrong', undefined, `unexpected answer ${text.slice(0, 80)}`);
  if (options.method === 'PUT' && body.value !== options.value) return record('wrong', body.value, `PUT answered ${JSON.stringify(body.value)}`);
  return record('ok', body.value, 'ok');
}

/**
 * A platform whose stream listeners note the first line of every accepted
 * connection (the request line: one request per connection in http1) into
 * `requests` before the server sees it: a backend's request log kept from
 * outside its code.
 */
export function requestLineTap(platform: Platform, requests: BackendRequest[]): Platform {
  const tap = (socket: StreamSocket): void => {
    let head = Buffer.alloc(0);
    let done = false;
    const onData = (chunk: Buffer): void => {
      if (done) return;
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n');
      if (end < 0 && head.length < 8192) return;
      done = true;
      socket.off('data', onData);
      const line = head.subarray(0, end < 0 ? head.length : end).toString('latin1');
      const [method = '', path = ''] = line.split(' ');
      requests.push({ method, path, atMs: platform.clock.now() });
    };
    socket.on('data', onData);
  };
  return tapAcceptedStreams(platform, tap);
}
