// /healthz's etcd check, as the real apiserver's: a linearizable read of a
// health key must come back within 1 s, which needs the local member to reach
// a quorum. keepalived polls /healthz on every master and workers may too, so
// checks must not pile up on a member that is already struggling: one is in
// flight at a time, and callers share it or a result at most 500 ms old.
import type { Clock, Log } from '../../platform/types.js';
import type { EtcdClient } from '../../etcd/client.js';

/** The real apiserver reads "<prefix>/health" (k8s.io/apiserver/pkg/storage/storagebackend/factory/etcd3.go). */
export const HEALTH_KEY = '/registry/health';
/** The etcd client given to EtcdHealth must time out within this. */
export const HEALTH_TIMEOUT_MS = 1_000;
/** A result is reused while younger than this, counted from when its read was sent. */
export const HEALTH_RESULT_AGE_MS_MAX = 500;

export interface HealthResult {
  ok: boolean;
  /** Why not, when not ok. */
  reason: string;
  /** When the read behind this result was sent (platform ms). */
  checkedAtMs: number;
}

export class EtcdHealth {
  private inFlight: Promise<HealthResult> | undefined;
  private last: HealthResult | undefined;

  /** `etcd` must have a timeout of at most HEALTH_TIMEOUT_MS: that is what bounds a caller's wait. */
  constructor(
    private readonly etcd: EtcdClient,
    private readonly clock: Clock,
    private readonly log: Log,
  ) {}

  check(): Promise<HealthResult> {
    const last = this.last;
    if (last !== undefined && this.clock.now() - last.checkedAtMs < HEALTH_RESULT_AGE_MS_MAX) return Promise.resolve(last);
    this.inFlight ??= this.probe().then((result) => {
      this.inFlight = undefined;
      if (last === undefined || last.ok !== result.ok) this.log.info('apiserver.etcd_health', { ok: result.ok, reason: result.reason });
      this.last = result;
      return result;
    });
    return this.inFlight;
  }

  /** Never rejects: every failure is an unhealthy result. */
  private async probe(): Promise<HealthResult> {
    const checkedAtMs = this.clock.now();
    try {
      await this.etcd.request({ type: 'range', key: HEALTH_KEY });
      return { ok: true, reason: '', checkedAtMs };
    } catch (error) {
      return { ok: false, reason: error instanceof Error ? error.message : String(error), checkedAtMs };
    }
  }
}
