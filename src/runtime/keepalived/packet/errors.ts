// Errors from building adverts. They are programming or configuration
// mistakes (a received packet never throws: see advert-check.ts), so each
// carries a stable code and the field at fault.
export type VrrpPacketErrorCode =
  /** An advert interval the version's field cannot carry. */
  | 'ERR_VRRP_BAD_INTERVAL'
  /** A header field out of its range: vrid, priority, addresses, ttl, identification, sequence. */
  | 'ERR_VRRP_BAD_FIELD'
  /** Authentication keepalived would not send: with VRRPv3, or without a password. */
  | 'ERR_VRRP_BAD_AUTH';

export class VrrpPacketError extends Error {
  readonly code: VrrpPacketErrorCode;
  /** The field at fault, e.g. "advertIntervalMs". */
  readonly field: string;

  constructor(code: VrrpPacketErrorCode, field: string, problem: string) {
    super(`${code}: ${field}: ${problem}`);
    this.name = 'VrrpPacketError';
    this.code = code;
    this.field = field;
  }
}
