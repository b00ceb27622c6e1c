// Lowe's memoization for the Wing–Gong search: every configuration (set of
// linearized operations, model state) the search has entered is remembered,
// and a configuration it has entered before is not explored again, because
// its outcome cannot differ.
//
// Extended with dominance over operations that never returned: such an
// operation is optional (it may take effect at any time after its invoke, or
// never), so a configuration that linearized a subset of them, with the same
// returned operations and the same state, can do everything a configuration
// that linearized more of them can. A stored configuration therefore also
// covers every configuration equal to it on the returned operations and the
// state whose unreturned operations are a superset. With the search's own
// rules for them (wgl-search.ts), this keeps k timed-out writes from costing
// 2^k.
//
// Storage is a chained hash table over flat typed arrays. A slot holds the
// state, two 32-bit keys (the set's hashes mixed with the state: they only
// pick candidates), and in a shared pool the set itself: its count of leading
// full words, its window of mixed words, and the unreturned bitset. Sets and
// states are compared exactly.
import type { LinearizedSet } from './linearized-set.js';

/** Initial table size: enough for a search that never backs out, capped so tiny keys stay cheap. */
const SLOTS_INITIAL_MAX = 1 << 10;
const SLOTS_INITIAL_MIN = 16;
/** Slot header in the pool: leading full words, window length. */
const HEADER_WORDS = 2;

export class LinearizedMemo {
  private readonly pendingWords: number;
  private readonly wordsMax: number;
  private buckets: Int32Array;
  private slots = 0;
  private pool: Uint32Array;
  private poolUsed = 0;
  private offset: Int32Array;
  private key1: Int32Array;
  private key2: Int32Array;
  private state: Int32Array;
  private chain: Int32Array;

  /** `wordsMax` bounds the memory the stored sets take, in 32-bit words. */
  constructor(set: LinearizedSet, opCount: number, wordsMax: number) {
    this.pendingWords = set.pendingBits.length;
    this.wordsMax = Math.min(wordsMax, 0x7fffffff);
    // A power of two, so that a bucket is `key & (length - 1)`.
    let slots = SLOTS_INITIAL_MIN;
    while (slots < SLOTS_INITIAL_MAX && slots < 2 * (opCount + 1)) slots *= 2;
    this.buckets = new Int32Array(slots).fill(-1);
    this.pool = new Uint32Array(slots * (HEADER_WORDS + 2 + this.pendingWords));
    this.offset = new Int32Array(slots);
    this.key1 = new Int32Array(slots);
    this.key2 = new Int32Array(slots);
    this.state = new Int32Array(slots);
    this.chain = new Int32Array(slots);
  }

  get size(): number {
    return this.slots;
  }

  /** True if a stored configuration makes `(set, state)` redundant: equal, or dominating it. */
  covers(set: LinearizedSet, state: number): boolean {
    const k1 = keyOf1(set.hash1, state);
    const k2 = keyOf2(set.hash2, state);
    for (let slot = this.buckets[k1 & (this.buckets.length - 1)] as number; slot >= 0; slot = this.chain[slot] as number) {
      if (this.key1[slot] === k1 && this.key2[slot] === k2 && this.state[slot] === state && this.dominates(slot, set)) return true;
    }
    return false;
  }

  /** Stores `(set, state)`; false when that would pass the memory bound (nothing is stored then). */
  add(set: LinearizedSet, state: number): boolean {
    const window = set.topWord - set.fullWords;
    const words = HEADER_WORDS + window + this.pendingWords;
    if (this.poolUsed + words > this.wordsMax) return false;
    if (this.slots === this.offset.length) this.growSlots();
    if (this.poolUsed + words > this.pool.length) this.growPool(this.poolUsed + words);
    const slot = this.slots++;
    const at = this.poolUsed;
    this.pool[at] = set.fullWords;
    this.pool[at + 1] = window;
    this.pool.set(set.bits.subarray(set.fullWords, set.topWord), at + HEADER_WORDS);
    this.pool.set(set.pendingBits, at + HEADER_WORDS + window);
    this.poolUsed += words;
    this.offset[slot] = at;
    const k1 = keyOf1(set.hash1, state);
    this.key1[slot] = k1;
    this.key2[slot] = keyOf2(set.hash2, state);
    this.state[slot] = state;
    const bucket = k1 & (this.buckets.length - 1);
    this.chain[slot] = this.buckets[bucket] as number;
    this.buckets[bucket] = slot;
    if (this.slots * 4 > this.buckets.length * 3) this.rehash(this.buckets.length * 2);
    return true;
  }

  /** The stored set equals `set` on operations that returned, and holds a subset of its unreturned ones. */
  private dominates(slot: number, set: LinearizedSet): boolean {
    const pool = this.pool;
    let at = this.offset[slot] as number;
    const window = set.topWord - set.fullWords;
    if (pool[at] !== set.fullWords || pool[at + 1] !== window) return false;
    at += HEADER_WORDS;
    const bits = set.bits;
    for (let w = 0; w < window; w++) if (pool[at + w] !== bits[set.fullWords + w]) return false;
    at += window;
    const pendingBits = set.pendingBits;
    for (let w = 0; w < this.pendingWords; w++) if (((pool[at + w] as number) & ~(pendingBits[w] as number)) !== 0) return false;
    return true;
  }

  private growSlots(): void {
    const capacity = this.offset.length * 2;
    this.offset = resized(this.offset, capacity);
    this.key1 = resized(this.key1, capacity);
    this.key2 = resized(this.key2, capacity);
    this.state = resized(this.state, capacity);
    this.chain = resized(this.chain, capacity);
  }

  private growPool(wordsNeeded: number): void {
    const pool = new Uint32Array(Math.max(wordsNeeded, this.pool.length * 2));
    pool.set(this.pool.subarray(0, this.poolUsed));
    this.pool = pool;
  }

  private rehash(bucketCount: number): void {
    this.buckets = new Int32Array(bucketCount).fill(-1);
    for (let slot = 0; slot < this.slots; slot++) {
      const bucket = (this.key1[slot] as number) & (bucketCount - 1);
      this.chain[slot] = this.buckets[bucket] as number;
      this.buckets[bucket] = slot;
    }
  }
}

function resized(array: Int32Array, length: number): Int32Array {
  const copy = new Int32Array(length);
  copy.set(array);
  return copy;
}

function keyOf1(hash: number, state: number): number {
  return hash ^ Math.imul(state + 1, 0x9e3779b1);
}

function keyOf2(hash: number, state: number): number {
  return hash ^ Math.imul(state + 1, 0x85ebca77);
}
