// The set of operations the search has linearized so far, in the shape that
// makes the memo cheap. Operations that returned get bits in invoke order, so
// the set is, in practice, a run of full words (everything invoked long ago),
// a short window of mixed words near the frontier, then zeros: the memo
// stores only the window. Operations that never returned get their own small
// bitset, compared by inclusion (memo.ts). A Zobrist hash of the returned part
// is kept up to date on every toggle (two xors), so the memo is probed
// without hashing anything.

const FULL_WORD = 0xffffffff;

export class LinearizedSet {
  /** Bits of the operations that returned, in invoke order. */
  readonly bits: Uint32Array;
  /** Bits of the operations that never returned, in invoke order. */
  readonly pendingBits: Uint32Array;
  /** Words at the start of `bits` that are all ones. */
  fullWords = 0;
  /** One past the last nonzero word of `bits` (at least fullWords). */
  topWord = 0;
  hash1 = 0;
  hash2 = 0;
  /** Per operation: its bit position in `bits` or `pendingBits`. */
  private readonly position: Int32Array;
  private readonly pending: Uint8Array;
  private readonly zobrist1: Int32Array;
  private readonly zobrist2: Int32Array;

  constructor(invokeMs: ArrayLike<number>, pending: Uint8Array) {
    const count = pending.length;
    const order = Array.from({ length: count }, (_, op) => op).sort((a, b) => (invokeMs[a] as number) - (invokeMs[b] as number) || a - b);
    this.position = new Int32Array(count);
    this.pending = pending;
    let returnedCount = 0;
    let pendingCount = 0;
    for (const op of order) this.position[op] = pending[op] === 1 ? pendingCount++ : returnedCount++;
    this.bits = new Uint32Array((returnedCount + 31) >>> 5);
    this.pendingBits = new Uint32Array((pendingCount + 31) >>> 5);
    this.zobrist1 = new Int32Array(count);
    this.zobrist2 = new Int32Array(count);
    // A fixed seed: the hash only decides where the memo looks, never what it
    // answers, and a fixed one keeps step counts the same from run to run.
    let seed = 0x2545f491;
    const next = (): number => {
      // splitmix32
      seed = (seed + 0x9e3779b9) | 0;
      let z = seed;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return z ^ (z >>> 16);
    };
    for (let op = 0; op < count; op++) {
      this.zobrist1[op] = next();
      this.zobrist2[op] = next();
    }
  }

  toggle(op: number): void {
    const position = this.position[op] as number;
    const word = position >>> 5;
    const mask = 1 << (position & 31);
    if (this.pending[op] === 1) {
      this.pendingBits[word] = (this.pendingBits[word] as number) ^ mask;
      return;
    }
    this.hash1 ^= this.zobrist1[op] as number;
    this.hash2 ^= this.zobrist2[op] as number;
    const bits = this.bits;
    bits[word] = (bits[word] as number) ^ mask;
    if (((bits[word] as number) & mask) !== 0) {
      if (word >= this.topWord) this.topWord = word + 1;
      while (this.fullWords < bits.length && bits[this.fullWords] === FULL_WORD) this.fullWords++;
    } else {
      if (word < this.fullWords) this.fullWords = word;
      while (this.topWord > this.fullWords && bits[this.topWord - 1] === 0) this.topWord--;
    }
  }
}
