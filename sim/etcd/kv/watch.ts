// Watches as pure bookkeeping, after etcd's watch stream (mvcc/watcher.go,
// mvcc/watchable_store.go, etcdserver/api/v3rpc/watch.go). One KvWatchStream
// is one client's gRPC watch stream (one /v3/watch request on the gateway):
// its watch IDs count from 0. It holds no events of its own: each watcher
// remembers the next revision it is owed and poll() reads them out of the
// store's retained history. So a watcher never skips or repeats a revision,
// one that starts in the past first gets the history since then, and one
// that falls behind a compaction is told so and cancelled, as etcd does.
//
// Driving it: create() when a client asks (its response goes out at once);
// after each apply (and while hasPending), poll() and send what it returns.
import { keySpan, RANGE_END_ALL, spanContains, type KeySpan } from '../../../src/runtime/etcd/api/bytes.js';
import { EtcdKvConfigError, kvAssert } from '../../../src/runtime/etcd/api/errors.js';
import type { KvEvent } from '../../../src/runtime/etcd/api/types.js';
import type { WatchCreateRequest, WatchFilter, WatchResponse } from '../../../src/runtime/etcd/api/watch-types.js';
import type { KvHistory } from './store.js';

export type { WatchCreateRequest, WatchFilter, WatchResponse } from '../../../src/runtime/etcd/api/watch-types.js';

export interface WatchLimits {
  /** Watchers on one stream. */
  readonly maxWatchers: number;
  /** Events per response; a response holds whole revisions, except that one revision with more events goes alone. */
  readonly maxEventsPerResponse: number;
  /** Responses per watcher per poll(); the rest wait for the next poll (hasPending says so). */
  readonly maxResponsesPerPoll: number;
}

export const WATCH_DEFAULT_LIMITS: WatchLimits = Object.freeze({ maxWatchers: 1_024, maxEventsPerResponse: 1_000, maxResponsesPerPoll: 16 });

/** etcd's InvalidWatchID. */
export const NO_WATCH_ID = -1;

/** etcd's cancel reasons, word for word: clients match on them (mvcc/watcher.go). */
export const WATCH_CANCEL_REASONS = Object.freeze({
  duplicateId: 'mvcc: duplicate watch ID provided on the WatchStream',
  emptyRange: 'mvcc: watcher range is empty',
});

interface Watcher {
  readonly id: number;
  readonly span: KeySpan;
  readonly prevKv: boolean;
  readonly filters: ReadonlySet<WatchFilter>;
  readonly progressNotify: boolean;
  /** The next revision owed to the client. */
  nextRevision: number;
  /** Events went out since the last progress notification. */
  sentSinceProgress: boolean;
}

export class KvWatchStream {
  readonly limits: WatchLimits;
  private readonly watchers = new Map<number, Watcher>();
  private nextAutoId = 0;

  constructor(
    private readonly history: KvHistory,
    limits: Partial<WatchLimits> = {},
  ) {
    this.limits = resolveWatchLimits(limits);
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  get watchIds(): number[] {
    return [...this.watchers.keys()].sort((a, b) => a - b);
  }

  /** Some watcher is owed revisions (or a compaction notice) that poll() has not handed out yet. */
  get hasPending(): boolean {
    for (const watcher of this.watchers.values()) if (watcher.nextRevision <= this.history.revision) return true;
    return false;
  }

  /**
   * Registers a watcher; returns the "created" response, which the client
   * gets before any event. A refused create (range empty, ID taken, too many
   * watchers) is created and cancelled at once with watch ID -1, as etcd
   * answers.
   */
  create(request: WatchCreateRequest): WatchResponse {
    const revision = this.history.revision;
    // etcd watches key '\0' for an empty key (v3rpc/watch.go, recvLoop).
    const key = request.key === '' ? '\0' : request.key;
    const rangeEnd = request.rangeEnd === '' ? undefined : request.rangeEnd;
    if (rangeEnd !== undefined && rangeEnd !== RANGE_END_ALL && key >= rangeEnd) return refusal(revision, WATCH_CANCEL_REASONS.emptyRange);
    const requestedId = request.watchId ?? 0;
    if (requestedId !== 0 && this.watchers.has(requestedId)) return refusal(revision, WATCH_CANCEL_REASONS.duplicateId);
    if (this.watchers.size >= this.limits.maxWatchers) return refusal(revision, `pf9lab: more than ${this.limits.maxWatchers} watchers on one stream`);
    const id = requestedId !== 0 ? requestedId : this.pickId();
    this.watchers.set(id, {
      id,
      span: keySpan(key, rangeEnd),
      prevKv: request.prevKv === true,
      filters: new Set(request.filters ?? []),
      progressNotify: request.progressNotify === true,
      nextRevision: request.startRevision !== undefined && request.startRevision > 0 ? request.startRevision : revision + 1,
      sentSinceProgress: false,
    });
    return response(revision, { watchId: id, created: true });
  }

  /** Cancels a watcher; undefined when there is none with that ID (etcd then answers nothing). */
  cancel(watchId: number): WatchResponse | undefined {
    if (!this.watchers.delete(watchId)) return undefined;
    return response(this.history.revision, { watchId, canceled: true });
  }

  /** The answer to a client's progress request: the revision the stream is at. */
  progress(): WatchResponse {
    return response(this.history.revision, { watchId: NO_WATCH_ID });
  }

  /**
   * etcd's progress notification, for the driver's periodic timer (etcd: every
   * 10 minutes): an empty response to each progress_notify watcher that is
   * caught up and got no events since the last round.
   */
  progressNotifications(): WatchResponse[] {
    const out: WatchResponse[] = [];
    for (const id of this.watchIds) {
      const watcher = this.watchers.get(id)!;
      if (!watcher.progressNotify) continue;
      if (!watcher.sentSinceProgress && watcher.nextRevision > this.history.revision) out.push(response(this.history.revision, { watchId: id }));
      watcher.sentSinceProgress = false;
    }
    return out;
  }

  /** What is due to the client now, watcher by watcher in ID order, oldest revision first. */
  poll(): WatchResponse[] {
    const out: WatchResponse[] = [];
    for (const id of this.watchIds) this.pollWatcher(this.watchers.get(id)!, out);
    return out;
  }

  private pollWatcher(watcher: Watcher, out: WatchResponse[]): void {
    for (let sent = 0; sent < this.limits.maxResponsesPerPoll && watcher.nextRevision <= this.history.revision; ) {
      if (watcher.nextRevision < this.history.compactRevision) {
        // etcd's compaction notice carries no header revision (mvcc/watcher_group.go, chooseAll).
        out.push(response(0, { watchId: watcher.id, canceled: true, compactRevision: this.history.compactRevision }));
        this.watchers.delete(watcher.id);
        return;
      }
      const batch = this.nextBatch(watcher);
      if (batch === undefined) return;
      out.push(batch);
      sent++;
    }
  }

  /** Whole revisions from the watcher's next one, up to the event bound; undefined when the rest hold nothing for it. */
  private nextBatch(watcher: Watcher): WatchResponse | undefined {
    const events: KvEvent[] = [];
    let revision = watcher.nextRevision;
    for (; revision <= this.history.revision; revision++) {
      const changes = this.history.changesAt(revision);
      kvAssert(changes !== undefined, () => `revision ${revision} is owed to watcher ${watcher.id} but not retained (compact revision ${this.history.compactRevision})`);
      const matching = changes.events.filter((event) => this.wants(watcher, event)).map((event) => this.deliverable(watcher, event));
      if (events.length > 0 && events.length + matching.length > this.limits.maxEventsPerResponse) break;
      events.push(...matching);
    }
    const lastRevision = revision - 1;
    kvAssert(lastRevision >= watcher.nextRevision, () => `watcher ${watcher.id} made no progress at ${watcher.nextRevision}`);
    watcher.nextRevision = revision;
    if (events.length === 0) return undefined;
    watcher.sentSinceProgress = true;
    // The header says every later event of this stream is newer than it: the last revision looked at.
    return response(lastRevision, { watchId: watcher.id, events });
  }

  private wants(watcher: Watcher, event: KvEvent): boolean {
    if (event.type === 'PUT' && watcher.filters.has('NOPUT')) return false;
    if (event.type === 'DELETE' && watcher.filters.has('NODELETE')) return false;
    return spanContains(watcher.span, event.kv.key);
  }

  /** etcd reads prev_kv at the revision before the event, which is gone if that is compacted. */
  private deliverable(watcher: Watcher, event: KvEvent): KvEvent {
    if (event.prevKv === undefined) return event;
    if (watcher.prevKv && event.kv.modRevision - 1 >= this.history.compactRevision) return event;
    return { type: event.type, kv: event.kv };
  }

  private pickId(): number {
    while (this.watchers.has(this.nextAutoId)) this.nextAutoId++;
    return this.nextAutoId++;
  }
}

function response(revision: number, fields: Partial<Omit<WatchResponse, 'header'>>): WatchResponse {
  return {
    header: { revision },
    watchId: fields.watchId ?? 0,
    created: fields.created ?? false,
    canceled: fields.canceled ?? false,
    compactRevision: fields.compactRevision ?? 0,
    cancelReason: fields.cancelReason ?? '',
    fragment: false,
    events: fields.events ?? [],
  };
}

function refusal(revision: number, cancelReason: string): WatchResponse {
  return response(revision, { watchId: NO_WATCH_ID, created: true, canceled: true, cancelReason });
}

function resolveWatchLimits(input: Partial<WatchLimits>): WatchLimits {
  const limits: WatchLimits = { ...WATCH_DEFAULT_LIMITS, ...Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) };
  for (const [field, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1) throw new EtcdKvConfigError(field, `must be a positive integer, got ${String(value)}`);
  }
  return Object.freeze(limits);
}
