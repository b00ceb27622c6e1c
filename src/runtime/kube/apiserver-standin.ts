// The apiserver as keepalived's failover needs it: it answers /healthz on
// every address of its master (the VIP included) and says who served. The
// etcd-backed API grows here with the etcd issue.
import type { Platform, Service, StreamListener } from '../platform/types.js';
import { serveHttpLite } from './http-lite.js';

export const APISERVER_PORT = 443;

export async function apiserverStandinMain(platform: Platform): Promise<Service> {
  const listener: StreamListener = await platform.streams.listen({ host: '0.0.0.0', port: APISERVER_PORT }, (socket) =>
    serveHttpLite(socket, (method, path) => {
      if (method !== 'GET') return { status: 400, body: 'only GET\n' };
      if (path === '/healthz') return { status: 200, body: `ok ${platform.hostName}\n` };
      if (path === '/version') return { status: 200, body: `{"server":"${platform.hostName}"}\n` };
      return { status: 404, body: 'not found\n' };
    }),
  );
  return {
    stop: () => listener.close(),
  };
}
