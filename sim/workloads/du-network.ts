// The network of the comms worlds (nat-proxy, the comms properties): hosts
// on the WAN reach the DU directly, hosts on a LAN behind a masquerading NAT,
// and either may go through the HTTP proxy on the WAN; the DU and its
// backends sit in a data centre behind router r1.
//
//   lan 198.19.1.0/24            wan 198.18.0.0/24                dc 198.18.1.0/24
//   ... ── nat(masq) .1 ──────── proxy .10, ... ── r1 .254 / .1 ── du .10, backends
import type { HostOptions, SimHost } from '../network/host.js';
import type { Segment } from '../network/segment.js';
import type { World } from '../network/world.js';

export const DU_NETWORK_IPS = {
  du: '198.18.1.10',
  proxy: '198.18.0.10',
  /** The default gateway of hosts on the LAN (the NAT), on the WAN (r1) and in the data centre (r1). */
  lanGateway: '198.19.1.1',
  wanGateway: '198.18.0.254',
  dcGateway: '198.18.1.1',
} as const;

export interface DuNetwork {
  lan: Segment;
  wan: Segment;
  dc: Segment;
  nat: SimHost;
  proxy: SimHost;
  r1: SimHost;
}

/** The segments, the NAT, the proxy's host and r1, in that order (the order the worlds' traces depend on). */
export function buildDuNetwork(world: World, tcp: HostOptions['tcp']): DuNetwork {
  const lan = world.segment('lan', { latencyMs: 1, jitterMs: 0.5 });
  const wan = world.segment('wan', { latencyMs: 5, jitterMs: 2, distribution: 'normal', bandwidthBytesPerSec: 12_500_000 });
  const dc = world.segment('dc', { latencyMs: 0.5 });
  const nat = world.router('nat', tcp === undefined ? {} : { tcp });
  world.attach(nat, lan, `${DU_NETWORK_IPS.lanGateway}/24`, { iface: 'eth0' });
  world.attach(nat, wan, '198.18.0.1/24', { iface: 'eth1', gateway: DU_NETWORK_IPS.wanGateway });
  world.nat(nat, { inside: 'eth0', outside: 'eth1' });
  const proxy = world.host('proxy', tcp === undefined ? {} : { tcp });
  world.attach(proxy, wan, `${DU_NETWORK_IPS.proxy}/24`, { gateway: DU_NETWORK_IPS.wanGateway });
  const r1 = world.router('r1');
  world.attach(r1, wan, `${DU_NETWORK_IPS.wanGateway}/24`);
  world.attach(r1, dc, `${DU_NETWORK_IPS.dcGateway}/24`);
  return { lan, wan, dc, nat, proxy, r1 };
}
