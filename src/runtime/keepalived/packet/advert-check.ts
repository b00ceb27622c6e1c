// Checks a received advert the way keepalived 2.2's vrrp_check_packet does,
// in its order, for what needs no instance state. The caller still owns
// what does: the VRID lookup, the AH replay check on the sequence number,
// the v2 advert-interval match and the address list (it gets what it needs
// in the result). Before keepalived, the kernel has already dropped
// datagrams with a broken IPv4 header; that is checked here too, first.
//
// Received bytes are untrusted: this never throws, whatever they are.
import { timingSafeEqual } from 'node:crypto';
import { internetChecksum, IPV4_HEADER_BYTES_MIN, ipv4FromBytes } from '../../net/ipv4-header.js';
import { authKey, effectiveAuthType } from './auth-key.js';
import { AH_HEADER_BYTES, ahIcvMatches, IP_PROTOCOL_AH } from './ipsec-ah.js';
import { VRRP_IP_TTL } from './advert-datagram.js';
import {
  AUTH_TYPE_CODES,
  decodeVrrpFields,
  IP_PROTOCOL_VRRP,
  VRRP_HEADER_BYTES,
  VRRP_TYPE_ADVERTISEMENT,
  vrrpChecksum,
  vrrpMessageBytes,
  type VrrpAdvert,
  type VrrpAuthType,
} from './vrrp-message.js';

/** Stable codes, in the order the checks run. */
export const ADVERT_DROP_REASONS = [
  /** Not IPv4, a header length that disagrees with the bytes, or a bad header checksum (the kernel's checks). */
  'bad-ip-header',
  /** Neither VRRP (112) nor AH (51). */
  'bad-protocol',
  /** Shorter than the IPv4 header, [AH header,] and the 8-byte VRRP header. */
  'too-short',
  /** An AH header without AH configured or the reverse, or a v2 auth type field other than the configured one. */
  'auth-type-mismatch',
  /** The address count asks for more bytes than arrived. */
  'address-count',
  /** More bytes than the address count accounts for, or an IPv4 total length that disagrees with the bytes. */
  'length-mismatch',
  /** A multicast advert whose TTL is not 255 (unicast adverts are not checked). */
  'bad-ttl',
  /** The VRRP version is not the configured one. */
  'bad-version',
  /** A v2 auth type that is not 0, 1 or 2. */
  'invalid-auth-type',
  /** A simple password that differs from auth_pass. */
  'bad-password',
  /** An AH header protecting another protocol: keepalived drops it without a word. */
  'ah-next-header',
  /** An AH ICV that does not match: a wrong auth_pass, or bytes changed in flight. */
  'bad-ah-icv',
  /** An AH SPI other than the IPv4 source address. */
  'bad-ah-spi',
  /** A VRRP type other than advertisement (1). */
  'bad-type',
  /** A VRRP checksum that does not verify (v3: with the IPv4 pseudo-header). */
  'bad-checksum',
  /** A multicast destination on a unicast instance, or the reverse. */
  'destination-mismatch',
  /** An advert interval of 0. keepalived has no such check (see checkInterval). */
  'bad-interval',
] as const;

export type AdvertDropReason = (typeof ADVERT_DROP_REASONS)[number];

export interface AdvertExpectation {
  version: 2 | 3;
  /** As configured; a v3 instance, or one with no password, has none (keepalived ignores it). */
  authType: VrrpAuthType;
  password?: Buffer | string | undefined;
  /** Unicast peers configured: no TTL check, AH leaves the TTL out, and the destination must not be multicast. */
  unicast: boolean;
}

export type AdvertCheckResult =
  | { ok: true; advert: VrrpAdvert; source: string; destination: string; ttl: number; ahSequence?: number }
  /** `vrid` is there once the VRRP header could be read, so a caller can tell its own router's drops from others'. */
  | { ok: false; reason: AdvertDropReason; detail: string; vrid?: number };

type Drop = Extract<AdvertCheckResult, { ok: false }>;

interface ReceivedIpHeader {
  protocol: number;
  totalLength: number;
  ttl: number;
  multicast: boolean;
}

/** Judges one received datagram: `header` is its IPv4 header, options included; `payload` is everything after it. */
export function checkAdvert(header: Buffer, payload: Buffer, expect: AdvertExpectation): AdvertCheckResult {
  const ip = checkIpHeader(header);
  if ('reason' in ip) return ip;
  const hasAh = ip.protocol === IP_PROTOCOL_AH;
  const messageOffset = hasAh ? AH_HEADER_BYTES : 0;
  if (payload.length < messageOffset + VRRP_HEADER_BYTES) {
    return drop('too-short', `${payload.length} bytes after the IPv4 header, need ${messageOffset + VRRP_HEADER_BYTES}`);
  }
  const message = payload.subarray(messageOffset);
  const vrid = message[1]!;
  const authType = effectiveAuthType(expect.version, expect.authType, expect.password);
  if (hasAh !== (authType === 'ah')) {
    return drop('auth-type-mismatch', hasAh ? `AH header, but auth type is '${authType}'` : 'no AH header, but auth type is AH', vrid);
  }
  const lengthDrop = checkMessageLength(message, vrid);
  if (lengthDrop !== undefined) return lengthDrop;
  if (!expect.unicast && ip.ttl !== VRRP_IP_TTL) return drop('bad-ttl', `TTL ${ip.ttl}, multicast adverts must have ${VRRP_IP_TTL}`, vrid);
  const version = message[0]! >> 4;
  if (version !== expect.version) return drop('bad-version', `VRRP version ${version}, expected ${expect.version}`, vrid);
  const key = authKey(expect.password);
  if (expect.version === 2) {
    const authDrop = checkV2Auth(header, payload, message, { authType, key, unicast: expect.unicast, totalLength: ip.totalLength });
    if (authDrop !== undefined) return { ...authDrop, vrid };
  }
  const type = message[0]! & 0x0f;
  if (type !== VRRP_TYPE_ADVERTISEMENT) return drop('bad-type', `VRRP type ${type}, expected ${VRRP_TYPE_ADVERTISEMENT}`, vrid);
  const receivedBytes = header.length + payload.length;
  if (ip.totalLength !== receivedBytes) {
    return drop('length-mismatch', `IPv4 total length ${ip.totalLength}, received ${receivedBytes} bytes`, vrid);
  }
  if (vrrpChecksum(message, expect.version, header.subarray(12, 16), header.subarray(16, 20)) !== 0) {
    return drop('bad-checksum', `VRRPv${expect.version} checksum 0x${message.readUInt16BE(6).toString(16)} does not verify`, vrid);
  }
  if (ip.multicast === expect.unicast) {
    return drop('destination-mismatch', `${ip.multicast ? 'multicast' : 'unicast'} destination on a ${expect.unicast ? 'unicast' : 'multicast'} instance`, vrid);
  }
  const advert = decodeVrrpFields(message);
  const intervalDrop = checkInterval(advert);
  if (intervalDrop !== undefined) return intervalDrop;
  const addressing = { source: ipv4FromBytes(header, 12), destination: ipv4FromBytes(header, 16), ttl: ip.ttl };
  return hasAh ? { ok: true, advert, ...addressing, ahSequence: payload.readUInt32BE(8) } : { ok: true, advert, ...addressing };
}

function checkIpHeader(header: Buffer): ReceivedIpHeader | Drop {
  if (header.length < IPV4_HEADER_BYTES_MIN) return drop('too-short', `IPv4 header of ${header.length} bytes`);
  const ipVersion = header[0]! >> 4;
  if (ipVersion !== 4) return drop('bad-ip-header', `IP version ${ipVersion}`);
  const headerBytes = (header[0]! & 0x0f) * 4;
  if (headerBytes < IPV4_HEADER_BYTES_MIN || headerBytes !== header.length) {
    return drop('bad-ip-header', `header length field says ${headerBytes} bytes, the header has ${header.length}`);
  }
  if (internetChecksum(header) !== 0) return drop('bad-ip-header', `IPv4 header checksum 0x${header.readUInt16BE(10).toString(16)} does not verify`);
  const protocol = header[9]!;
  if (protocol !== IP_PROTOCOL_VRRP && protocol !== IP_PROTOCOL_AH) return drop('bad-protocol', `IP protocol ${protocol}`);
  return { protocol, totalLength: header.readUInt16BE(2), ttl: header[8]!, multicast: (header[16]! & 0xf0) === 0xe0 };
}

/** keepalived sizes the message from its own version nibble and address count, and wants exactly that many bytes. */
function checkMessageLength(message: Buffer, vrid: number): Drop | undefined {
  const expectedBytes = vrrpMessageBytes(message[0]! >> 4 === 2 ? 2 : 3, message[3]!);
  if (message.length < expectedBytes) {
    return drop('address-count', `${message[3]} addresses need a ${expectedBytes}-byte VRRP message, got ${message.length}`, vrid);
  }
  if (message.length > expectedBytes) {
    return drop('length-mismatch', `${message.length}-byte VRRP message, ${message[3]} addresses account for ${expectedBytes}`, vrid);
  }
  return undefined;
}

interface V2AuthContext {
  authType: VrrpAuthType;
  key: Buffer;
  unicast: boolean;
  totalLength: number;
}

function checkV2Auth(header: Buffer, payload: Buffer, message: Buffer, context: V2AuthContext): Drop | undefined {
  const code = message[4]!;
  if (!Object.values(AUTH_TYPE_CODES).includes(code)) return drop('invalid-auth-type', `auth type ${code}`);
  if (code !== AUTH_TYPE_CODES[context.authType]) return drop('auth-type-mismatch', `auth type ${code}, expected ${AUTH_TYPE_CODES[context.authType]}`);
  if (context.authType === 'pass') return checkPassword(Buffer.concat([header, payload]), context.totalLength, context.key);
  if (context.authType === 'ah') return checkAh(header, payload, message, context);
  return undefined;
}

/**
 * keepalived reads the password at the IPv4 total length minus 8, before it
 * compares that length with the bytes received: a lying total length makes
 * it read the wrong bytes (here: fail when they are outside the datagram).
 */
function checkPassword(datagram: Buffer, totalLength: number, key: Buffer): Drop | undefined {
  const start = totalLength - key.length;
  if (start < 0 || totalLength > datagram.length) return drop('bad-password', `IPv4 total length ${totalLength} puts the password outside the datagram`);
  if (!timingSafeEqual(datagram.subarray(start, totalLength), key)) return drop('bad-password', 'simple password does not match');
  return undefined;
}

function checkAh(header: Buffer, payload: Buffer, message: Buffer, context: V2AuthContext): Drop | undefined {
  const ah = payload.subarray(0, AH_HEADER_BYTES);
  if (ah[0] !== IP_PROTOCOL_VRRP) return drop('ah-next-header', `AH next header ${ah[0]}, not VRRP`);
  if (!ahIcvMatches(header, ah, message, context.key, context.unicast)) return drop('bad-ah-icv', 'AH HMAC-MD5 does not match: wrong password or changed bytes');
  if (!ah.subarray(4, 8).equals(header.subarray(12, 16))) {
    return drop('bad-ah-spi', `AH SPI 0x${ah.readUInt32BE(4).toString(16)} is not the source address ${ipv4FromBytes(header, 12)}`);
  }
  return undefined;
}

/**
 * Ours, not keepalived's: v2's 0 never gets past the caller's interval match
 * anyway, but keepalived would take a v3 interval of 0 as the master's and
 * time out at once. No keepalived can be configured to send either.
 */
function checkInterval(advert: VrrpAdvert): Drop | undefined {
  if (advert.advertIntervalMs === 0) return drop('bad-interval', `VRRPv${advert.version} advert interval 0`, advert.vrid);
  return undefined;
}

function drop(reason: AdvertDropReason, detail: string, vrid?: number): Drop {
  return vrid === undefined ? { ok: false, reason, detail } : { ok: false, reason, detail, vrid };
}
