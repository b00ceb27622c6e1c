// The etcd-backed apiserver's requests: route, act, answer. Every failure
// leaves here as a Kubernetes Status (ApiError); nothing a client sends can
// make the handler throw.
import type { Platform } from '../../platform/types.js';
import type { EtcdClient } from '../../etcd/client.js';
import type { HttpHandler, HttpServerRequest, HttpServerResponse } from '../../net/http1/index.js';
import type { EtcdHealth } from './health.js';
import { decodeObjectRequest } from './objects.js';
import { parseRoute, type Route } from './routes.js';
import type { ObjectStore } from './store.js';
import { ApiError, errorResponse, jsonResponse } from './status.js';
import { tooManyWatches, watchStream, type WatchSlots } from './watch.js';

export interface ApiContext {
  platform: Platform;
  etcd: EtcdClient;
  store: ObjectStore;
  health: EtcdHealth;
  watchSlots: WatchSlots;
}

export function createApiHandler(context: ApiContext): HttpHandler {
  const log = context.platform.log;
  return async (request) => {
    try {
      return await answer(context, request, parseRoute(request.method, request.path));
    } catch (error) {
      const apiError = error instanceof ApiError ? error : new ApiError('InternalError', error instanceof Error ? error.message : String(error));
      if (apiError.code >= 500) log.info('apiserver.request_failed', { method: request.method, path: request.path.slice(0, 200), code: apiError.code, reason: apiError.reason, message: apiError.detail.slice(0, 300) });
      return errorResponse(apiError);
    }
  };
}

async function answer(context: ApiContext, request: HttpServerRequest, route: Route): Promise<HttpServerResponse> {
  const { platform, store } = context;
  switch (route.kind) {
    case 'healthz': {
      const result = await context.health.check();
      return result.ok ? text(200, `ok ${platform.hostName}\n`) : text(500, `etcd: ${result.reason}\n`);
    }
    case 'version':
      return text(200, `{"server":"${platform.hostName}"}\n`);
    case 'list': {
      const list = await store.list(route.resource);
      return jsonResponse(200, { kind: route.resource.listKind, apiVersion: route.resource.apiVersion, metadata: { resourceVersion: String(list.revision) }, items: list.items });
    }
    case 'watch': {
      const slot = context.watchSlots.reserve();
      if (slot === undefined) throw tooManyWatches(context.watchSlots.max);
      try {
        // From a resourceVersion: what came after it. Without: the current state as ADDED, then what comes after it.
        const start = route.resourceVersion === undefined ? await store.list(route.resource) : { items: [], revision: route.resourceVersion };
        return watchStream(platform, context.etcd, { resource: route.resource, startRevision: start.revision + 1, initial: start.items, durationMs: route.durationMs, slot });
      } catch (error) {
        slot.release();
        throw error;
      }
    }
    case 'get':
      return jsonResponse(200, await store.get(route.resource, route.name));
    case 'create':
      return jsonResponse(201, await store.create(route.resource, decodeObjectRequest(route.resource, request.body, undefined)));
    case 'update': {
      const { object, created } = await store.update(route.resource, decodeObjectRequest(route.resource, request.body, route.name));
      return jsonResponse(created ? 201 : 200, object);
    }
    case 'delete':
      return jsonResponse(200, await store.remove(route.resource, route.name));
  }
}

function text(status: number, body: string): HttpServerResponse {
  return { status, headers: { 'content-type': 'text/plain; charset=utf-8' }, body };
}
