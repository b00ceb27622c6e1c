// Raw IPv4 sockets for one IP protocol (VRRP is 112, AH 51) on a real Linux
// host, opened the way keepalived opens its VRRP sockets (vrrp.c, vrrp_if.c):
// - a socket of the protocol, which receives, and sends the packets whose
//   header the kernel builds (send());
// - a send-only IPPROTO_RAW socket, IP_HDRINCL implied, for whole datagrams
//   whose header the caller built (sendDatagram(): AH authenticates it).
// Both are bound to `iface` (SO_BINDTODEVICE) when one is given, and have
// IP_MULTICAST_LOOP off so a sender does not hear itself. The receiving one
// has IP_MULTICAST_ALL off: it hears only the groups it joined, so dropping a
// membership stops delivery even while another socket on the host is a member.
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { getSystemErrorMap, getSystemErrorName } from 'node:util';
import type { RawPacketInfo, RawSendOptions, RawSocket } from '../types.js';
import { PlatformError, type PlatformErrorCode } from '../errors.js';
import {
  IPV4_HEADER_BYTES_MIN,
  Ipv4HeaderError,
  decodeIpv4Header,
  encodeIpv4Header,
  ipv4ToBytes,
  type Ipv4Header,
} from '../../net/ipv4-header.js';
import { loadRawSocketBinding, type NativeRawSocket, type RawSocketBinding } from './raw-socket-addon.js';

// Linux socket option numbers (<linux/in.h>, <asm-generic/socket.h>); the
// addon exports only a few of them.
const SOL_SOCKET = 1;
const SO_BINDTODEVICE = 25;
const IPPROTO_IP = 0;
const IP_TTL = 2;
const IP_MULTICAST_IF = 32;
const IP_MULTICAST_TTL = 33;
const IP_MULTICAST_LOOP = 34;
const IP_ADD_MEMBERSHIP = 35;
const IP_DROP_MEMBERSHIP = 36;
const IP_MULTICAST_ALL = 49;
const IP_UNICAST_IF = 50;
const IPPROTO_RAW = 255;
/** The addon's address-family argument: 1 is IPv4, 2 IPv6. */
const ADDON_FAMILY_IPV4 = 1;
/** struct ip_mreqn: group, local address, interface index. */
const IP_MREQN_BYTES = 12;

/** An IPv4 datagram is at most 65535 bytes; the largest raw payload is that less a 20-byte header. */
const RAW_PAYLOAD_BYTES_MAX = 65_515;
const RECEIVE_BUFFER_BYTES = 65_536;
/** TTL when the caller gives none: the same default as the simulated platform. */
const TTL_DEFAULT = 64;

/** What a raw socket needs from the host; tests replace it to fake the addon and interfaces. */
export interface RawSocketHost {
  binding(): RawSocketBinding;
  /** The interface's index; throws ENODEV when the host has no interface of that name. */
  ifindex(iface: string): number;
  /** Best guess at the interface a packet from `source` arrived on, for a socket bound to none. */
  ifaceForSource(source: string): string | undefined;
}

export const linuxRawSocketHost: RawSocketHost = {
  binding: loadRawSocketBinding,

  ifindex(iface) {
    checkIfaceName(iface, 'setsockopt');
    let text: string;
    try {
      // sysfs shows the network namespace that mounted it; `ip netns exec` mounts the namespace's own.
      text = readFileSync(`/sys/class/net/${iface}/ifindex`, 'utf8');
    } catch {
      throw rawSocketError('ENODEV', `no interface named ${JSON.stringify(iface)}`, 'setsockopt');
    }
    const ifindex = Number(text.trim());
    if (!Number.isInteger(ifindex) || ifindex <= 0) {
      throw rawSocketError('ENODEV', `interface ${JSON.stringify(iface)} has no index (read ${JSON.stringify(text)})`, 'setsockopt');
    }
    return ifindex;
  },

  ifaceForSource(source) {
    const sourceNumber = ipv4Number(source);
    let onLink: string | undefined;
    for (const [name, entries] of Object.entries(os.networkInterfaces())) {
      for (const entry of entries ?? []) {
        if (entry.family !== 'IPv4') continue;
        // A packet from one of our own addresses came over loopback.
        if (entry.address === source) return 'lo';
        const prefixLength = Number(entry.cidr?.split('/')[1] ?? 32);
        if (onLink === undefined && sameSubnet(sourceNumber, ipv4Number(entry.address), prefixLength)) onLink = name;
      }
    }
    return onLink;
  },
};

export function openRealRawSocket(options: { protocol: number; iface?: string }, host: RawSocketHost = linuxRawSocketHost): RealRawSocket {
  const { protocol, iface } = options;
  if (!Number.isInteger(protocol) || protocol < 1 || protocol > 255) {
    throw rawSocketError('EINVAL', `bad IP protocol number ${protocol}`, 'socket');
  }
  if (iface !== undefined) checkIfaceName(iface, 'setsockopt');
  const binding = host.binding();
  const receiver = openNative(binding, protocol);
  let datagramSender: NativeRawSocket | undefined;
  try {
    datagramSender = openNative(binding, IPPROTO_RAW);
    // IPPROTO_RAW sockets never receive: stop watching this one for reads.
    datagramSender.pause(true, true);
    setIntOption(receiver, IPPROTO_IP, IP_MULTICAST_ALL, 0, 'IP_MULTICAST_ALL');
    for (const socket of [receiver, datagramSender]) {
      setIntOption(socket, IPPROTO_IP, IP_MULTICAST_LOOP, 0, 'IP_MULTICAST_LOOP');
      if (iface !== undefined) bindToDevice(socket, iface);
    }
  } catch (error) {
    receiver.close();
    datagramSender?.close();
    throw error;
  }
  return new RealRawSocket(protocol, iface, receiver, datagramSender, host);
}

export class RealRawSocket extends EventEmitter implements RawSocket {
  readonly protocol: number;
  /** The interface the socket is bound to, if any. */
  readonly iface: string | undefined;
  readonly #receiver: NativeRawSocket;
  readonly #datagramSender: NativeRawSocket;
  readonly #host: RawSocketHost;
  readonly #receiveBuffer = Buffer.alloc(RECEIVE_BUFFER_BYTES);
  readonly #memberships: { group: string; iface: string }[] = [];
  #closed = false;
  #malformedReceivedCount = 0;
  #sendDroppedCount = 0;

  constructor(protocol: number, iface: string | undefined, receiver: NativeRawSocket, datagramSender: NativeRawSocket, host: RawSocketHost) {
    super();
    this.protocol = protocol;
    this.iface = iface;
    this.#receiver = receiver;
    this.#datagramSender = datagramSender;
    this.#host = host;
    receiver.emit = (event, ...args) => this.#onNativeEvent(event, args);
    datagramSender.emit = (event, ...args) => this.#onNativeEvent(event, args);
  }

  /** Datagrams received but dropped because their IPv4 header did not parse or did not fit. */
  get malformedReceivedCount(): number {
    return this.#malformedReceivedCount;
  }

  /** Sends dropped because the socket's send buffer was full (EAGAIN, ENOBUFS), as a congested link drops. */
  get sendDroppedCount(): number {
    return this.#sendDroppedCount;
  }

  send(payload: Buffer, options: RawSendOptions): void {
    this.#assertOpen('sendto');
    if (payload.length > RAW_PAYLOAD_BYTES_MAX) {
      throw rawSocketError('EINVAL', `raw payload of ${payload.length} bytes is too large`, 'sendto');
    }
    const ttl = options.ttl ?? TTL_DEFAULT;
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > 255) throw rawSocketError('EINVAL', `bad TTL ${ttl}`, 'sendto');
    checkIpv4(options.destination, 'sendto');
    const multicast = isMulticast(options.destination);
    if (options.source !== undefined) {
      // The kernel picks the source address of the headers it builds; to pick
      // one ourselves we build the header, leaving identification 0 for the
      // kernel to fill in (raw(7)).
      checkIpv4(options.source, 'sendto');
      const header = encodeIpv4Header({
        tos: 0,
        totalLength: IPV4_HEADER_BYTES_MIN + payload.length,
        identification: 0,
        flagsFragment: 0,
        ttl,
        protocol: this.protocol,
        source: options.source,
        destination: options.destination,
      });
      this.#sendOn(this.#datagramSender, Buffer.concat([header, payload]), options.destination, options.iface);
      return;
    }
    setIntOption(this.#receiver, IPPROTO_IP, multicast ? IP_MULTICAST_TTL : IP_TTL, ttl, multicast ? 'IP_MULTICAST_TTL' : 'IP_TTL');
    this.#sendOn(this.#receiver, payload, options.destination, options.iface);
  }

  sendDatagram(datagram: Buffer, options: { iface?: string }): void {
    this.#assertOpen('sendto');
    let header: Ipv4Header;
    try {
      header = decodeIpv4Header(datagram);
    } catch (error) {
      if (error instanceof Ipv4HeaderError) throw rawSocketError('EINVAL', error.message, 'sendto');
      throw error;
    }
    if (header.identification === 0) throw rawSocketError('EINVAL', 'IP identification 0: the sender must pick one', 'sendto');
    if (header.ttl === 0) throw rawSocketError('EINVAL', 'TTL 0', 'sendto');
    // The kernel rewrites the total length; a header that disagrees would
    // leave the receiver checking AH over other bytes than the sender signed.
    if (header.totalLength !== datagram.length) {
      throw rawSocketError('EINVAL', `header says ${header.totalLength} bytes, the datagram has ${datagram.length}`, 'sendto');
    }
    this.#sendOn(this.#datagramSender, datagram, header.destination, options.iface ?? this.iface);
  }

  addMembership(group: string, iface: string): void {
    this.#assertOpen('setsockopt');
    this.#setMembership(IP_ADD_MEMBERSHIP, group, iface);
    this.#memberships.push({ group, iface });
  }

  dropMembership(group: string, iface: string): void {
    this.#assertOpen('setsockopt');
    this.#setMembership(IP_DROP_MEMBERSHIP, group, iface);
    const index = this.#memberships.findIndex((entry) => entry.group === group && entry.iface === iface);
    if (index >= 0) this.#memberships.splice(index, 1);
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      // Closing the sockets leaves their groups (the kernel drops the memberships).
      this.#memberships.length = 0;
      this.#receiver.close();
      this.#datagramSender.close();
    }
    return Promise.resolve();
  }

  #assertOpen(syscall: string): void {
    if (this.#closed) throw rawSocketError('EBADF', `${syscall} on a closed raw socket`, syscall);
  }

  /** Picks the outgoing interface for this one datagram, then sends it. */
  #sendOn(socket: NativeRawSocket, data: Buffer, destination: string, iface: string | undefined): void {
    if (iface !== undefined && this.iface !== undefined && iface !== this.iface) {
      throw rawSocketError('EINVAL', `socket bound to ${this.iface} cannot send out of ${iface}`, 'sendto');
    }
    if (isMulticast(destination)) {
      if (iface === undefined) throw rawSocketError('EINVAL', 'multicast send needs options.iface', 'sendto');
      // Multicast leaves by IP_MULTICAST_IF, not by the routing table.
      setBufferOption(socket, IPPROTO_IP, IP_MULTICAST_IF, ipMreqn('0.0.0.0', this.#host.ifindex(iface)), 'IP_MULTICAST_IF');
    } else {
      // IP_UNICAST_IF takes the index in network byte order; 0 restores routing by table alone.
      const index = Buffer.alloc(4);
      index.writeUInt32BE(iface === undefined ? 0 : this.#host.ifindex(iface));
      setBufferOption(socket, IPPROTO_IP, IP_UNICAST_IF, index, 'IP_UNICAST_IF');
    }
    try {
      socket.send(data, 0, data.length, destination, () => undefined);
    } catch (error) {
      const code = errnoCode(error);
      if (code === 'EAGAIN' || code === 'ENOBUFS') {
        this.#sendDroppedCount += 1;
        return;
      }
      throw nativeError(error, `sendto ${destination}`, 'sendto');
    }
  }

  #setMembership(option: number, group: string, iface: string): void {
    checkIpv4(group, 'setsockopt');
    if (!isMulticast(group)) throw rawSocketError('EINVAL', `${group} is not a multicast group`, 'setsockopt');
    const request = ipMreqn(group, this.#host.ifindex(iface));
    const name = option === IP_ADD_MEMBERSHIP ? 'IP_ADD_MEMBERSHIP' : 'IP_DROP_MEMBERSHIP';
    try {
      this.#receiver.setOption(IPPROTO_IP, option, request, request.length);
    } catch (error) {
      // Linux says EADDRNOTAVAIL; the seam (and the simulation) says EINVAL.
      if (option === IP_DROP_MEMBERSHIP && errnoCode(error) === 'EADDRNOTAVAIL') {
        throw rawSocketError('EINVAL', `not a member of ${group} on ${iface}`, 'setsockopt');
      }
      throw nativeError(error, `${name} ${group} on ${iface}`, 'setsockopt');
    }
  }

  #onNativeEvent(event: string, args: unknown[]): void {
    if (this.#closed) return;
    if (event === 'recvReady') {
      this.#receiveOne();
    } else if (event === 'error') {
      // libuv reports a poll failure as an Error whose message is its negative errno.
      const status = Number((args[0] as Error | undefined)?.message);
      const code = Number.isInteger(status) && status < 0 ? getSystemErrorName(status) : 'EIO';
      this.emit('error', rawSocketError(code, 'raw socket poll failed', 'poll'));
    }
  }

  /** One recvfrom() per readiness event: libuv polls level-triggered and calls again while more wait. */
  #receiveOne(): void {
    let datagram: Buffer | undefined;
    try {
      this.#receiver.recv(this.#receiveBuffer, (buffer, bytes) => {
        // The receive buffer is reused: copy before handing anything out.
        datagram = Buffer.from(buffer.subarray(0, bytes));
      });
    } catch (error) {
      const code = errnoCode(error);
      if (code === 'EAGAIN' || code === 'EINTR') return;
      this.emit('error', nativeError(error, 'recvfrom', 'recvfrom'));
      return;
    }
    if (datagram === undefined) return;
    const packet = parseReceived(datagram, this.protocol);
    if (packet === undefined) {
      this.#malformedReceivedCount += 1;
      return;
    }
    const info: RawPacketInfo = {
      source: packet.fields.source,
      destination: packet.fields.destination,
      ttl: packet.fields.ttl,
      protocol: packet.fields.protocol,
      iface: this.#arrivalIface(packet.fields),
      header: packet.header,
    };
    this.emit('message', packet.payload, info);
  }

  /** The bound interface; else the one interface where this socket joined the group; else a guess from the source. */
  #arrivalIface(fields: Ipv4Header): string {
    if (this.iface !== undefined) return this.iface;
    const joined = new Set(this.#memberships.filter((entry) => entry.group === fields.destination).map((entry) => entry.iface));
    if (joined.size === 1) return [...joined][0] as string;
    return this.#host.ifaceForSource(fields.source) ?? '';
  }
}

/** Splits what an IPv4 raw socket delivers into header and payload; undefined if it is not a well-formed datagram of `protocol`. */
export function parseReceived(datagram: Buffer, protocol: number): { fields: Ipv4Header; header: Buffer; payload: Buffer } | undefined {
  let fields: Ipv4Header;
  try {
    fields = decodeIpv4Header(datagram);
  } catch (error) {
    if (error instanceof Ipv4HeaderError) return undefined;
    throw error;
  }
  if (fields.protocol !== protocol) return undefined;
  if (fields.totalLength < fields.headerLength || fields.totalLength > datagram.length) return undefined;
  return {
    fields,
    header: datagram.subarray(0, fields.headerLength),
    payload: datagram.subarray(fields.headerLength, fields.totalLength),
  };
}

function openNative(binding: RawSocketBinding, protocol: number): NativeRawSocket {
  let socket: NativeRawSocket;
  try {
    socket = new binding.SocketWrap(protocol, ADDON_FAMILY_IPV4);
  } catch (error) {
    if (errnoCode(error) === 'EPERM') {
      throw rawSocketError('EPERM', `raw IP sockets need root or CAP_NET_RAW: socket(AF_INET, SOCK_RAW, ${protocol}): ${(error as Error).message}`, 'socket');
    }
    throw nativeError(error, `socket(AF_INET, SOCK_RAW, ${protocol})`, 'socket');
  }
  // The addon calls emit() on the socket (close() does at once); the RawSocket replaces this.
  socket.emit = () => undefined;
  return socket;
}

function bindToDevice(socket: NativeRawSocket, iface: string): void {
  const name = Buffer.from(`${iface}\0`, 'utf8');
  try {
    socket.setOption(SOL_SOCKET, SO_BINDTODEVICE, name, name.length);
  } catch (error) {
    if (errnoCode(error) === 'ENODEV') throw rawSocketError('ENODEV', `no interface named ${JSON.stringify(iface)}`, 'setsockopt');
    throw nativeError(error, `SO_BINDTODEVICE ${iface}`, 'setsockopt');
  }
}

function setIntOption(socket: NativeRawSocket, level: number, option: number, value: number, name: string): void {
  try {
    socket.setOption(level, option, value);
  } catch (error) {
    throw nativeError(error, `${name} ${value}`, 'setsockopt');
  }
}

function setBufferOption(socket: NativeRawSocket, level: number, option: number, value: Buffer, name: string): void {
  try {
    socket.setOption(level, option, value, value.length);
  } catch (error) {
    throw nativeError(error, name, 'setsockopt');
  }
}

/** struct ip_mreqn { in_addr imr_multiaddr; in_addr imr_address = 0; int imr_ifindex; }: the ifindex in host byte order. */
function ipMreqn(group: string, ifindex: number): Buffer {
  const request = Buffer.alloc(IP_MREQN_BYTES);
  ipv4ToBytes(group).copy(request, 0);
  if (os.endianness() === 'LE') request.writeInt32LE(ifindex, 8);
  else request.writeInt32BE(ifindex, 8);
  return request;
}

/** Linux's rule for interface names (dev_valid_name): 1–15 bytes, not '.' or '..', no '/', ':' or white space. */
function checkIfaceName(iface: string, syscall: string): void {
  const valid = iface.length > 0 && Buffer.byteLength(iface) < 16 && iface !== '.' && iface !== '..' && !/[/:\s\0]/.test(iface);
  if (!valid) throw rawSocketError('EINVAL', `not an interface name: ${JSON.stringify(iface)}`, syscall);
}

function checkIpv4(address: string, syscall: string): void {
  try {
    ipv4ToBytes(address);
  } catch {
    throw rawSocketError('EINVAL', `not an IPv4 address: ${JSON.stringify(address)}`, syscall);
  }
}

function isMulticast(address: string): boolean {
  const first = ipv4ToBytes(address)[0] as number;
  return first >= 224 && first <= 239;
}

function ipv4Number(address: string): number {
  return ipv4ToBytes(address).readUInt32BE(0);
}

function sameSubnet(a: number, b: number, prefixLength: number): boolean {
  if (prefixLength <= 0) return true;
  const shift = 32 - Math.min(prefixLength, 32);
  return Math.floor(a / 2 ** shift) === Math.floor(b / 2 ** shift);
}

// The addon throws Error(strerror(errno)) with no code: map glibc's messages
// back to errno names, then libuv's wording of the same errors.
const glibcMessageCodes: Readonly<Record<string, string>> = {
  'Operation not permitted': 'EPERM',
  'Permission denied': 'EACCES',
  'No such device': 'ENODEV',
  'Invalid argument': 'EINVAL',
  'Bad file descriptor': 'EBADF',
  'Network is unreachable': 'ENETUNREACH',
  'No route to host': 'EHOSTUNREACH',
  'Cannot assign requested address': 'EADDRNOTAVAIL',
  'Address already in use': 'EADDRINUSE',
  'Message too long': 'EMSGSIZE',
  'Resource temporarily unavailable': 'EAGAIN',
  'No buffer space available': 'ENOBUFS',
  'Interrupted system call': 'EINTR',
  'Protocol not supported': 'EPROTONOSUPPORT',
  'Protocol not available': 'ENOPROTOOPT',
  'Too many open files': 'EMFILE',
};

let libuvMessageCodes: Map<string, string> | undefined;

function errnoCode(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const known = glibcMessageCodes[error.message];
  if (known !== undefined) return known;
  libuvMessageCodes ??= new Map([...getSystemErrorMap().values()].map(([name, message]) => [message.toLowerCase(), name]));
  return libuvMessageCodes.get(error.message.toLowerCase());
}

function nativeError(error: unknown, what: string, syscall: string): PlatformError {
  const message = error instanceof Error ? error.message : String(error);
  return rawSocketError(errnoCode(error) ?? 'EIO', `${what}: ${message}`, syscall);
}

/**
 * A PlatformError with an errno name. The seam's PlatformErrorCode does not
 * list EPERM, ENODEV and a few more that only raw sockets raise yet; the
 * cast keeps them the errno names Node itself would use.
 */
function rawSocketError(code: string, message: string, syscall: string): PlatformError {
  return new PlatformError(code as PlatformErrorCode, message, { syscall });
}
