// Who holds a VIP, over a whole run: intervals per host, from the trace's
// address and host events. A VIP on a crashed host is held by nobody — it
// answers nothing — and a reboot comes back without it.
import type { World } from '../network/world.js';

export interface HoldInterval {
  host: string;
  fromMs: number;
  /** undefined: still held at the end of the run. */
  toMs: number | undefined;
}

export class VipObserver {
  readonly intervals: HoldInterval[] = [];
  private readonly open = new Map<string, HoldInterval>();

  constructor(
    world: World,
    readonly vip: string,
  ) {
    world.engine.trace.subscribe('addr.', (event) => {
      const address = String(event.fields['address'] ?? '');
      if (address.split('/')[0] !== vip) return;
      if (event.kind === 'addr.add') this.begin(event.host, event.atMs);
      else if (event.kind === 'addr.remove') this.end(event.host, event.atMs);
    });
    world.engine.trace.subscribe('host.crash', (event) => this.end(event.host, event.atMs));
  }

  holdersAt(atMs: number): string[] {
    return this.intervals
      .filter((interval) => interval.fromMs <= atMs && (interval.toMs === undefined || atMs < interval.toMs))
      .map((interval) => interval.host);
  }

  currentHolders(): string[] {
    return [...this.open.keys()].sort();
  }

  /** The first time at or after `fromMs` that `host` (or, if omitted, anyone) starts holding the VIP. */
  firstHoldFrom(fromMs: number, host?: string): HoldInterval | undefined {
    return this.intervals.find((interval) => interval.fromMs >= fromMs && (host === undefined || interval.host === host));
  }

  /** Spans (within [fromMs, toMs)) where two or more hosts held the VIP at once. */
  overlaps(fromMs: number, toMs: number): { fromMs: number; toMs: number; hosts: string[] }[] {
    const edges = new Set<number>([fromMs]);
    for (const interval of this.intervals) {
      if (interval.fromMs > fromMs && interval.fromMs < toMs) edges.add(interval.fromMs);
      if (interval.toMs !== undefined && interval.toMs > fromMs && interval.toMs < toMs) edges.add(interval.toMs);
    }
    const points = [...edges].sort((a, b) => a - b);
    const spans: { fromMs: number; toMs: number; hosts: string[] }[] = [];
    for (let i = 0; i < points.length; i++) {
      const start = points[i]!;
      const end = points[i + 1] ?? toMs;
      const hosts = this.holdersAt(start);
      if (hosts.length < 2) continue;
      const last = spans.at(-1);
      if (last !== undefined && last.toMs === start && last.hosts.join() === hosts.join()) last.toMs = end;
      else spans.push({ fromMs: start, toMs: end, hosts });
    }
    return spans;
  }

  /**
   * From `fromMs` on: the spans with two or more holders, their total length,
   * and when the last of them ended (`fromMs` when there was none).
   */
  convergence(fromMs: number, toMs: number): { overlaps: { fromMs: number; toMs: number; hosts: string[] }[]; dualMs: number; convergedAtMs: number } {
    const overlaps = this.overlaps(fromMs, toMs);
    return {
      overlaps,
      dualMs: overlaps.reduce((sum, span) => sum + (span.toMs - span.fromMs), 0),
      convergedAtMs: overlaps.at(-1)?.toMs ?? fromMs,
    };
  }

  /** How many times the holder set changed within [fromMs, toMs). */
  changesBetween(fromMs: number, toMs: number): number {
    return this.intervals.filter(
      (interval) => (interval.fromMs >= fromMs && interval.fromMs < toMs) || (interval.toMs !== undefined && interval.toMs >= fromMs && interval.toMs < toMs),
    ).length;
  }

  private begin(host: string, atMs: number): void {
    if (this.open.has(host)) return;
    const interval: HoldInterval = { host, fromMs: atMs, toMs: undefined };
    this.open.set(host, interval);
    this.intervals.push(interval);
  }

  private end(host: string, atMs: number): void {
    const interval = this.open.get(host);
    if (interval === undefined) return;
    interval.toMs = atMs;
    this.open.delete(host);
  }
}
