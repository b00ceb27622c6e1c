// UDP sockets of one simulated kernel: bind, unicast, broadcast, multicast.
import { EventEmitter } from 'node:events';
import type { RemoteInfo, UdpSocket } from '../../../src/runtime/platform/types.js';
import { PlatformError } from '../../../src/runtime/platform/errors.js';
import type { Ipv4 } from '../ip.js';
import { formatIpv4, IPV4_ANY, IPV4_BROADCAST, isMulticast, parseIpv4 } from '../ip.js';
import type { IpPacket } from '../packet.js';
import { IPPROTO_UDP } from '../packet.js';
import type { Owner } from '../engine.js';
import type { SimHost } from '../host.js';
import type { Nic } from '../nic.js';
import { GroupMemberships } from './memberships.js';
import { EPHEMERAL_PORT_MAX, EPHEMERAL_PORT_MIN, pickFreePort } from './ports.js';

const UDP_PAYLOAD_BYTES_MAX = 65_507;

export class SimUdpSocket extends EventEmitter implements UdpSocket {
  readonly address: string;
  closed = false;
  broadcast = false;
  multicastTtl = 1;
  private readonly groups = new GroupMemberships();

  constructor(
    private readonly host: SimHost,
    readonly owner: Owner,
    readonly boundIp: Ipv4,
    readonly port: number,
  ) {
    super();
    this.address = formatIpv4(boundIp);
  }

  send(data: Buffer, port: number, address: string): void {
    // A dead process sends nothing (see never() in platform.ts).
    if (!this.owner.alive) return;
    if (this.closed) throw new PlatformError('EBADF', 'send on a closed UDP socket', { syscall: 'send' });
    if (data.length > UDP_PAYLOAD_BYTES_MAX) {
      throw new PlatformError('EINVAL', `datagram of ${data.length} bytes exceeds ${UDP_PAYLOAD_BYTES_MAX}`, { syscall: 'send' });
    }
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new PlatformError('EINVAL', `bad port ${port}`, { syscall: 'send' });
    this.host.stack.udp.send(this, Buffer.from(data), port, parseIpv4(address));
  }

  addMembership(group: string, interfaceAddress?: string): void {
    if (this.closed) throw new PlatformError('EBADF', 'addMembership on a closed UDP socket', { syscall: 'setsockopt' });
    const groupIp = parseIpv4(group);
    const nic = this.host.stack.udp.nicFor(interfaceAddress);
    this.groups.join(groupIp, nic);
  }

  dropMembership(group: string, interfaceAddress?: string): void {
    const groupIp = parseIpv4(group);
    const nic = this.host.stack.udp.nicFor(interfaceAddress);
    if (!this.groups.leave(groupIp, nic)) throw new PlatformError('EINVAL', `not a member of ${group}`, { syscall: 'setsockopt' });
  }

  setBroadcast(enabled: boolean): void {
    this.broadcast = enabled;
  }

  setMulticastTtl(ttl: number): void {
    this.multicastTtl = ttl;
  }

  /** Multicast source interface: the first membership's, else the default route's. */
  multicastNic(): Nic | undefined {
    return this.groups.firstNic();
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.groups.leaveAll();
      this.host.stack.udp.unbind(this);
      this.host.world.engine.schedule(0, () => this.emit('close'), this.owner);
    }
    return Promise.resolve();
  }

  deliver(data: Buffer, remote: RemoteInfo): void {
    this.host.world.engine.schedule(0, () => this.emit('message', data, remote), this.owner);
  }
}

export class UdpLayer {
  private readonly bound = new Map<number, SimUdpSocket[]>();
  datagramsUndeliverable = 0;

  constructor(private readonly host: SimHost) {}

  bind(owner: Owner, address: string | undefined, port: number | undefined): SimUdpSocket {
    const boundIp = address === undefined ? IPV4_ANY : parseIpv4(address);
    if (boundIp !== IPV4_ANY && !isMulticast(boundIp) && !this.host.stack.isLocalAddress(boundIp)) {
      throw new PlatformError('EADDRNOTAVAIL', `${address} is not an address of ${this.host.name}`, { syscall: 'bind', address });
    }
    let chosenPort = port ?? 0;
    if (!Number.isInteger(chosenPort) || chosenPort < 0 || chosenPort > 65535) {
      throw new PlatformError('EINVAL', `bad port ${chosenPort}`, { syscall: 'bind' });
    }
    if (chosenPort === 0) chosenPort = this.ephemeralPort();
    const existing = this.bound.get(chosenPort) ?? [];
    if (existing.some((socket) => socket.boundIp === boundIp || socket.boundIp === IPV4_ANY || boundIp === IPV4_ANY)) {
      throw new PlatformError('EADDRINUSE', `UDP ${address ?? '0.0.0.0'}:${chosenPort} is in use on ${this.host.name}`, {
        syscall: 'bind',
        port: chosenPort,
      });
    }
    const socket = new SimUdpSocket(this.host, owner, boundIp, chosenPort);
    this.bound.set(chosenPort, [...existing, socket]);
    return socket;
  }

  unbind(socket: SimUdpSocket): void {
    const remaining = (this.bound.get(socket.port) ?? []).filter((candidate) => candidate !== socket);
    if (remaining.length === 0) this.bound.delete(socket.port);
    else this.bound.set(socket.port, remaining);
  }

  isBound(port: number): boolean {
    return this.bound.has(port);
  }

  nicFor(interfaceAddress: string | undefined): Nic {
    const nics = this.host.nics;
    if (interfaceAddress === undefined) {
      const nic = nics.find((candidate) => candidate.addresses.length > 0);
      if (nic === undefined) throw new PlatformError('EADDRNOTAVAIL', `${this.host.name} has no addressed interface`);
      return nic;
    }
    const address = parseIpv4(interfaceAddress);
    const nic = nics.find((candidate) => candidate.hasAddress(address));
    if (nic === undefined) throw new PlatformError('EADDRNOTAVAIL', `${interfaceAddress} is not an address of ${this.host.name}`);
    return nic;
  }

  send(socket: SimUdpSocket, data: Buffer, port: number, destination: Ipv4): void {
    const stack = this.host.stack;
    if (destination === IPV4_BROADCAST && !socket.broadcast) {
      throw new PlatformError('EINVAL', 'broadcast send without setBroadcast(true)', { syscall: 'send' });
    }
    const multicast = isMulticast(destination);
    const source = socket.boundIp !== IPV4_ANY && !isMulticast(socket.boundIp) ? socket.boundIp : this.sourceFor(socket, destination);
    if (source === undefined) return;
    const packet = this.host.world.newPacket(this.host.name, {
      source,
      destination,
      ttl: multicast ? socket.multicastTtl : 64,
      protocol: IPPROTO_UDP,
      udp: { sourcePort: socket.port, destinationPort: port, data },
    });
    stack.send(packet, multicast ? socket.multicastNic() : undefined);
  }

  receive(packet: IpPacket, _nic: Nic | undefined): void {
    const datagram = packet.udp;
    if (datagram === undefined) return;
    const sockets = this.bound.get(datagram.destinationPort);
    const remote: RemoteInfo = { address: formatIpv4(packet.source), port: datagram.sourcePort, size: datagram.data.length };
    let delivered = false;
    for (const socket of sockets ?? []) {
      if (socket.boundIp === IPV4_ANY || socket.boundIp === packet.destination) {
        socket.deliver(datagram.data, remote);
        delivered = true;
        // Unicast goes to one socket; multicast and broadcast to every match.
        if (!isMulticast(packet.destination) && packet.destination !== IPV4_BROADCAST) break;
      }
    }
    if (!delivered) {
      this.datagramsUndeliverable++;
      this.host.world.recordPacketDrop(this.host.name, packet, 'udp-port-closed');
    }
  }

  reset(): void {
    for (const sockets of this.bound.values()) for (const socket of sockets) socket.closed = true;
    this.bound.clear();
  }

  private sourceFor(socket: SimUdpSocket, destination: Ipv4): Ipv4 | undefined {
    if (isMulticast(destination)) return (socket.multicastNic() ?? this.nicFor(undefined)).addresses[0]?.address;
    return this.host.stack.sourceAddressFor(destination);
  }

  private ephemeralPort(): number {
    const port = pickFreePort(this.host.kernelRng, EPHEMERAL_PORT_MIN, EPHEMERAL_PORT_MAX, (candidate) => !this.bound.has(candidate));
    if (port === undefined) throw new PlatformError('EADDRNOTAVAIL', `no free UDP port on ${this.host.name}`, { syscall: 'bind' });
    return port;
  }
}
