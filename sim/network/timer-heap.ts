// The engine's event queue: a binary min-heap ordered by (virtual time,
// scheduling order), so events at the same millisecond run in the order they
// were scheduled. Cancellation is lazy; cancelled entries are skipped when
// they surface and compacted away when they outnumber live ones.
import type { SimTimer } from './engine.js';

const COMPACT_AT_CANCELLED_MIN = 1024;

function before(a: SimTimer, b: SimTimer): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
}

export class TimerHeap {
  private items: SimTimer[] = [];
  private cancelledInHeap = 0;

  /** Live (not cancelled) timers. */
  get size(): number {
    return this.items.length - this.cancelledInHeap;
  }

  push(timer: SimTimer): void {
    const items = this.items;
    items.push(timer);
    let index = items.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      const parentTimer = items[parent] as SimTimer;
      if (!before(timer, parentTimer)) break;
      items[index] = parentTimer;
      index = parent;
    }
    items[index] = timer;
  }

  /** The earliest live timer, without removing it. */
  peek(): SimTimer | undefined {
    const items = this.items;
    while (items.length > 0 && (items[0] as SimTimer).cancelled) {
      this.removeTop();
      this.cancelledInHeap--;
    }
    return items[0];
  }

  pop(): SimTimer | undefined {
    const top = this.peek();
    if (top !== undefined) this.removeTop();
    return top;
  }

  /** Called when a timer still in the heap is cancelled. */
  noteCancelled(): void {
    this.cancelledInHeap++;
    if (this.cancelledInHeap >= COMPACT_AT_CANCELLED_MIN && this.cancelledInHeap * 2 > this.items.length) this.compact();
  }

  private removeTop(): void {
    const items = this.items;
    const last = items.pop() as SimTimer;
    if (items.length === 0) return;
    let index = 0;
    const length = items.length;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      const child = right < length && before(items[right] as SimTimer, items[left] as SimTimer) ? right : left;
      const childTimer = items[child] as SimTimer;
      if (!before(childTimer, last)) break;
      items[index] = childTimer;
      index = child;
    }
    items[index] = last;
  }

  private compact(): void {
    const live = this.items.filter((timer) => !timer.cancelled);
    this.items = [];
    this.cancelledInHeap = 0;
    for (const timer of live) this.push(timer);
  }
}
