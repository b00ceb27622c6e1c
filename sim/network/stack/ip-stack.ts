// The IPv4 layer of a simulated host: routing (connected subnets plus static
// routes, longest prefix wins), local delivery, forwarding with TTL for
// routers, the NAT hooks, and dispatch to TCP, UDP and raw sockets.
import type { Cidr, Ipv4 } from '../ip.js';
import { PlatformError } from '../../../src/runtime/platform/errors.js';
import { IPV4_BROADCAST, inSubnet, isLoopback, isMulticast, subnetBroadcast } from '../ip.js';
import type { Frame, IpPacket } from '../packet.js';
import { BROADCAST_MAC, IPPROTO_TCP, IPPROTO_UDP, ipPacketBytes, multicastMac } from '../packet.js';
import type { Nic } from '../nic.js';
import type { SimHost } from '../host.js';
import type { Nat } from '../nat.js';
import { TcpLayer } from './tcp-layer.js';
import { UdpLayer } from './udp.js';
import { RawLayer } from './raw.js';

/**
 * Loopback moves about 2 GB/s: small exchanges are instant, but a sustained
 * local stream takes virtual time, as it must for time to move at all.
 */
const LOOPBACK_BYTES_PER_MS = 2_000_000;

export interface Route {
  readonly destination: Cidr;
  /** Gateway; absent for an on-link route. */
  readonly via?: Ipv4;
  readonly nic: Nic;
}

export interface RouteChoice {
  nic: Nic;
  nextHop: Ipv4;
}

export class IpStack {
  readonly tcp: TcpLayer;
  readonly udp: UdpLayer;
  readonly raw: RawLayer;
  readonly routes: Route[] = [];
  forwarding = false;
  nat: Nat | undefined;
  /** Virtual time (epoch ms, fractional) at which the loopback is free again. */
  private loopbackBusyUntilMs = 0;

  constructor(readonly host: SimHost) {
    this.tcp = new TcpLayer(host);
    this.udp = new UdpLayer(host);
    this.raw = new RawLayer(host);
  }

  isLocalAddress(address: Ipv4): boolean {
    if (isLoopback(address)) return true;
    for (const nic of this.host.nics) if (nic.hasAddress(address)) return true;
    return false;
  }

  nicNamed(name: string): Nic | undefined {
    return this.host.nics.find((nic) => nic.name === name);
  }

  /** The interface called `name`, or the EINVAL a socket call gets for a missing one. */
  requireNic(name: string, syscall: string): Nic {
    const nic = this.nicNamed(name);
    if (nic === undefined) throw new PlatformError('EINVAL', `${this.host.name} has no interface ${name}`, { syscall });
    return nic;
  }

  route(destination: Ipv4): RouteChoice | undefined {
    let best: RouteChoice | undefined;
    let bestPrefix = -1;
    for (const nic of this.host.nics) {
      if (!nic.up) continue;
      for (const entry of nic.addresses) {
        if (entry.prefixLength > bestPrefix && inSubnet(destination, entry)) {
          best = { nic, nextHop: destination };
          bestPrefix = entry.prefixLength;
        }
      }
    }
    for (const route of this.routes) {
      if (route.nic.up && route.destination.prefixLength > bestPrefix && inSubnet(destination, route.destination)) {
        best = { nic: route.nic, nextHop: route.via ?? destination };
        bestPrefix = route.destination.prefixLength;
      }
    }
    return best;
  }

  /** Source address the kernel picks for a connection or datagram to `destination`. */
  sourceAddressFor(destination: Ipv4): Ipv4 | undefined {
    // Talking to ourselves: the destination is also the source, as on Linux.
    if (this.isLocalAddress(destination)) return destination;
    const choice = this.route(destination);
    return choice?.nic.sourceFor(choice.nextHop);
  }

  /** Sends a locally generated packet. `nic` is required for multicast and broadcast. */
  send(packet: IpPacket, nic?: Nic): boolean {
    const destination = packet.destination;
    if (isLoopback(destination) || this.isLocalAddress(destination)) {
      const engine = this.host.world.engine;
      const nowMs = engine.now();
      this.loopbackBusyUntilMs = Math.max(nowMs, this.loopbackBusyUntilMs) + ipPacketBytes(packet) / LOOPBACK_BYTES_PER_MS;
      engine.schedule(Math.floor(this.loopbackBusyUntilMs - nowMs), () => this.receiveLocal(packet, undefined), this.host.kernel);
      return true;
    }
    if (isMulticast(destination) || destination === IPV4_BROADCAST) {
      const out = nic ?? this.host.nics.find((candidate) => candidate.up && candidate.addresses.length > 0);
      if (out === undefined) return false;
      const destinationMac = destination === IPV4_BROADCAST ? BROADCAST_MAC : multicastMac(destination);
      out.transmit({ sourceMac: out.mac, destinationMac, ip: packet });
      return true;
    }
    const choice = this.route(destination);
    if (choice === undefined) {
      this.host.world.recordPacketDrop(this.host.name, packet, 'no-route');
      return false;
    }
    choice.nic.neighbors.send(packet, choice.nextHop);
    return true;
  }

  receiveFrame(nic: Nic, frame: Frame): void {
    const world = this.host.world;
    world.recordFrame(this.host.name, nic.segment.name, frame);
    if (frame.arp !== undefined) {
      nic.neighbors.onArp(frame.arp);
      return;
    }
    const packet = frame.ip;
    if (packet === undefined) return;
    const destination = packet.destination;

    if (isMulticast(destination)) {
      if (nic.multicastGroups.has(destination)) this.receiveLocal(packet, nic);
      return;
    }
    if (frame.destinationMac !== nic.mac && frame.destinationMac !== BROADCAST_MAC) return;

    const nat = this.nat;
    if (nat !== undefined && nic === nat.outside && nic.hasAddress(destination) && this.isNatProtocol(packet)) {
      const translated = nat.inbound(packet);
      if (translated !== undefined) {
        // Translated by this router: it no longer counts as arriving from outside.
        this.forward(translated, undefined);
        return;
      }
      if (!this.hasLocalSocket(packet)) {
        world.recordPacketDrop(this.host.name, packet, 'nat-no-mapping');
        return;
      }
    }
    if (this.isLocalAddress(destination) || destination === IPV4_BROADCAST || this.isSubnetBroadcast(nic, destination)) {
      this.receiveLocal(packet, nic);
      return;
    }
    if (this.forwarding) {
      this.forward(packet, nic);
      return;
    }
    world.recordPacketDrop(this.host.name, packet, 'not-for-host');
  }

  /** The link layer gave up on a packet's next hop (ARP failed). */
  notifyUnreachable(packet: IpPacket): void {
    if (packet.originHost !== this.host.name) return;
    if (packet.protocol === IPPROTO_TCP) this.tcp.hostUnreachable(packet);
  }

  reset(): void {
    this.loopbackBusyUntilMs = 0;
    this.tcp.reset();
    this.udp.reset();
    this.raw.reset();
    this.nat?.reset();
  }

  /** inNic is undefined for a reply the NAT has just mapped back to an inside host. */
  private forward(packet: IpPacket, inNic: Nic | undefined): void {
    const world = this.host.world;
    if (packet.ttl <= 1) {
      world.recordPacketDrop(this.host.name, packet, 'ttl-expired');
      return;
    }
    const choice = this.route(packet.destination);
    if (choice === undefined) {
      world.recordPacketDrop(this.host.name, packet, 'no-route');
      return;
    }
    let out = withTtl(packet, packet.ttl - 1);
    const nat = this.nat;
    if (nat !== undefined && inNic === nat.outside && choice.nic !== nat.outside) {
      // Only what the NAT translated back may enter; that arrives addressed to the router itself.
      world.recordPacketDrop(this.host.name, packet, 'nat-unsolicited');
      return;
    }
    if (nat !== undefined && choice.nic === nat.outside && inNic !== nat.outside) {
      if (!this.isNatProtocol(packet)) {
        world.recordPacketDrop(this.host.name, packet, 'nat-protocol');
        return;
      }
      const translated = nat.outbound(out);
      if (translated === undefined) {
        world.recordPacketDrop(this.host.name, packet, 'nat-table-full');
        return;
      }
      out = translated;
    }
    choice.nic.neighbors.send(out, choice.nextHop);
  }

  private receiveLocal(packet: IpPacket, nic: Nic | undefined): void {
    const world = this.host.world;
    if (world.pathBlocked(packet.originHost, this.host.name)) {
      world.recordPacketDrop(this.host.name, packet, 'partition');
      return;
    }
    switch (packet.protocol) {
      case IPPROTO_TCP:
        this.tcp.receive(packet);
        return;
      case IPPROTO_UDP:
        this.udp.receive(packet, nic);
        return;
      default:
        this.raw.receive(packet, nic);
    }
  }

  private isNatProtocol(packet: IpPacket): boolean {
    return packet.protocol === IPPROTO_TCP || packet.protocol === IPPROTO_UDP;
  }

  /** The router's own sockets (a listener, or a connection it opened) also live on the outside address. */
  private hasLocalSocket(packet: IpPacket): boolean {
    const tcp = packet.tcp;
    if (tcp !== undefined) {
      return (
        this.tcp.hasListener(packet.destination, tcp.destinationPort) ||
        this.tcp.hasConnection(packet.destination, tcp.destinationPort, packet.source, tcp.sourcePort)
      );
    }
    if (packet.udp !== undefined) return this.udp.isBound(packet.udp.destinationPort);
    return false;
  }

  localPortInUse(protocol: number, port: number): boolean {
    if (protocol === IPPROTO_TCP) return this.tcp.portInUse(port);
    if (protocol === IPPROTO_UDP) return this.udp.isBound(port);
    return false;
  }

  private isSubnetBroadcast(nic: Nic, destination: Ipv4): boolean {
    for (const entry of nic.addresses) if (entry.prefixLength < 31 && subnetBroadcast(entry) === destination) return true;
    return false;
  }
}

/** A copy with another TTL, as an explicit literal (a spread is slow on this path). */
function withTtl(packet: IpPacket, ttl: number): IpPacket {
  return {
    id: packet.id,
    source: packet.source,
    destination: packet.destination,
    ttl,
    protocol: packet.protocol,
    originHost: packet.originHost,
    tcp: packet.tcp,
    udp: packet.udp,
    raw: packet.raw,
    ipId: packet.ipId,
  };
}
