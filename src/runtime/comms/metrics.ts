// comms counters and their Prometheus text exposition (format 0.0.4).
import { FAILURE_REASONS, type FailureReason } from './failure.js';

export type Direction = 'up' | 'down';

export interface CommsMetricsSnapshot {
  tunnelsOpen: number;
  tunnelsTotal: number;
  /** By service name, bytes local → DU ('up') and DU → local ('down'). */
  bytes: Record<string, { up: number; down: number }>;
  failures: Record<FailureReason, number>;
  certReloads: number;
}

export class CommsMetrics {
  tunnelsOpen = 0;
  tunnelsTotal = 0;
  certReloads = 0;
  readonly #bytes = new Map<string, { up: number; down: number }>();
  readonly #failures = new Map<FailureReason, number>(FAILURE_REASONS.map((reason) => [reason, 0]));

  /** Service names are known at start: the label set is bounded. */
  constructor(serviceNames: readonly string[]) {
    for (const name of serviceNames) this.#bytes.set(name, { up: 0, down: 0 });
  }

  addBytes(service: string, direction: Direction, byteCount: number): void {
    const counters = this.#bytes.get(service);
    if (counters === undefined) throw new Error(`comms metrics: unknown service ${service}`);
    counters[direction] += byteCount;
  }

  failed(reason: FailureReason): void {
    this.#failures.set(reason, (this.#failures.get(reason) ?? 0) + 1);
  }

  snapshot(): CommsMetricsSnapshot {
    const bytes: CommsMetricsSnapshot['bytes'] = {};
    for (const [name, counters] of this.#bytes) bytes[name] = { ...counters };
    return {
      tunnelsOpen: this.tunnelsOpen,
      tunnelsTotal: this.tunnelsTotal,
      bytes,
      failures: Object.fromEntries(this.#failures) as Record<FailureReason, number>,
      certReloads: this.certReloads,
    };
  }

  render(): string {
    const lines = [
      '# HELP comms_tunnels_open Tunnels (local connections) open now.',
      '# TYPE comms_tunnels_open gauge',
      `comms_tunnels_open ${this.tunnelsOpen}`,
      '# HELP comms_tunnels_total Local connections accepted since start.',
      '# TYPE comms_tunnels_total counter',
      `comms_tunnels_total ${this.tunnelsTotal}`,
      '# HELP comms_bytes_total Bytes relayed, up (local to DU) and down (DU to local).',
      '# TYPE comms_bytes_total counter',
    ];
    for (const [name, counters] of this.#bytes) {
      for (const direction of ['up', 'down'] as const) {
        lines.push(`comms_bytes_total{direction="${direction}",service="${escapeLabel(name)}"} ${counters[direction]}`);
      }
    }
    lines.push('# HELP comms_tunnel_failures_total Tunnels that failed, by reason.', '# TYPE comms_tunnel_failures_total counter');
    for (const [reason, count] of this.#failures) lines.push(`comms_tunnel_failures_total{reason="${reason}"} ${count}`);
    lines.push('# HELP comms_cert_reloads_total Certificate sets reloaded from changed files.', '# TYPE comms_cert_reloads_total counter');
    lines.push(`comms_cert_reloads_total ${this.certReloads}`);
    return lines.join('\n') + '\n';
  }
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
