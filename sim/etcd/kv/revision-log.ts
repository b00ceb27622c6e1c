// What changed at each retained revision, in the order it changed: the
// source of watch events, and of the keys a compaction has to visit. Every
// revision above 1 comes from a write that changed something, so the log
// holds consecutive revisions and finds one by subtraction.
import { kvAssert } from '../../../src/runtime/etcd/api/errors.js';
import type { KvEvent } from '../../../src/runtime/etcd/api/types.js';

export interface RevisionChanges {
  readonly revision: number;
  readonly events: readonly KvEvent[];
}

export class RevisionLog {
  private entries: RevisionChanges[] = [];
  /** Entries before this position are dropped; removed in bulk now and then, so that dropping is O(1). */
  private head = 0;
  private eventCount = 0;

  /** Events held, over all retained revisions. */
  get events(): number {
    return this.eventCount;
  }

  get length(): number {
    return this.entries.length - this.head;
  }

  /** The oldest revision held, or undefined when empty. */
  get firstRevision(): number | undefined {
    return this.entries[this.head]?.revision;
  }

  get lastRevision(): number | undefined {
    return this.length === 0 ? undefined : this.entries[this.entries.length - 1]!.revision;
  }

  append(changes: RevisionChanges): void {
    const last = this.lastRevision;
    kvAssert(last === undefined || changes.revision === last + 1, () => `revision ${changes.revision} logged after ${last}`);
    kvAssert(changes.events.length > 0, () => `revision ${changes.revision} logged with no change`);
    this.entries.push(changes);
    this.eventCount += changes.events.length;
  }

  /** The changes of `revision`, or undefined when it is not held. */
  at(revision: number): RevisionChanges | undefined {
    const first = this.firstRevision;
    if (first === undefined || revision < first) return undefined;
    const entry = this.entries[this.head + (revision - first)];
    kvAssert(entry === undefined || entry.revision === revision, () => `revision log out of step at ${revision}`);
    return entry;
  }

  /** Drops every revision below `revision`, calling `visit` on each dropped one first. */
  dropBefore(revision: number, visit: (changes: RevisionChanges) => void): void {
    while (this.head < this.entries.length && this.entries[this.head]!.revision < revision) {
      const entry = this.entries[this.head]!;
      visit(entry);
      this.eventCount -= entry.events.length;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  /** Oldest first. */
  *[Symbol.iterator](): IterableIterator<RevisionChanges> {
    for (let i = this.head; i < this.entries.length; i++) yield this.entries[i]!;
  }
}
