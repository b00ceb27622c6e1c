// VRRP's timers (RFC 3768 §6.1, RFC 5798 §6.1), in milliseconds with
// fractions: keepalived keeps them in microseconds, so 3.609375 s is exact.

export type VrrpVersion = 2 | 3;

/** Skew_Time: lower priorities wait longer, so the best backup speaks first. */
export function skewTimeMs(version: VrrpVersion, priority: number, masterAdvertIntervalMs: number): number {
  if (!Number.isInteger(priority) || priority < 0 || priority > 255) throw new RangeError(`priority must be in 0..255, got ${priority}`);
  // v2: (256 - priority) / 256 seconds; v3: scaled by the master's interval (centiseconds on the wire).
  return version === 2 ? ((256 - priority) * 1000) / 256 : ((256 - priority) * masterAdvertIntervalMs) / 256;
}

/** Master_Down_Interval = 3 × Master_Adver_Interval + Skew_Time. */
export function masterDownIntervalMs(version: VrrpVersion, priority: number, masterAdvertIntervalMs: number): number {
  return 3 * masterAdvertIntervalMs + skewTimeMs(version, priority, masterAdvertIntervalMs);
}

/**
 * How long a `state MASTER` non-owner listens before taking over at startup:
 * one advert interval plus the smallest skew, keepalived's way of making sure
 * no other master is already speaking.
 */
export function masterStartupWaitMs(version: VrrpVersion, advertIntervalMs: number): number {
  return advertIntervalMs + skewTimeMs(version, 255, advertIntervalMs);
}
