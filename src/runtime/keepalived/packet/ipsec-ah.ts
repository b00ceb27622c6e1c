// The IPsec AH header (RFC 2402 §2) keepalived puts between the IPv4 header
// and a VRRPv2 message with `auth_type AH`:
//
//   0      next header: 112 (VRRP)
//   1      payload length: 4 (32-bit words of AH, minus 2)
//   2..3   reserved, zero
//   4..7   SPI: the sender's IPv4 source address (there is no SA negotiation)
//   8..11  sequence number
//   12..23 ICV: HMAC-MD5 truncated to 96 bits
//
// The ICV covers the IPv4 header with its mutable fields zeroed (tos,
// flags/fragment offset, header checksum; and TTL when unicast peers are
// configured, since routers may decrement it), then the AH header with the
// ICV zeroed, then the VRRP message. The key is the 8-byte zero-padded
// auth_pass. Header options, if any, are covered as they are.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const IP_PROTOCOL_AH = 51;
export const AH_HEADER_BYTES = 24;
/** (AH length in 32-bit words) − 2, for a 96-bit ICV. */
export const AH_PAYLOAD_LENGTH = 4;
const AH_ICV_OFFSET = 12;
const AH_ICV_BYTES = 12;

export interface AhFields {
  nextHeader: number;
  spi: Buffer;
  sequence: number;
}

/** The AH header with a zero ICV, to be filled by `writeAhIcv`. */
export function encodeAhHeader(fields: AhFields): Buffer {
  const ah = Buffer.alloc(AH_HEADER_BYTES);
  ah[0] = fields.nextHeader;
  ah[1] = AH_PAYLOAD_LENGTH;
  fields.spi.copy(ah, 4, 0, 4);
  ah.writeUInt32BE(fields.sequence, 8);
  return ah;
}

/** Computes the ICV over `ipHeader`, `ah` and `message` and stores it in `ah`. */
export function writeAhIcv(ipHeader: Buffer, ah: Buffer, message: Buffer, key: Buffer, unicast: boolean): void {
  ahIcv(ipHeader, ah, message, key, unicast).copy(ah, AH_ICV_OFFSET);
}

/** Whether the ICV in `ah` is right for the rest; constant-time, as keepalived compares it. */
export function ahIcvMatches(ipHeader: Buffer, ah: Buffer, message: Buffer, key: Buffer, unicast: boolean): boolean {
  return timingSafeEqual(ahIcv(ipHeader, ah, message, key, unicast), ah.subarray(AH_ICV_OFFSET, AH_ICV_OFFSET + AH_ICV_BYTES));
}

function ahIcv(ipHeader: Buffer, ah: Buffer, message: Buffer, key: Buffer, unicast: boolean): Buffer {
  const header = Buffer.from(ipHeader);
  header[1] = 0; // tos
  header.writeUInt16BE(0, 6); // flags and fragment offset
  header.writeUInt16BE(0, 10); // header checksum
  if (unicast) header[8] = 0; // TTL: only multicast adverts are pinned to 255
  const ahZeroIcv = Buffer.from(ah.subarray(0, AH_HEADER_BYTES));
  ahZeroIcv.fill(0, AH_ICV_OFFSET);
  return createHmac('md5', key).update(header).update(ahZeroIcv).update(message).digest().subarray(0, AH_ICV_BYTES);
}
