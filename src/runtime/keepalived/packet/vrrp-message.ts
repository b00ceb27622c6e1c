// The VRRP advertisement itself (RFC 3768 §5.1 for v2, RFC 5798 §5.1 for v3),
// IPv4 only, laid out as keepalived 2.2 lays it out:
//
//   0      version (high nibble) | type (low nibble, 1 = advertisement)
//   1      VRID
//   2      priority
//   3      count of IPv4 addresses
//   4..5   v2: auth type (8 bits), advert interval in seconds (8 bits)
//          v3: 4 reserved bits, max advert interval in centiseconds (12 bits)
//   6..7   checksum
//   8..    the addresses, 4 bytes each
//   v2 only: 8 bytes of authentication data (the simple password, else zero)
//
// The v2 checksum covers the message only; the v3 one also covers the IPv4
// pseudo-header (source, destination, zero, protocol 112, message length).
import { internetChecksum, ipv4FromBytes, Ipv4HeaderError, ipv4ToBytes } from '../../net/ipv4-header.js';
import { authKey, AUTH_KEY_BYTES, effectiveAuthType } from './auth-key.js';
import { VrrpPacketError } from './errors.js';

export const IP_PROTOCOL_VRRP = 112;
export const VRRP_HEADER_BYTES = 8;
export const VRRP_V2_AUTH_DATA_BYTES = AUTH_KEY_BYTES;
export const VRRP_TYPE_ADVERTISEMENT = 1;
/** The field is 8 bits. */
export const VRRP_ADDRESS_COUNT_MAX = 255;

const INTERVAL_V2_SECONDS_MAX = 0xff;
const INTERVAL_V3_CENTISECONDS_MAX = 0x0fff;
const MS_PER_SECOND = 1000;
const MS_PER_CENTISECOND = 10;

export type VrrpAuthType = 'none' | 'pass' | 'ah';

/** The v2 auth type field's values (RFC 2338 §5.3.6; RFC 3768 keeps only 0). */
export const AUTH_TYPE_CODES: Readonly<Record<VrrpAuthType, number>> = { none: 0, pass: 1, ah: 2 };

export interface VrrpAdvert {
  version: 2 | 3;
  vrid: number;
  /** 0 means the master resigns; 255 means the address owner. */
  priority: number;
  /** v2: whole seconds, 1 to 255; v3: whole centiseconds, 1 to 4095. */
  advertIntervalMs: number;
  /** The virtual IPv4 addresses, in order. */
  addresses: string[];
  /** v2 only; a v3 advert is always 'none'. */
  authType: VrrpAuthType;
}

export interface VrrpMessageAddressing {
  /** IPv4 source and destination: the v3 checksum covers them. */
  source: string;
  destination: string;
  /** v2 'pass' sends it; v2 'ah' keys the ICV with it (see advert-datagram.ts). */
  password?: Buffer | string | undefined;
}

/** Bytes of a message with `addressCount` addresses. */
export function vrrpMessageBytes(version: 2 | 3, addressCount: number): number {
  return VRRP_HEADER_BYTES + 4 * addressCount + (version === 2 ? VRRP_V2_AUTH_DATA_BYTES : 0);
}

/** The message with its checksum; throws VrrpPacketError when a field cannot be sent. */
export function encodeVrrpMessage(advert: VrrpAdvert, addressing: VrrpMessageAddressing): Buffer {
  checkAdvertFields(advert, addressing.password);
  const sourceBytes = addressBytes('source', addressing.source);
  const destinationBytes = addressBytes('destination', addressing.destination);
  const message = Buffer.alloc(vrrpMessageBytes(advert.version, advert.addresses.length));
  message[0] = (advert.version << 4) | VRRP_TYPE_ADVERTISEMENT;
  message[1] = advert.vrid;
  message[2] = advert.priority;
  message[3] = advert.addresses.length;
  if (advert.version === 2) {
    message[4] = AUTH_TYPE_CODES[advert.authType];
    message[5] = advert.advertIntervalMs / MS_PER_SECOND;
  } else {
    message.writeUInt16BE(advert.advertIntervalMs / MS_PER_CENTISECOND, 4);
  }
  advert.addresses.forEach((address, index) => addressBytes(`addresses[${index}]`, address).copy(message, VRRP_HEADER_BYTES + 4 * index));
  // With AH the auth data stays zero: the AH header carries the proof.
  if (advert.version === 2 && advert.authType === 'pass') authKey(addressing.password).copy(message, message.length - AUTH_KEY_BYTES);
  message.writeUInt16BE(vrrpChecksum(message, advert.version, sourceBytes, destinationBytes), 6);
  return message;
}

/**
 * The checksum of `message` as it stands (addresses as 4 bytes each): 0 when the message carries a
 * correct one, the value to store when its checksum field is zero.
 */
export function vrrpChecksum(message: Buffer, version: 2 | 3, source: Buffer, destination: Buffer): number {
  if (version === 2) return internetChecksum(message);
  const pseudoHeader = Buffer.alloc(12);
  source.copy(pseudoHeader, 0, 0, 4);
  destination.copy(pseudoHeader, 4, 0, 4);
  pseudoHeader[9] = IP_PROTOCOL_VRRP;
  pseudoHeader.writeUInt16BE(message.length, 10);
  return internetChecksum(pseudoHeader, message);
}

/**
 * The advert in a message whose length already matches its address count.
 * Fields are taken as they are (a VRID of 0, an unknown auth type read as
 * 'none'): judging them is advert-check.ts's job.
 */
export function decodeVrrpFields(message: Buffer): VrrpAdvert {
  const version = message[0]! >> 4 === 3 ? 3 : 2;
  const addressCount = message[3]!;
  const addresses: string[] = [];
  for (let index = 0; index < addressCount; index += 1) addresses.push(ipv4FromBytes(message, VRRP_HEADER_BYTES + 4 * index));
  const authCode = message[4]!;
  return {
    version,
    vrid: message[1]!,
    priority: message[2]!,
    // keepalived ignores v3's reserved bits.
    advertIntervalMs: version === 2 ? message[5]! * MS_PER_SECOND : (message.readUInt16BE(4) & INTERVAL_V3_CENTISECONDS_MAX) * MS_PER_CENTISECOND,
    addresses,
    authType: version === 3 ? 'none' : authCode === AUTH_TYPE_CODES.pass ? 'pass' : authCode === AUTH_TYPE_CODES.ah ? 'ah' : 'none',
  };
}

function checkAdvertFields(advert: VrrpAdvert, password: Buffer | string | undefined): void {
  if (advert.version !== 2 && advert.version !== 3) fieldError('version', `must be 2 or 3, got ${String(advert.version)}`);
  checkInteger('vrid', advert.vrid, 1, 0xff);
  checkInteger('priority', advert.priority, 0, 0xff);
  checkInterval(advert.version, advert.advertIntervalMs);
  if (advert.addresses.length > VRRP_ADDRESS_COUNT_MAX) {
    fieldError('addresses', `at most ${VRRP_ADDRESS_COUNT_MAX} fit the count field, got ${advert.addresses.length}`);
  }
  if (!(advert.authType in AUTH_TYPE_CODES)) throw new VrrpPacketError('ERR_VRRP_BAD_AUTH', 'authType', `unknown auth type ${String(advert.authType)}`);
  // Sending what keepalived would not send would make a peer drop us for a reason the real daemon never shows.
  if (effectiveAuthType(advert.version, advert.authType, password) !== advert.authType) {
    const why = advert.version === 3 ? 'VRRPv3 has no authentication' : 'authentication needs a password whose first byte is not zero';
    throw new VrrpPacketError('ERR_VRRP_BAD_AUTH', 'authType', `'${advert.authType}': ${why}`);
  }
}

/** The 4 bytes of a dotted IPv4 address, or a VrrpPacketError naming the field. */
export function addressBytes(field: string, address: string): Buffer {
  try {
    return ipv4ToBytes(address);
  } catch (error) {
    if (error instanceof Ipv4HeaderError) fieldError(field, error.message);
    throw error;
  }
}

function checkInterval(version: 2 | 3, intervalMs: number): void {
  const [unitMs, unitsMax, unitName] =
    version === 2 ? [MS_PER_SECOND, INTERVAL_V2_SECONDS_MAX, 'seconds'] : [MS_PER_CENTISECOND, INTERVAL_V3_CENTISECONDS_MAX, 'centiseconds'];
  const units = intervalMs / unitMs;
  if (!Number.isInteger(units) || units < 1 || units > unitsMax) {
    throw new VrrpPacketError(
      'ERR_VRRP_BAD_INTERVAL',
      'advertIntervalMs',
      `VRRPv${version} carries whole ${unitName} from 1 to ${unitsMax}, got ${intervalMs} ms`,
    );
  }
}

function checkInteger(field: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) fieldError(field, `must be an integer in [${min}, ${max}], got ${value}`);
}

function fieldError(field: string, problem: string): never {
  throw new VrrpPacketError('ERR_VRRP_BAD_FIELD', field, problem);
}
