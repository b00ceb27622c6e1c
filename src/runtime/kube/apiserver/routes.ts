// Request line → what is asked. Pure: every refusal is an ApiError, so a
// malformed path or query is a 4xx and never reaches etcd.
import { nameProblem } from './names.js';
import { RESOURCES, type ResourceKind } from './resources.js';
import { ApiError } from './status.js';

export type Route =
  | { readonly kind: 'healthz' }
  | { readonly kind: 'version' }
  | { readonly kind: 'list'; readonly resource: ResourceKind }
  | { readonly kind: 'watch'; readonly resource: ResourceKind; readonly resourceVersion: number | undefined; readonly durationMs: number }
  | { readonly kind: 'create'; readonly resource: ResourceKind }
  | { readonly kind: 'get' | 'update' | 'delete'; readonly resource: ResourceKind; readonly name: string };

/** A watch ends after this long unless the client asks for less (the real apiserver's --min-request-timeout is 30 min). */
export const WATCH_DURATION_MS_MAX = 30 * 60 * 1000;
const PATH_BYTES_MAX = 2048;

export function parseRoute(method: string, target: string): Route {
  if (target.length > PATH_BYTES_MAX) throw new ApiError('BadRequest', `request path longer than ${PATH_BYTES_MAX} bytes`);
  const queryAt = target.indexOf('?');
  const path = queryAt < 0 ? target : target.slice(0, queryAt);
  const query = new URLSearchParams(queryAt < 0 ? '' : target.slice(queryAt + 1));
  if (path === '/healthz' || path === '/version') {
    if (method !== 'GET') throw methodNotAllowed(method, path);
    return { kind: path === '/healthz' ? 'healthz' : 'version' };
  }
  for (const resource of RESOURCES) {
    if (path === resource.collectionPath) return collectionRoute(method, resource, query);
    if (path.startsWith(`${resource.collectionPath}/`)) return objectRoute(method, resource, path.slice(resource.collectionPath.length + 1));
  }
  throw new ApiError('NotFound', `the server could not find the requested resource (${path.slice(0, 128)})`);
}

function collectionRoute(method: string, resource: ResourceKind, query: URLSearchParams): Route {
  if (method === 'POST') return { kind: 'create', resource };
  if (method !== 'GET') throw methodNotAllowed(method, resource.collectionPath);
  if (!isTrue(query.get('watch'))) return { kind: 'list', resource };
  return { kind: 'watch', resource, resourceVersion: resourceVersionOf(query.get('resourceVersion')), durationMs: watchDurationMs(query.get('timeoutSeconds')) };
}

function objectRoute(method: string, resource: ResourceKind, name: string): Route {
  if (name === '' || name.includes('/')) throw new ApiError('NotFound', `the server could not find the requested resource (${resource.resource}/${name.slice(0, 64)})`);
  const problem = nameProblem(name);
  if (problem !== undefined) throw new ApiError('BadRequest', `${resource.resource}: ${problem}`);
  if (method === 'GET') return { kind: 'get', resource, name };
  if (method === 'PUT') return { kind: 'update', resource, name };
  if (method === 'DELETE') return { kind: 'delete', resource, name };
  throw methodNotAllowed(method, `${resource.collectionPath}/${name}`);
}

function isTrue(value: string | null): boolean {
  return value === '1' || value === 'true';
}

/** "" and "0" mean "from now, after the current state" (the real apiserver's "Any"). */
function resourceVersionOf(text: string | null): number | undefined {
  if (text === null || text === '' || text === '0') return undefined;
  if (!/^[1-9]\d{0,15}$/.test(text)) throw new ApiError('BadRequest', `resourceVersion ${JSON.stringify(text.slice(0, 32))} is not a revision`);
  return Number(text);
}

function watchDurationMs(text: string | null): number {
  if (text === null || text === '') return WATCH_DURATION_MS_MAX;
  if (!/^\d{1,9}$/.test(text) || Number(text) < 1) throw new ApiError('BadRequest', `timeoutSeconds ${JSON.stringify(text.slice(0, 32))} is not a positive integer`);
  return Math.min(Number(text) * 1000, WATCH_DURATION_MS_MAX);
}

function methodNotAllowed(method: string, path: string): ApiError {
  return new ApiError('MethodNotAllowed', `${method.slice(0, 16)} is not allowed on ${path}`);
}
