// The call and return entries of a history in time order, as a doubly linked
// list from which an operation is "lifted" (both its entries unlinked) when the
// search linearizes it, and "unlifted" (relinked in place) when the search
// backs out. Lifts are undone strictly last-in first-out, so an unlinked entry
// keeps its own prev/next and relinking is O(1) (Knuth's dancing links).

export interface EntrySource {
  /** Number of operations; operation ids are 0..count-1. */
  readonly count: number;
  readonly invokeMs: ArrayLike<number>;
  /** NaN: this operation has no return entry in this list. */
  readonly returnMs: ArrayLike<number>;
  /** Operations to leave out of this list entirely. */
  include(op: number): boolean;
}

export class EntryList {
  readonly head: number;
  readonly tail: number;
  readonly next: Int32Array;
  readonly prev: Int32Array;
  /** Per entry: its operation. */
  readonly opOf: Int32Array;
  /** Per entry: 1 for a return entry. */
  readonly isReturn: Uint8Array;
  /** Per entry: the time it happened. */
  readonly timeMs: Float64Array;
  private readonly callOf: Int32Array;
  private readonly returnOf: Int32Array;

  constructor(source: EntrySource) {
    const order: number[] = [];
    // Entry code 2*op is op's call and 2*op+1 its return, until sorted.
    for (let op = 0; op < source.count; op++) {
      if (!source.include(op)) continue;
      order.push(2 * op);
      if (!Number.isNaN(source.returnMs[op] as number)) order.push(2 * op + 1);
    }
    const timeOfCode = (code: number): number => ((code & 1) === 0 ? source.invokeMs[code >> 1] : source.returnMs[code >> 1]) as number;
    // At equal times calls come first: an operation invoked at the instant another
    // returned counts as concurrent with it, which can only accept more histories,
    // never reject a correct one because of clock granularity.
    order.sort((a, b) => timeOfCode(a) - timeOfCode(b) || (a & 1) - (b & 1) || a - b);

    const entries = order.length;
    this.head = entries;
    this.tail = entries + 1;
    this.next = new Int32Array(entries + 2);
    this.prev = new Int32Array(entries + 2);
    this.opOf = new Int32Array(entries);
    this.isReturn = new Uint8Array(entries);
    this.timeMs = new Float64Array(entries);
    this.callOf = new Int32Array(source.count).fill(-1);
    this.returnOf = new Int32Array(source.count).fill(-1);
    order.forEach((code, entry) => {
      const op = code >> 1;
      this.opOf[entry] = op;
      this.isReturn[entry] = code & 1;
      this.timeMs[entry] = timeOfCode(code);
      if ((code & 1) === 0) this.callOf[op] = entry;
      else this.returnOf[op] = entry;
    });
    let previous = this.head;
    for (let entry = 0; entry < entries; entry++) {
      this.next[previous] = entry;
      this.prev[entry] = previous;
      previous = entry;
    }
    this.next[previous] = this.tail;
    this.prev[this.tail] = previous;
    this.prev[this.head] = -1;
    this.next[this.tail] = -1;
  }

  first(): number {
    return this.next[this.head] as number;
  }

  callEntry(op: number): number {
    const entry = this.callOf[op] as number;
    if (entry < 0) throw new Error(`invariant: operation ${op} has a call entry in this list`);
    return entry;
  }

  lift(op: number): void {
    this.unlink(this.callEntry(op));
    const returned = this.returnOf[op] as number;
    if (returned >= 0) this.unlink(returned);
  }

  /** Undoes the most recent lift, which must have been of `op`. */
  unlift(op: number): void {
    const returned = this.returnOf[op] as number;
    if (returned >= 0) this.relink(returned);
    this.relink(this.callEntry(op));
  }

  private unlink(entry: number): void {
    const before = this.prev[entry] as number;
    const after = this.next[entry] as number;
    this.next[before] = after;
    this.prev[after] = before;
  }

  private relink(entry: number): void {
    this.next[this.prev[entry] as number] = entry;
    this.prev[this.next[entry] as number] = entry;
  }
}
