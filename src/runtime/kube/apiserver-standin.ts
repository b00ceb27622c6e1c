// The apiserver stand-in. Started without --etcd it is the apiserver as
// keepalived's failover needs it: it answers /healthz (always ok) on every
// address of its master (the VIP included) and says who served; the VRRP
// scenarios run it so, and their traces depend on it staying exactly so.
// With --etcd host:port it keeps nodes and leases in that etcd member and
// /healthz reports whether the member reaches a quorum (./apiserver/).
import type { Platform, Service, StreamListener } from '../platform/types.js';
import { parseApiserverArgs } from './apiserver/args.js';
import { startEtcdApiserver } from './apiserver/etcd-apiserver.js';
import { serveHttpLite } from './http-lite.js';

export const APISERVER_PORT = 443;

/** args: [--etcd host:port] [--listen host:port] (see ./apiserver/args.ts). */
export async function apiserverStandinMain(platform: Platform, args: readonly string[] = []): Promise<Service> {
  const { etcd, listen } = parseApiserverArgs(args, { host: '0.0.0.0', port: APISERVER_PORT });
  if (etcd !== undefined) return startEtcdApiserver(platform, { etcd, listen });
  const listener: StreamListener = await platform.streams.listen({ host: listen.host, port: listen.port }, (socket) =>
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
