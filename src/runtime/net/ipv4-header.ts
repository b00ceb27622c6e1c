// The IPv4 header (RFC 791) and the Internet checksum (RFC 1071), for code
// that builds whole datagrams itself: keepalived's adverts (AH authenticates
// the header) and the simulated and real raw sockets that carry them.

export const IPV4_HEADER_BYTES_MIN = 20;
const IPV4_HEADER_BYTES_MAX = 60;

export interface Ipv4Header {
  /** Bytes, including options: 20 to 60. */
  headerLength: number;
  tos: number;
  totalLength: number;
  identification: number;
  /** Flags (3 bits) and fragment offset (13 bits), as on the wire. */
  flagsFragment: number;
  ttl: number;
  protocol: number;
  checksum: number;
  source: string;
  destination: string;
}

export type Ipv4HeaderFields = Omit<Ipv4Header, 'headerLength' | 'checksum'>;

export class Ipv4HeaderError extends Error {
  readonly code = 'ERR_IPV4_HEADER';
  constructor(message: string) {
    super(message);
    this.name = 'Ipv4HeaderError';
  }
}

/** One's-complement sum of 16-bit words, folded and complemented; odd tails pad with zero. */
export function internetChecksum(...parts: readonly Buffer[]): number {
  let sum = 0;
  let carryByte: number | undefined;
  for (const part of parts) {
    let i = 0;
    if (carryByte !== undefined && part.length > 0) {
      sum += (carryByte << 8) | part[0]!;
      carryByte = undefined;
      i = 1;
    }
    for (; i + 1 < part.length; i += 2) sum += (part[i]! << 8) | part[i + 1]!;
    if (i < part.length) carryByte = part[i]!;
  }
  if (carryByte !== undefined) sum += carryByte << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

const DOTTED_QUAD = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function ipv4ToBytes(address: string): Buffer {
  if (!DOTTED_QUAD.test(address)) throw new Ipv4HeaderError(`not an IPv4 address: ${JSON.stringify(address)}`);
  return Buffer.from(address.split('.').map(Number));
}

export function ipv4FromBytes(bytes: Buffer, offset = 0): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

/** Orders two dotted addresses as unsigned 32-bit numbers (VRRP's tie-break). */
export function compareIpv4(a: string, b: string): number {
  return ipv4ToBytes(a).compare(ipv4ToBytes(b));
}

/** A 20-byte header (no options) with its checksum filled in. */
export function encodeIpv4Header(fields: Ipv4HeaderFields): Buffer {
  const header = Buffer.alloc(IPV4_HEADER_BYTES_MIN);
  checkField('tos', fields.tos, 0xff);
  checkField('totalLength', fields.totalLength, 0xffff);
  checkField('identification', fields.identification, 0xffff);
  checkField('flagsFragment', fields.flagsFragment, 0xffff);
  checkField('ttl', fields.ttl, 0xff);
  checkField('protocol', fields.protocol, 0xff);
  if (fields.totalLength < IPV4_HEADER_BYTES_MIN) throw new Ipv4HeaderError(`totalLength ${fields.totalLength} is shorter than the header`);
  header[0] = 0x45;
  header[1] = fields.tos;
  header.writeUInt16BE(fields.totalLength, 2);
  header.writeUInt16BE(fields.identification, 4);
  header.writeUInt16BE(fields.flagsFragment, 6);
  header[8] = fields.ttl;
  header[9] = fields.protocol;
  ipv4ToBytes(fields.source).copy(header, 12);
  ipv4ToBytes(fields.destination).copy(header, 16);
  header.writeUInt16BE(internetChecksum(header), 10);
  return header;
}

/** Parses the header at the start of `datagram`; does not verify the checksum (see `ipv4HeaderChecksumOk`). */
export function decodeIpv4Header(datagram: Buffer): Ipv4Header {
  if (datagram.length < IPV4_HEADER_BYTES_MIN) {
    throw new Ipv4HeaderError(`datagram of ${datagram.length} bytes is shorter than an IPv4 header`);
  }
  const version = datagram[0]! >> 4;
  if (version !== 4) throw new Ipv4HeaderError(`IP version ${version}, expected 4`);
  const headerLength = (datagram[0]! & 0x0f) * 4;
  if (headerLength < IPV4_HEADER_BYTES_MIN || headerLength > IPV4_HEADER_BYTES_MAX || headerLength > datagram.length) {
    throw new Ipv4HeaderError(`header length ${headerLength} does not fit a ${datagram.length}-byte datagram`);
  }
  return {
    headerLength,
    tos: datagram[1]!,
    totalLength: datagram.readUInt16BE(2),
    identification: datagram.readUInt16BE(4),
    flagsFragment: datagram.readUInt16BE(6),
    ttl: datagram[8]!,
    protocol: datagram[9]!,
    checksum: datagram.readUInt16BE(10),
    source: ipv4FromBytes(datagram, 12),
    destination: ipv4FromBytes(datagram, 16),
  };
}

export function ipv4HeaderChecksumOk(header: Buffer): boolean {
  return internetChecksum(header) === 0;
}

function checkField(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new Ipv4HeaderError(`${name} must be an integer in [0, ${max}], got ${value}`);
  }
}
