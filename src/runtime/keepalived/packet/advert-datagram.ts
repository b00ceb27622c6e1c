// A whole advert datagram, IPv4 header included, byte for byte as
// keepalived 2.2 sends it with IP_HDRINCL (checked against captures of
// Debian's keepalived 2.2.7 in test/keepalived-packet-capture.test.ts):
// tos 0xc0 (network control), no DF flag, the identification the sender
// chose (keepalived counts from 1 per instance, skipping 0, which would let
// the kernel pick one that AH could not cover), protocol 112, or 51 with the
// AH header in front of the VRRP message.
import { encodeIpv4Header, IPV4_HEADER_BYTES_MIN } from '../../net/ipv4-header.js';
import { authKey } from './auth-key.js';
import { VrrpPacketError } from './errors.js';
import { AH_HEADER_BYTES, encodeAhHeader, IP_PROTOCOL_AH, writeAhIcv } from './ipsec-ah.js';
import { addressBytes, encodeVrrpMessage, IP_PROTOCOL_VRRP, type VrrpAdvert } from './vrrp-message.js';

/** Internetwork control precedence (RFC 791), which keepalived always sets. */
export const VRRP_IP_TOS = 0xc0;
/** Flags and fragment offset: keepalived sets neither DF nor anything else. */
export const VRRP_IP_FLAGS_FRAGMENT = 0;
/** RFC 3768 §5.2.3 / RFC 5798 §5.1.1.3; keepalived also sends 255 to unicast peers unless told otherwise. */
export const VRRP_IP_TTL = 255;

export interface AdvertDatagramOptions {
  advert: VrrpAdvert;
  source: string;
  /** 224.0.0.18, or a unicast peer. */
  destination: string;
  ttl: number;
  /** 1 to 65535: 0 would let the kernel choose, and AH covers this field. */
  identification: number;
  /** The instance's auth_pass, for 'pass' and 'ah'. */
  password?: Buffer | string | undefined;
  /** The AH sequence number; required with 'ah', refused without it. */
  ahSequence?: number | undefined;
  /** Unicast peers configured: AH then leaves the TTL out of its ICV. */
  unicast: boolean;
}

/** The datagram with its IPv4 header checksum filled in; throws VrrpPacketError on fields keepalived would not send. */
export function buildAdvertDatagram(options: AdvertDatagramOptions): Buffer {
  const { advert } = options;
  checkRange('ttl', options.ttl, 1, 0xff);
  checkRange('identification', options.identification, 1, 0xffff);
  const usesAh = advert.authType === 'ah';
  const ahSequence = usesAh ? checkRange('ahSequence', options.ahSequence, 0, 0xffff_ffff) : undefined;
  if (!usesAh && options.ahSequence !== undefined) {
    throw new VrrpPacketError('ERR_VRRP_BAD_FIELD', 'ahSequence', `only an AH advert has a sequence number, this one is '${advert.authType}'`);
  }
  const message = encodeVrrpMessage(advert, options);
  const ahBytes = usesAh ? AH_HEADER_BYTES : 0;
  const header = encodeIpv4Header({
    tos: VRRP_IP_TOS,
    totalLength: IPV4_HEADER_BYTES_MIN + ahBytes + message.length,
    identification: options.identification,
    flagsFragment: VRRP_IP_FLAGS_FRAGMENT,
    ttl: options.ttl,
    protocol: usesAh ? IP_PROTOCOL_AH : IP_PROTOCOL_VRRP,
    source: options.source,
    destination: options.destination,
  });
  if (ahSequence === undefined) return Buffer.concat([header, message]);
  const ah = encodeAhHeader({ nextHeader: IP_PROTOCOL_VRRP, spi: addressBytes('source', options.source), sequence: ahSequence });
  writeAhIcv(header, ah, message, authKey(options.password), options.unicast);
  return Buffer.concat([header, ah, message]);
}

function checkRange(field: string, value: number | undefined, min: number, max: number): number {
  if (value === undefined || !Number.isInteger(value) || value < min || value > max) {
    throw new VrrpPacketError('ERR_VRRP_BAD_FIELD', field, `must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}
