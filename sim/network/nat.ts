// A masquerading NAT on a router, in RFC 4787 terms:
// - mapping: endpoint-independent (one external port per inside endpoint,
//   whatever the destination) or address-and-port-dependent (a new external
//   port per destination: "symmetric");
// - filtering: endpoint-independent (anyone may send to a mapped port) or
//   address-and-port-dependent (only endpoints the inside host has sent to).
// Nothing comes in without a mapping. Mappings expire after an idle time
// that follows Linux conntrack's TCP states: long while established, 120 s
// once either side sent a FIN (a half-closed flow may still be answering),
// 10 s after a RST; UDP is shorter. The table is bounded: a new flow beyond
// it is dropped.
import type { Ipv4 } from './ip.js';
import { formatIpv4 } from './ip.js';
import type { IpPacket } from './packet.js';
import { IPPROTO_TCP, TCP_FIN, TCP_RST } from './packet.js';
import type { Nic } from './nic.js';
import type { SimHost } from './host.js';
import { pickFreePort } from './stack/ports.js';

export type NatBehaviour = 'endpoint-independent' | 'address-and-port-dependent';

export interface NatOptions {
  /** Interface names on the router. */
  inside: string;
  outside: string;
  mapping: NatBehaviour;
  filtering: NatBehaviour;
  udpIdleMs: number;
  tcpIdleMs: number;
  /** Idle time of a TCP mapping once a FIN went through either way (conntrack FIN_WAIT/CLOSE_WAIT). */
  tcpClosingIdleMs: number;
  /** Idle time of a TCP mapping once a RST went through (conntrack CLOSE). */
  tcpResetIdleMs: number;
  mappingsMax: number;
  externalPortMin: number;
  externalPortMax: number;
}

export const DEFAULT_NAT_OPTIONS = {
  mapping: 'endpoint-independent',
  filtering: 'address-and-port-dependent',
  udpIdleMs: 30_000,
  tcpIdleMs: 350_000,
  tcpClosingIdleMs: 120_000,
  tcpResetIdleMs: 10_000,
  mappingsMax: 16_384,
  externalPortMin: 1024,
  externalPortMax: 65535,
} as const satisfies Omit<NatOptions, 'inside' | 'outside'>;

interface Mapping {
  readonly protocol: number;
  readonly insideIp: Ipv4;
  readonly insidePort: number;
  readonly externalPort: number;
  readonly insideKey: string;
  /** Remote endpoints ("ip:port") the inside host has sent to through this mapping. */
  readonly remotes: Set<string>;
  lastUsedMs: number;
  tcpState: 'open' | 'closing' | 'reset';
}

export interface NatMappingView {
  protocol: 'tcp' | 'udp';
  inside: string;
  externalPort: number;
  remotes: string[];
  idleMs: number;
}

export interface NatStats {
  mappingsCreated: number;
  mappingsExpired: number;
  inboundDropped: number;
  outboundDropped: number;
}

/** Remote endpoints remembered per mapping for address-and-port-dependent filtering. */
const REMOTES_PER_MAPPING_MAX = 1024;

function endpointKey(ip: Ipv4, port: number): string {
  return `${ip}:${port}`;
}

export class Nat {
  readonly stats: NatStats = { mappingsCreated: 0, mappingsExpired: 0, inboundDropped: 0, outboundDropped: 0 };
  private readonly byInside = new Map<string, Mapping>();
  private readonly byExternal = new Map<string, Mapping>();

  constructor(
    private readonly host: SimHost,
    readonly inside: Nic,
    readonly outside: Nic,
    readonly options: NatOptions,
  ) {
    if (options.externalPortMin < 1 || options.externalPortMax > 65535 || options.externalPortMin > options.externalPortMax) {
      throw new RangeError(`NAT on ${host.name}: bad external port range ${options.externalPortMin}-${options.externalPortMax}`);
    }
  }

  /** Translates a packet leaving through the outside interface; undefined means drop (table full). */
  outbound(packet: IpPacket): IpPacket | undefined {
    const ports = transportPorts(packet);
    const nowMs = this.nowMs();
    const insideKey =
      this.options.mapping === 'endpoint-independent'
        ? `${packet.protocol}|${endpointKey(packet.source, ports.source)}`
        : `${packet.protocol}|${endpointKey(packet.source, ports.source)}|${endpointKey(packet.destination, ports.destination)}`;
    let mapping = this.byInside.get(insideKey);
    if (mapping !== undefined && this.expired(mapping, nowMs)) {
      this.remove(mapping);
      mapping = undefined;
    }
    if (mapping === undefined) {
      mapping = this.create(packet, ports.source, insideKey, nowMs);
      if (mapping === undefined) {
        this.stats.outboundDropped++;
        return undefined;
      }
    }
    mapping.lastUsedMs = nowMs;
    const remote = endpointKey(packet.destination, ports.destination);
    if (!mapping.remotes.has(remote)) {
      // Bounded: the oldest remote stops being let back in first.
      if (mapping.remotes.size >= REMOTES_PER_MAPPING_MAX) mapping.remotes.delete(mapping.remotes.values().next().value as string);
      mapping.remotes.add(remote);
    }
    noteTcpFlags(mapping, packet);
    const outsideIp = this.outside.addresses[0]?.address;
    if (outsideIp === undefined) return undefined;
    return rewrite(packet, { source: outsideIp, sourcePort: mapping.externalPort });
  }

  /** Translates a packet arriving at the outside address; undefined means no mapping lets it in. */
  inbound(packet: IpPacket): IpPacket | undefined {
    const ports = transportPorts(packet);
    const nowMs = this.nowMs();
    const mapping = this.byExternal.get(`${packet.protocol}|${ports.destination}`);
    if (mapping === undefined) {
      this.stats.inboundDropped++;
      return undefined;
    }
    if (this.expired(mapping, nowMs)) {
      this.remove(mapping);
      this.stats.inboundDropped++;
      return undefined;
    }
    const remote = endpointKey(packet.source, ports.source);
    if (this.options.filtering === 'address-and-port-dependent' && !mapping.remotes.has(remote)) {
      this.stats.inboundDropped++;
      return undefined;
    }
    mapping.lastUsedMs = nowMs;
    noteTcpFlags(mapping, packet);
    return rewrite(packet, { destination: mapping.insideIp, destinationPort: mapping.insidePort });
  }

  mappings(): NatMappingView[] {
    const nowMs = this.nowMs();
    return [...this.byInside.values()]
      .filter((mapping) => !this.expired(mapping, nowMs))
      .map((mapping) => ({
        protocol: mapping.protocol === IPPROTO_TCP ? 'tcp' : 'udp',
        inside: `${formatIpv4(mapping.insideIp)}:${mapping.insidePort}`,
        externalPort: mapping.externalPort,
        remotes: [...mapping.remotes].map((key) => {
          const [ip, port] = key.split(':');
          return `${formatIpv4(Number(ip))}:${port}`;
        }),
        idleMs: nowMs - mapping.lastUsedMs,
      }));
  }

  /** NAT restart or router crash: every mapping is forgotten. */
  reset(): void {
    this.byInside.clear();
    this.byExternal.clear();
  }

  private create(packet: IpPacket, insidePort: number, insideKey: string, nowMs: number): Mapping | undefined {
    if (this.byInside.size >= this.options.mappingsMax) this.sweep(nowMs);
    if (this.byInside.size >= this.options.mappingsMax) return undefined;
    const externalPort = this.allocatePort(packet.protocol);
    if (externalPort === undefined) return undefined;
    const mapping: Mapping = {
      protocol: packet.protocol,
      insideIp: packet.source,
      insidePort,
      externalPort,
      insideKey,
      remotes: new Set(),
      lastUsedMs: nowMs,
      tcpState: 'open',
    };
    this.byInside.set(insideKey, mapping);
    this.byExternal.set(`${packet.protocol}|${externalPort}`, mapping);
    this.stats.mappingsCreated++;
    this.host.world.engine.record(this.host.name, 'nat.map', {
      p: packet.protocol === IPPROTO_TCP ? 'tcp' : 'udp',
      inside: `${formatIpv4(packet.source)}:${insidePort}`,
      port: externalPort,
    });
    return mapping;
  }

  private allocatePort(protocol: number): number | undefined {
    // Never a port the router's own sockets use: their replies would be taken for the inside host's.
    return pickFreePort(
      this.host.kernelRng,
      this.options.externalPortMin,
      this.options.externalPortMax,
      (port) => !this.byExternal.has(`${protocol}|${port}`) && !this.host.stack.localPortInUse(protocol, port),
    );
  }

  private expired(mapping: Mapping, nowMs: number): boolean {
    const idleMs =
      mapping.protocol !== IPPROTO_TCP
        ? this.options.udpIdleMs
        : mapping.tcpState === 'reset'
          ? this.options.tcpResetIdleMs
          : mapping.tcpState === 'closing'
            ? this.options.tcpClosingIdleMs
            : this.options.tcpIdleMs;
    return nowMs - mapping.lastUsedMs >= idleMs;
  }

  private sweep(nowMs: number): void {
    for (const mapping of [...this.byInside.values()]) if (this.expired(mapping, nowMs)) this.remove(mapping);
  }

  private remove(mapping: Mapping): void {
    this.byInside.delete(mapping.insideKey);
    this.byExternal.delete(`${mapping.protocol}|${mapping.externalPort}`);
    this.stats.mappingsExpired++;
    this.host.world.engine.record(this.host.name, 'nat.expire', { port: mapping.externalPort });
  }

  private nowMs(): number {
    return this.host.world.engine.elapsedMs();
  }
}

function transportPorts(packet: IpPacket): { source: number; destination: number } {
  const transport = packet.tcp ?? packet.udp;
  if (transport === undefined) throw new Error('NAT: packet without TCP or UDP header');
  return { source: transport.sourcePort, destination: transport.destinationPort };
}

function rewrite(
  packet: IpPacket,
  change: { source?: Ipv4; sourcePort?: number; destination?: Ipv4; destinationPort?: number },
): IpPacket {
  const source = change.source ?? packet.source;
  const destination = change.destination ?? packet.destination;
  if (packet.tcp !== undefined) {
    return {
      ...packet,
      source,
      destination,
      tcp: {
        ...packet.tcp,
        sourcePort: change.sourcePort ?? packet.tcp.sourcePort,
        destinationPort: change.destinationPort ?? packet.tcp.destinationPort,
      },
    };
  }
  const udp = packet.udp;
  if (udp === undefined) throw new Error('NAT: packet without TCP or UDP header');
  return {
    ...packet,
    source,
    destination,
    udp: {
      ...udp,
      sourcePort: change.sourcePort ?? udp.sourcePort,
      destinationPort: change.destinationPort ?? udp.destinationPort,
    },
  };
}

function noteTcpFlags(mapping: Mapping, packet: IpPacket): void {
  const flags = packet.tcp?.flags ?? 0;
  if (flags & TCP_RST) mapping.tcpState = 'reset';
  else if (flags & TCP_FIN && mapping.tcpState === 'open') mapping.tcpState = 'closing';
}
