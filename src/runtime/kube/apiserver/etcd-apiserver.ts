// The apiserver stand-in backed by etcd: an HTTP/1.1 server (src/runtime/net/http1)
// whose handler keeps nodes and leases in the local etcd member.
import type { Platform, Service } from '../../platform/types.js';
import { EtcdClient } from '../../etcd/client.js';
import { serveHttp } from '../../net/http1/index.js';
import type { HostPort } from './args.js';
import { createApiHandler } from './handler.js';
import { EtcdHealth, HEALTH_TIMEOUT_MS } from './health.js';
import { ObjectStore } from './store.js';
import { WatchSlots } from './watch.js';

/** Above the member's own request timeout (7 s), so that etcd says "timed out" before the client gives up. */
export const ETCD_REQUEST_TIMEOUT_MS = 8_000;
/** Objects here are small; the real apiserver allows 3 MiB, etcd 1.5 MiB per request. */
export const REQUEST_BODY_BYTES_MAX = 256 * 1024;
export const WATCHES_MAX = 128;
/** What a watcher may leave unread before it is cut off. */
const STREAM_BUFFERED_BYTES_MAX = 1024 * 1024;

export async function startEtcdApiserver(platform: Platform, options: { etcd: HostPort; listen: HostPort }): Promise<Service> {
  const etcd = new EtcdClient(platform, { ...options.etcd, timeoutMs: ETCD_REQUEST_TIMEOUT_MS });
  const health = new EtcdHealth(new EtcdClient(platform, { ...options.etcd, timeoutMs: HEALTH_TIMEOUT_MS }), platform.clock, platform.log);
  const handler = createApiHandler({ platform, etcd, store: new ObjectStore(etcd, platform.clock), health, watchSlots: new WatchSlots(WATCHES_MAX) });
  const server = await serveHttp(
    platform,
    { host: options.listen.host, port: options.listen.port, bodyBytesMax: REQUEST_BODY_BYTES_MAX, streamBufferedBytesMax: STREAM_BUFFERED_BYTES_MAX },
    handler,
  );
  platform.log.info('apiserver.started', { listen: `${options.listen.host}:${server.port}`, etcd: `${options.etcd.host}:${options.etcd.port}` });
  return { stop: () => server.close() };
}
