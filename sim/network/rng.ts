// Seeded, splittable PRNG. Every stream is derived from (root seed, label
// path), never from how many numbers a parent has drawn, so adding a host or a
// draw in one place does not perturb the randomness of any other host or link.
import { createHash } from 'node:crypto';
import type { Random } from '../../src/runtime/platform/types.js';

const TWO_POW_32 = 0x1_0000_0000;
/** Byte order of this machine: bytes() must give the same output everywhere. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** sfc32: small, fast, passes PractRand to 2^39+ bytes; plenty for simulation. */
export class Rng implements Random {
  readonly path: string;
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  private constructor(path: string) {
    this.path = path;
    const digest = createHash('sha256').update(path).digest();
    this.a = digest.readUInt32LE(0);
    this.b = digest.readUInt32LE(4);
    this.c = digest.readUInt32LE(8);
    this.d = digest.readUInt32LE(12);
    // Warm up so that similar paths decorrelate fully.
    for (let i = 0; i < 12; i++) this.uint32();
  }

  static fromSeed(seed: number): Rng {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new RangeError(`seed must be a non-negative safe integer, got ${seed}`);
    }
    return new Rng(`pf9lab/${seed}`);
  }

  /** An independent stream named `label` under this one. */
  fork(label: string): Rng {
    return new Rng(`${this.path}/${label}`);
  }

  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  float(): number {
    // 53 random bits.
    const high = this.uint32() >>> 5;
    const low = this.uint32() >>> 6;
    return (high * 67108864 + low) / 9007199254740992;
  }

  int(maxExclusive: number): number {
    if (!Number.isSafeInteger(maxExclusive) || maxExclusive <= 0) {
      throw new RangeError(`int(maxExclusive) needs a positive safe integer, got ${maxExclusive}`);
    }
    if (maxExclusive <= TWO_POW_32) {
      // Rejection sampling removes modulo bias.
      const limit = TWO_POW_32 - (TWO_POW_32 % maxExclusive);
      for (;;) {
        const value = this.uint32();
        if (value < limit) return value % maxExclusive;
      }
    }
    return Math.floor(this.float() * maxExclusive);
  }

  /** Uniform integer in [min, max]. */
  range(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  chance(probability: number): boolean {
    return probability > 0 && this.float() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick() from an empty list');
    return items[this.int(items.length)] as T;
  }

  /** Standard normal via Box–Muller. */
  normal(): number {
    const u = 1 - this.float();
    const v = this.float();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  bytes(length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    const words = length >>> 2;
    if (LITTLE_ENDIAN && out.byteOffset % 4 === 0) {
      // Same bytes as writeUInt32LE below, several times faster for bulk payloads.
      const view = new Uint32Array(out.buffer, out.byteOffset, words);
      for (let i = 0; i < words; i++) view[i] = this.uint32();
    } else {
      for (let i = 0; i < words; i++) out.writeUInt32LE(this.uint32(), i * 4);
    }
    let i = words * 4;
    if (i < length) {
      const last = this.uint32();
      for (let k = 0; i < length; i++, k++) out[i] = (last >>> (8 * k)) & 0xff;
    }
    return out;
  }
}
