// Raw IP-protocol sockets (VRRP is protocol 112, AH 51): every packet of the
// protocol that reaches the host goes to every open socket of that protocol,
// with the IP header fields a VRRP implementation checks (TTL, addresses).
import { EventEmitter } from 'node:events';
import type { RawPacketInfo, RawSendOptions, RawSocket } from '../../../src/runtime/platform/types.js';
import { PlatformError } from '../../../src/runtime/platform/errors.js';
import { formatIpv4, isMulticast, parseIpv4, type Ipv4 } from '../ip.js';
import type { IpPacket } from '../packet.js';
import type { Owner } from '../engine.js';
import type { SimHost } from '../host.js';
import type { Nic } from '../nic.js';
import { GroupMemberships } from './memberships.js';
import { decodeIpv4Header, encodeIpv4Header, Ipv4HeaderError } from '../../../src/runtime/net/ipv4-header.js';

const RAW_PAYLOAD_BYTES_MAX = 65_515;

export class SimRawSocket extends EventEmitter implements RawSocket {
  closed = false;
  private readonly groups = new GroupMemberships();

  constructor(
    private readonly host: SimHost,
    readonly owner: Owner,
    readonly protocol: number,
    /** SO_BINDTODEVICE: receive only what arrives on this interface. */
    readonly boundIface: string | undefined,
  ) {
    super();
  }

  sendDatagram(datagram: Buffer, options: { iface?: string }): void {
    if (!this.sendable()) return;
    let header;
    try {
      header = decodeIpv4Header(datagram);
    } catch (error) {
      if (error instanceof Ipv4HeaderError) throw new PlatformError('EINVAL', error.message, { syscall: 'sendto' });
      throw error;
    }
    if (header.identification === 0) throw new PlatformError('EINVAL', 'IP identification 0: the sender must pick one', { syscall: 'sendto' });
    if (header.ttl === 0) throw new PlatformError('EINVAL', 'TTL 0', { syscall: 'sendto' });
    const destination = parseIpv4(header.destination);
    const nic = this.outgoingNic(destination, options.iface ?? this.boundIface);
    this.host.stack.send(
      this.host.world.newPacket(this.host.name, {
        source: parseIpv4(header.source),
        destination,
        ttl: header.ttl,
        protocol: header.protocol,
        ipId: header.identification,
        raw: Buffer.from(datagram.subarray(header.headerLength)),
      }),
      nic,
    );
  }

  send(payload: Buffer, options: RawSendOptions): void {
    if (!this.sendable()) return;
    if (payload.length > RAW_PAYLOAD_BYTES_MAX) {
      throw new PlatformError('EINVAL', `raw payload of ${payload.length} bytes is too large`, { syscall: 'sendto' });
    }
    const ttl = options.ttl ?? 64;
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > 255) throw new PlatformError('EINVAL', `bad TTL ${ttl}`, { syscall: 'sendto' });
    const destination = parseIpv4(options.destination);
    const nic = this.outgoingNic(destination, options.iface);
    const source =
      options.source !== undefined
        ? parseIpv4(options.source)
        : (nic?.addresses[0]?.address ?? this.host.stack.sourceAddressFor(destination));
    if (source === undefined) {
      throw new PlatformError('ENETUNREACH', `no route from ${this.host.name} to ${options.destination}`, { syscall: 'sendto' });
    }
    this.host.stack.send(
      this.host.world.newPacket(this.host.name, {
        source,
        destination,
        ttl,
        protocol: this.protocol,
        raw: Buffer.from(payload),
      }),
      nic,
    );
  }

  /** A dead process sends nothing (see never() in platform.ts); a closed socket refuses. */
  private sendable(): boolean {
    if (!this.owner.alive) return false;
    if (this.closed) throw new PlatformError('EBADF', 'send on a closed raw socket', { syscall: 'sendto' });
    return true;
  }

  private outgoingNic(destination: Ipv4, iface: string | undefined): Nic | undefined {
    const nic = iface === undefined ? undefined : this.host.stack.requireNic(iface, 'sendto');
    if (isMulticast(destination) && nic === undefined) {
      throw new PlatformError('EINVAL', 'multicast send needs options.iface', { syscall: 'sendto' });
    }
    return nic;
  }

  addMembership(group: string, iface: string): void {
    if (this.closed) throw new PlatformError('EBADF', 'addMembership on a closed raw socket', { syscall: 'setsockopt' });
    const groupIp = parseIpv4(group);
    const nic = this.host.stack.requireNic(iface, 'setsockopt');
    this.groups.join(groupIp, nic);
  }

  dropMembership(group: string, iface: string): void {
    const groupIp = parseIpv4(group);
    const nic = this.host.stack.requireNic(iface, 'setsockopt');
    if (!this.groups.leave(groupIp, nic)) throw new PlatformError('EINVAL', `not a member of ${group} on ${iface}`, { syscall: 'setsockopt' });
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.groups.leaveAll();
      this.host.stack.raw.unbind(this);
    }
    return Promise.resolve();
  }

  deliver(payload: Buffer, info: RawPacketInfo): void {
    this.host.world.engine.schedule(0, () => this.emit('message', payload, info), this.owner);
  }
}

export class RawLayer {
  private sockets: SimRawSocket[] = [];

  constructor(private readonly host: SimHost) {}

  open(owner: Owner, protocol: number, iface?: string): SimRawSocket {
    if (!Number.isInteger(protocol) || protocol < 1 || protocol > 255) {
      throw new PlatformError('EINVAL', `bad IP protocol number ${protocol}`, { syscall: 'socket' });
    }
    if (iface !== undefined) this.host.stack.requireNic(iface, 'setsockopt');
    const socket = new SimRawSocket(this.host, owner, protocol, iface);
    this.sockets.push(socket);
    return socket;
  }

  unbind(socket: SimRawSocket): void {
    this.sockets = this.sockets.filter((candidate) => candidate !== socket);
  }

  receive(packet: IpPacket, nic: Nic | undefined): void {
    const payload = packet.raw;
    if (payload === undefined) return;
    const source = formatIpv4(packet.source);
    const destination = formatIpv4(packet.destination);
    const iface = nic?.name ?? 'lo';
    const info: RawPacketInfo = {
      source,
      destination,
      ttl: packet.ttl,
      protocol: packet.protocol,
      iface,
      header: encodeIpv4Header({
        tos: 0,
        totalLength: 20 + payload.length,
        identification: packet.ipId ?? packet.id & 0xffff,
        flagsFragment: 0,
        ttl: packet.ttl,
        protocol: packet.protocol,
        source,
        destination,
      }),
    };
    let delivered = false;
    for (const socket of this.sockets) {
      if (socket.protocol === packet.protocol && (socket.boundIface === undefined || socket.boundIface === iface)) {
        socket.deliver(payload, info);
        delivered = true;
      }
    }
    if (!delivered) this.host.world.recordPacketDrop(this.host.name, packet, 'raw-no-socket');
  }

  reset(): void {
    for (const socket of this.sockets) socket.closed = true;
    this.sockets = [];
  }
}
