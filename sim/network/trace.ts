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

const HASH_CHUNK_CHARS = 1 << 16;

export class Trace {
  private readonly hash: Hash = createHash('sha256');
  private pending = '';
  private eventCount = 0;
  private readonly kindCounts = new Map<string, number>();
  private readonly recent: TraceEvent[] = [];
  private recentNext = 0;
  private readonly recentEventsMax: number;
  private readonly timeline: TraceEvent[] = [];
  private readonly timelineEventsMax: number;
  private timelineDropped = 0;
  private readonly timelineKinds: readonly string[];
  private readonly subscribers: { kindPrefix: string; listener: (event: TraceEvent) => void }[] = [];

  constructor(options: TraceOptions = {}) {
    this.recentEventsMax = options.recentEventsMax ?? 200;
    this.timelineEventsMax = options.timelineEventsMax ?? 2000;
    this.timelineKinds = options.timelineKinds ?? ['fault.', 'host.', 'proc.', 'log.warn', 'log.error', 'check.', 'tcp.error', 'arp.failed'];
  }

  record(atMs: number, host: string, kind: string, fields: TraceFields = {}): void {
    let line = '';
    for (const key in fields) {
      const value = fields[key];
      if (value !== undefined) line += `\t${key}=${value}`;
    }
    this.append(atMs, host, kind, line, fields);
  }

  /** A frequent event whose metadata is already one formatted line (no field object to build). */
  recordLine(atMs: number, host: string, kind: string, detail: string): void {
    this.append(atMs, host, kind, '\t' + detail, undefined);
  }

  /**
   * Calls `listener` for every later event whose kind starts with
   * `kindPrefix`: how observers (VIP holders, say) follow a run without
   * polling. A listener must not record events itself.
   */
  subscribe(kindPrefix: string, listener: (event: TraceEvent) => void): void {
    this.subscribers.push({ kindPrefix, listener });
  }

  private append(atMs: number, host: string, kind: string, detail: string, fields: TraceFields | undefined): void {
    this.pending += `${atMs}\t${host}\t${kind}${detail}\n`;
    for (const subscriber of this.subscribers) {
      if (kind.startsWith(subscriber.kindPrefix)) subscriber.listener({ atMs, host, kind, fields: fields ?? { detail: detail.slice(1) } });
    }
    if (this.pending.length >= HASH_CHUNK_CHARS) this.flush();
    this.eventCount++;
    this.kindCounts.set(kind, (this.kindCounts.get(kind) ?? 0) + 1);
    const keepRecent = this.recentEventsMax > 0;
    const keepTimeline = this.isTimelineKind(kind);
    if (!keepRecent && !keepTimeline) return;
    const event: TraceEvent = { atMs, host, kind, fields: fields ?? { detail: detail.slice(1) } };
    if (keepRecent) {
      this.recent[this.recentNext] = event;
      this.recentNext = (this.recentNext + 1) % this.recentEventsMax;
    }
    if (keepTimeline) {
      if (this.timeline.length < this.timelineEventsMax) this.timeline.push(event);
      else this.timelineDropped++;
    }
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
    return Object.fromEntries([...this.kindCounts.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  count(kind: string): number {
    return this.kindCounts.get(kind) ?? 0;
  }

  recentEvents(): TraceEvent[] {
    const ordered = [...this.recent.slice(this.recentNext), ...this.recent.slice(0, this.recentNext)];
    return ordered.filter((event) => event !== undefined);
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
