// What travels on simulated wires. Packets are plain objects, treated as
// immutable once sent: a NAT rewrite or a duplicate makes a copy.
import type { Ipv4 } from './ip.js';

export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_AH = 51;
export const IPPROTO_VRRP = 112;

export const IPV4_HEADER_BYTES = 20;
export const TCP_HEADER_BYTES = 20;
export const UDP_HEADER_BYTES = 8;
export const ETHERNET_HEADER_BYTES = 14;
export const ARP_BYTES = 28;

export const TCP_FIN = 1;
export const TCP_SYN = 2;
export const TCP_RST = 4;
export const TCP_ACK = 16;

export interface TcpSegment {
  readonly sourcePort: number;
  readonly destinationPort: number;
  /** Sequence numbers are unbounded integers (no 2^32 wrap in the simulation). */
  readonly seq: number;
  readonly ack: number;
  readonly flags: number;
  readonly windowBytes: number;
  readonly data: Buffer | undefined;
}

export interface UdpDatagram {
  readonly sourcePort: number;
  readonly destinationPort: number;
  readonly data: Buffer;
}

export interface IpPacket {
  /** Unique within a run; a duplicate keeps the id of its original. */
  readonly id: number;
  readonly source: Ipv4;
  readonly destination: Ipv4;
  readonly ttl: number;
  readonly protocol: number;
  /** The host whose stack built this packet: end-to-end partitions are judged on it. */
  readonly originHost: string;
  readonly tcp?: TcpSegment;
  readonly udp?: UdpDatagram;
  /** Payload of any other IP protocol (VRRP, AH). */
  readonly raw?: Buffer;
  /** IP identification, when the sender built its own header (IP_HDRINCL); AH authenticates it. */
  readonly ipId?: number;
}

export interface ArpMessage {
  readonly op: 'request' | 'reply';
  readonly senderMac: string;
  readonly senderIp: Ipv4;
  readonly targetMac: string;
  readonly targetIp: Ipv4;
}

export const BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff';

export interface Frame {
  readonly sourceMac: string;
  readonly destinationMac: string;
  readonly ip?: IpPacket;
  readonly arp?: ArpMessage;
}

export function ipPacketBytes(packet: IpPacket): number {
  if (packet.tcp !== undefined) return IPV4_HEADER_BYTES + TCP_HEADER_BYTES + (packet.tcp.data?.length ?? 0);
  if (packet.udp !== undefined) return IPV4_HEADER_BYTES + UDP_HEADER_BYTES + packet.udp.data.length;
  return IPV4_HEADER_BYTES + (packet.raw?.length ?? 0);
}

export function frameBytes(frame: Frame): number {
  return ETHERNET_HEADER_BYTES + (frame.ip !== undefined ? ipPacketBytes(frame.ip) : ARP_BYTES);
}

export function isMulticastMac(mac: string): boolean {
  // The low bit of the first octet marks group addresses (broadcast included).
  return (parseInt(mac.slice(0, 2), 16) & 1) === 1;
}

/** 01:00:5e + low 23 bits of the group address (RFC 1112). */
export function multicastMac(group: Ipv4): string {
  const hex = (n: number): string => n.toString(16).padStart(2, '0');
  return `01:00:5e:${hex((group >>> 16) & 0x7f)}:${hex((group >>> 8) & 0xff)}:${hex(group & 0xff)}`;
}

export function tcpFlagsText(flags: number): string {
  let text = '';
  if (flags & TCP_SYN) text += 'S';
  if (flags & TCP_FIN) text += 'F';
  if (flags & TCP_RST) text += 'R';
  if (flags & TCP_ACK) text += '.';
  return text;
}
