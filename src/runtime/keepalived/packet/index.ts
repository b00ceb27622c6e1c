// The VRRP packet codec, bit-exact with keepalived 2.2 for IPv4: messages,
// whole advert datagrams (with AH when configured), and the receive checks.
export { ADVERT_DROP_REASONS, checkAdvert } from './advert-check.js';
export type { AdvertCheckResult, AdvertDropReason, AdvertExpectation } from './advert-check.js';
export { buildAdvertDatagram, VRRP_IP_FLAGS_FRAGMENT, VRRP_IP_TOS, VRRP_IP_TTL } from './advert-datagram.js';
export type { AdvertDatagramOptions } from './advert-datagram.js';
export { authKey, effectiveAuthType, AUTH_KEY_BYTES } from './auth-key.js';
export { VrrpPacketError } from './errors.js';
export type { VrrpPacketErrorCode } from './errors.js';
export { AH_HEADER_BYTES, IP_PROTOCOL_AH } from './ipsec-ah.js';
export { encodeVrrpMessage, IP_PROTOCOL_VRRP, VRRP_ADDRESS_COUNT_MAX, vrrpMessageBytes } from './vrrp-message.js';
export type { VrrpAdvert, VrrpAuthType, VrrpMessageAddressing } from './vrrp-message.js';
