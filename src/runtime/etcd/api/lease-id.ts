// etcd lease IDs are signed 64-bit integers, and a real etcd hands out IDs
// near 2^62 (its ID generator puts the member ID in the top bits), beyond a
// JS number's exact range. So the model carries them as canonical decimal
// strings, the way the gateway's JSON carries every int64. '0' is "no lease".

/** A lease ID: a signed int64 as a canonical decimal string ('0', '7', '-3', '7587869461395486466'). */
export type LeaseId = string;

export const NO_LEASE: LeaseId = '0';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const CANONICAL = /^(0|-?[1-9][0-9]{0,18})$/;

export function isLeaseId(value: unknown): value is LeaseId {
  if (typeof value !== 'string' || !CANONICAL.test(value)) return false;
  const n = BigInt(value);
  return n >= INT64_MIN && n <= INT64_MAX;
}

/** Orders lease IDs as the int64s they are (a LEASE compare in a txn needs it). */
export function compareLeaseIds(a: LeaseId, b: LeaseId): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
