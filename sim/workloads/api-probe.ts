// Workers probing the API through the VIP, as kubelets would: a GET every
// probe interval, each with its own timeout, outcomes kept for the oracle.
import type { Platform } from '../../src/runtime/platform/types.js';
import { httpGet } from '../../src/runtime/kube/http-lite.js';

export interface ProbeRecord {
  worker: string;
  /** Virtual ms since the start of the run. */
  startMs: number;
  endMs: number;
  ok: boolean;
  /** The master that answered, from the body. */
  servedBy: string | undefined;
  error: string | undefined;
}

export interface ApiProbeOptions {
  worker: string;
  host: string;
  port: number;
  intervalMs: number;
  timeoutMs: number;
  /** Virtual epoch of the run, to turn platform time into run time. */
  runStartMs: number;
  records: ProbeRecord[];
  /** A bound on what one run keeps: probing stops once it is reached. */
  recordsMax: number;
}

export function startApiProbes(platform: Platform, options: ApiProbeOptions): void {
  const probe = (): void => {
    if (options.records.length >= options.recordsMax) {
      platform.clock.clearTimer(timer);
      return;
    }
    const startMs = platform.clock.now() - options.runStartMs;
    const record = (ok: boolean, servedBy: string | undefined, error: string | undefined): void => {
      options.records.push({ worker: options.worker, startMs, endMs: platform.clock.now() - options.runStartMs, ok, servedBy, error });
    };
    httpGet(platform, { host: options.host, port: options.port, path: '/healthz', timeoutMs: options.timeoutMs }).then(
      (response) => record(response.status === 200, /^ok (\S+)/.exec(response.body)?.[1], response.status === 200 ? undefined : `HTTP ${response.status}`),
      (error: unknown) => record(false, undefined, error instanceof Error ? error.message : String(error)),
    );
  };
  const timer = platform.clock.setInterval(probe, options.intervalMs);
}

/** The API outage one worker saw after `fromMs`: until the first answer to a probe sent after it. */
export function outageAfter(records: readonly ProbeRecord[], worker: string, fromMs: number): number | undefined {
  const first = records
    .filter((record) => record.worker === worker && record.ok && record.startMs >= fromMs)
    .reduce<ProbeRecord | undefined>((best, record) => (best === undefined || record.endMs < best.endMs ? record : best), undefined);
  return first === undefined ? undefined : first.endMs - fromMs;
}
