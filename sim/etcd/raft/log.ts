// The replicated log of one node: entries 1..lastIndex held in memory, the
// commit index, and which suffix has not yet been handed to the driver to
// persist. Whole log, no snapshots: bounded by maxLogEntries instead.
import { RaftInvariantError, RaftLogFullError } from './errors.js';
import { describeEntry, type RaftEntry } from './types.js';

export class RaftLog {
  /** entries[i] has index i + 1. */
  private readonly entries: RaftEntry[] = [];
  private committed = 0;
  /** The first index not yet handed out for persistence; lastIndex + 1 when all has been. */
  private unstableFrom = 1;

  constructor(
    private readonly owner: string,
    private readonly maxEntries: number,
  ) {}

  get lastIndex(): number {
    return this.entries.length;
  }

  get lastTerm(): number {
    return this.entries.at(-1)?.term ?? 0;
  }

  get commitIndex(): number {
    return this.committed;
  }

  /** The term at `index`; 0 at index 0 (before the log); undefined past the end. */
  termAt(index: number): number | undefined {
    if (index === 0) return 0;
    return this.entries[index - 1]?.term;
  }

  entryAt(index: number): RaftEntry | undefined {
    return index >= 1 ? this.entries[index - 1] : undefined;
  }

  /** Entries from..to inclusive, clipped to the log. */
  slice(fromIndex: number, toIndex: number): RaftEntry[] {
    return this.entries.slice(Math.max(fromIndex, 1) - 1, Math.min(toIndex, this.lastIndex));
  }

  /** A read-only view for inspection (tests, invariant checkers). */
  view(): readonly RaftEntry[] {
    return this.entries;
  }

  /** Raft §5.4.1: a log is at least as up to date if its last term is higher, or equal with an index as high. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    return lastTerm > this.lastTerm || (lastTerm === this.lastTerm && lastIndex >= this.lastIndex);
  }

  /** A leader's own append: never truncates. */
  appendAsLeader(entry: RaftEntry): void {
    this.check(entry.index === this.lastIndex + 1, `leader appends ${describeEntry(entry)} after last index ${this.lastIndex}`);
    this.check(entry.term >= this.lastTerm, `leader appends ${describeEntry(entry)} after a term-${this.lastTerm} entry`);
    this.push(entry);
  }

  /**
   * A follower's append after the consistency check passed at `prevIndex`:
   * entries already present with the same term stay (a duplicate or stale
   * message must not cut off what a later one added); the first conflicting
   * one and everything after it are replaced. Returns the index of the last
   * entry the message vouched for.
   */
  appendFromLeader(prevIndex: number, entries: readonly RaftEntry[]): number {
    for (const [offset, entry] of entries.entries()) {
      this.check(entry.index === prevIndex + 1 + offset, `append after ${prevIndex} carries ${describeEntry(entry)} at position ${offset}`);
    }
    let position = 0;
    while (position < entries.length) {
      const entry = entries[position]!;
      const existing = this.termAt(entry.index);
      if (existing === undefined) break;
      if (existing !== entry.term) {
        this.truncateFrom(entry.index, entry);
        break;
      }
      position++;
    }
    for (; position < entries.length; position++) {
      const entry = entries[position]!;
      this.check(entry.term >= this.lastTerm, `append puts ${describeEntry(entry)} after a term-${this.lastTerm} entry`);
      this.push(entry);
    }
    return prevIndex + entries.length;
  }

  commitTo(index: number): boolean {
    if (index <= this.committed) return false;
    this.check(index <= this.lastIndex, `commit ${index} past the last index ${this.lastIndex}`);
    this.committed = index;
    return true;
  }

  /**
   * What a follower tells a leader whose consistency check failed at
   * `rejectedIndex`: see AppendRejected. Never points at or below the commit
   * index, which is known to match.
   */
  conflictHint(rejectedIndex: number): { hintIndex: number; hintTerm: number | undefined } {
    if (rejectedIndex > this.lastIndex) return { hintIndex: this.lastIndex + 1, hintTerm: undefined };
    const hintTerm = this.termAt(rejectedIndex)!;
    let hintIndex = rejectedIndex;
    // Bounded by the log's length.
    while (hintIndex - 1 > this.committed && this.termAt(hintIndex - 1) === hintTerm) hintIndex--;
    return { hintIndex, hintTerm };
  }

  /** The last index at or below `atOrBelow` whose term is `term`, if any. */
  lastIndexOfTerm(term: number, atOrBelow: number): number | undefined {
    for (let index = Math.min(atOrBelow, this.lastIndex); index >= 1; index--) {
      const at = this.termAt(index)!;
      if (at === term) return index;
      // Terms only grow along the log: nothing lower down can match.
      if (at < term) return undefined;
    }
    return undefined;
  }

  /** Entries appended or replaced since the last call: what the driver must persist next. */
  takeUnstable(): RaftEntry[] {
    const unstable = this.slice(this.unstableFrom, this.lastIndex);
    this.unstableFrom = this.lastIndex + 1;
    return unstable;
  }

  /** A restarted node's persisted log: already stable. */
  restore(entries: readonly RaftEntry[], commitIndex: number): void {
    this.check(this.entries.length === 0, 'restore into a non-empty log');
    if (entries.length > this.maxEntries) throw new RaftLogFullError(this.owner, this.maxEntries);
    for (const [position, entry] of entries.entries()) {
      this.check(entry.index === position + 1, `restored log has ${describeEntry(entry)} at position ${position + 1}`);
      this.check(entry.term >= 1 && entry.term >= this.lastTerm, `restored log has ${describeEntry(entry)} after a term-${this.lastTerm} entry`);
      this.entries.push(entry);
    }
    this.check(commitIndex <= this.lastIndex, `restored commit index ${commitIndex} past the restored log's last index ${this.lastIndex}`);
    this.committed = commitIndex;
    this.unstableFrom = this.lastIndex + 1;
  }

  private truncateFrom(index: number, replacement: RaftEntry): void {
    // Raft's core promise: what is committed stays. A leader that sends a
    // different entry at a committed index means two histories exist.
    this.check(
      index > this.committed,
      `would overwrite committed ${describeEntry(this.entryAt(index))} with ${describeEntry(replacement)} (commit index ${this.committed})`,
    );
    this.entries.length = index - 1;
    this.unstableFrom = Math.min(this.unstableFrom, index);
  }

  private push(entry: RaftEntry): void {
    if (this.entries.length >= this.maxEntries) throw new RaftLogFullError(this.owner, this.maxEntries);
    this.entries.push(entry);
  }

  private check(condition: boolean, problem: string): asserts condition {
    if (!condition) throw new RaftInvariantError(this.owner, problem);
  }
}
