// The simulation trace: every event with its virtual time, host, kind and
// metadata (sizes, ports, states), never payload bytes (TLS makes those
// random). Its sha256 is the determinism fingerprint of a run.
import { createHash, type Hash } from 'node:crypto';

export type TraceValue = string | number | boolean;
export type TraceFields = Readonly<Record<string, TraceValue | undefined>>;

export interface TraceEvent {
  /** Virtual milliseconds since the start of the run. */
  atMs: number;
  host: string;
  kind: string;
  fields: TraceFields;
}

export interface TraceOptions {
  /** How many of the most recent events to keep for reports. */
  recentEventsMax?: number;
  /** Event kinds (or kind prefixes ending in '.') kept in the timeline, bounded by timelineEventsMax. */
  timelineKinds?: readonly string[];
  timelineEventsMax?: number;
}

/**
 * Hash the text every few thousand characters: hashing flattens the pending
 * text, whose pieces are then still in the CPU cache (at 64K characters most
 * of them were not, and flattening cost more than the sha256 itself).
 */
const HASH_CHUNK_CHARS = 4096;
/** Bound on distinct event kinds remembered; kinds are code literals, so a run has a few dozen. */
const KINDS_MAX = 4096;

type Listener = (event: TraceEvent) => void;

export class TraceError extends Error {
  constructor(
    readonly code: 'ERR_TRACE_TOO_MANY_KINDS',
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'TraceError';
  }
}

/** What the trace keeps per event kind: looked up once per event instead of re-deciding it every time. */
interface KindEntry {
  count: number;
  readonly inTimeline: boolean;
  /** The subscribers whose prefix matches this kind, in subscription order. */
  readonly listeners: Listener[];
}

/**
 * The most recent events, for reports. Kept as parts in fixed arrays and
 * turned into TraceEvents only when asked: an object per event cost more
 * than the rest of recording it, and almost all of them were never read.
 */
class RecentEvents {
  private readonly atMs: number[] = [];
  private readonly host: string[] = [];
  private readonly kind: string[] = [];
  private readonly fields: (TraceFields | undefined)[] = [];
  /** For events recorded as one line (fields undefined): that line. */
  private readonly detail: string[] = [];
  private next = 0;

  constructor(private readonly eventsMax: number) {}

  add(atMs: number, host: string, kind: string, fields: TraceFields | undefined, detail: string): void {
    const slot = this.next;
    this.atMs[slot] = atMs;
    this.host[slot] = host;
    this.kind[slot] = kind;
    this.fields[slot] = fields;
    this.detail[slot] = detail;
    this.next = slot + 1 === this.eventsMax ? 0 : slot + 1;
  }

  /** Oldest first. */
  events(): TraceEvent[] {
    const filled = this.atMs.length;
    const events: TraceEvent[] = [];
    for (let i = 0; i < filled; i++) {
      const slot = filled < this.eventsMax ? i : (this.next + i) % this.eventsMax;
      events.push(eventOf(this.atMs[slot]!, this.host[slot]!, this.kind[slot]!, this.fields[slot], this.detail[slot]!));
    }
    return events;
  }
}

/** An event as observers see it; a one-line event shows its line as the field `detail`. */
function eventOf(atMs: number, host: string, kind: string, fields: TraceFields | undefined, detail: string): TraceEvent {
  return { atMs, host, kind, fields: fields ?? { detail } };
}

export class Trace {
  private readonly hash: Hash = createHash('sha256');
  private pending = '';
  private eventCount = 0;
  private readonly kinds = new Map<string, KindEntry>();
  private readonly recent: RecentEvents | undefined;
  private readonly timeline: TraceEvent[] = [];
  private readonly timelineEventsMax: number;
  private timelineDropped = 0;
  private readonly timelineKinds: readonly string[];
  private readonly subscribers: { kindPrefix: string; listener: Listener }[] = [];

  constructor(options: TraceOptions = {}) {
    const recentEventsMax = options.recentEventsMax ?? 200;
    this.recent = recentEventsMax > 0 ? new RecentEvents(recentEventsMax) : undefined;
    this.timelineEventsMax = options.timelineEventsMax ?? 2000;
    this.timelineKinds = options.timelineKinds ?? ['fault.', 'host.', 'proc.', 'log.warn', 'log.error', 'check.', 'tcp.error', 'arp.failed'];
  }

  record(atMs: number, host: string, kind: string, fields: TraceFields = {}): void {
    let line = '';
    for (const key in fields) {
      const value = fields[key];
      if (value !== undefined) line += `\t${key}=${value}`;
    }
    this.append(atMs, host, kind, line, fields, '');
  }

  /** A frequent event whose metadata is already one formatted line (no field object to build). */
  recordLine(atMs: number, host: string, kind: string, detail: string): void {
    this.append(atMs, host, kind, '\t' + detail, undefined, detail);
  }

  /**
   * Calls `listener` for every later event whose kind starts with
   * `kindPrefix`: how observers (VIP holders, say) follow a run without
   * polling. A listener must not record events itself.
   */
  subscribe(kindPrefix: string, listener: Listener): void {
    this.subscribers.push({ kindPrefix, listener });
    for (const [kind, entry] of this.kinds) if (kind.startsWith(kindPrefix)) entry.listeners.push(listener);
  }

  /** `line` is what the hash sees after the kind; `detail` is the line of a one-line event (fields undefined). */
  private append(atMs: number, host: string, kind: string, line: string, fields: TraceFields | undefined, detail: string): void {
    this.pending += `${atMs}\t${host}\t${kind}${line}\n`;
    const entry = this.kinds.get(kind) ?? this.addKind(kind);
    for (const listener of entry.listeners) listener(eventOf(atMs, host, kind, fields, detail));
    if (this.pending.length >= HASH_CHUNK_CHARS) this.flush();
    this.eventCount++;
    entry.count++;
    this.recent?.add(atMs, host, kind, fields, detail);
    if (entry.inTimeline) {
      if (this.timeline.length < this.timelineEventsMax) this.timeline.push(eventOf(atMs, host, kind, fields, detail));
      else this.timelineDropped++;
    }
  }

  private addKind(kind: string): KindEntry {
    if (this.kinds.size >= KINDS_MAX) throw new TraceError('ERR_TRACE_TOO_MANY_KINDS', `more than ${KINDS_MAX} event kinds (is a kind built from data?)`);
    const listeners = this.subscribers.filter((subscriber) => kind.startsWith(subscriber.kindPrefix)).map((subscriber) => subscriber.listener);
    const entry: KindEntry = { count: 0, inTimeline: this.isTimelineKind(kind), listeners };
    this.kinds.set(kind, entry);
    return entry;
  }

  get events(): number {
    return this.eventCount;
  }

  /** sha256 (hex) over every event recorded so far. */
  digest(): string {
    this.flush();
    return this.hash.copy().digest('hex');
  }

  countsByKind(): Record<string, number> {
    // A kind is known from its first event on, but counted once its listeners have run.
    const counted = [...this.kinds.entries()].filter(([, entry]) => entry.count > 0);
    return Object.fromEntries(counted.map(([kind, entry]) => [kind, entry.count] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  count(kind: string): number {
    return this.kinds.get(kind)?.count ?? 0;
  }

  recentEvents(): TraceEvent[] {
    return this.recent?.events() ?? [];
  }

  /** Notable events (faults, host and process lifecycle, warnings), in order. */
  timelineEvents(): { events: TraceEvent[]; dropped: number } {
    return { events: [...this.timeline], dropped: this.timelineDropped };
  }

  private isTimelineKind(kind: string): boolean {
    for (const wanted of this.timelineKinds) {
      if (wanted.endsWith('.') ? kind.startsWith(wanted) : kind === wanted) return true;
    }
    return false;
  }

  private flush(): void {
    if (this.pending.length > 0) {
      this.hash.update(this.pending);
      this.pending = '';
    }
  }
}

export function formatTraceEvent(event: TraceEvent): string {
  const fields = Object.entries(event.fields)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${value}`)
    .join(' ');
  return `${String(event.atMs).padStart(8)}ms ${event.host.padEnd(10)} ${event.kind}${fields ? ' ' + fields : ''}`;
}
