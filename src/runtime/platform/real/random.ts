// Production randomness from the kernel CSPRNG; the simulation substitutes a
// seeded PRNG behind the same interface.
import { randomBytes, randomInt } from 'node:crypto';
import type { Random } from '../types.js';

/** crypto.randomInt accepts ranges below 2^48 only. */
const randomIntRangeMax = 2 ** 48;

export function createRealRandom(): Random {
  return {
    float() {
      // 53 random bits (27 + 26), the full precision of a double in [0, 1).
      const bytes = randomBytes(8);
      const high27 = bytes.readUInt32BE(0) >>> 5;
      const low26 = bytes.readUInt32BE(4) >>> 6;
      return (high27 * 2 ** 26 + low26) / 2 ** 53;
    },

    int(maxExclusive) {
      if (!Number.isSafeInteger(maxExclusive) || maxExclusive < 1 || maxExclusive > randomIntRangeMax) {
        throw new RangeError(`random.int: maxExclusive must be an integer in [1, 2^48], got ${maxExclusive}`);
      }
      return randomInt(maxExclusive);
    },

    uint32() {
      return randomBytes(4).readUInt32BE(0);
    },

    bytes(length) {
      return randomBytes(length);
    },
  };
}
