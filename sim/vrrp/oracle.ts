// The VRRP oracles: who must hold the VIP, by when, judged from the VIP
// observer's intervals and the workers' probes. Each returns invariant
// results that say what broke.
import { masterDownIntervalMs } from '../../src/runtime/keepalived/vrrp/timing.js';
import { invariant, type InvariantResult } from '../scenario.js';
import type { ProbeRecord } from '../workloads/api-probe.js';
import { outageAfter } from '../workloads/api-probe.js';
import type { VipObserver } from './vip-observer.js';

/** Frames on the LAN and the engine's whole-ms rounding: what "plus propagation" allows. */
export const PROPAGATION_ALLOWANCE_MS = 20;

/**
 * With AH, survivors of a hard failover that took over in the same instant
 * drop each other's adverts until scheduling drift separates their sends by
 * more than the LAN's latency (DESIGN.md measured 0–2 s on real hosts). Past
 * this much, two holders is a bug.
 */
export const DUAL_MASTER_ALLOWANCE_MS = 20_000;

export interface FailoverTiming {
  version: 2 | 3;
  advertIntervalMs: number;
  /** The highest priority among the survivors: its Skew_Time is the shortest. */
  survivorPriority: number;
}

/** A backup holds the VIP within Master_Down_Interval plus one advert interval (and propagation). */
export function takeoverBoundMs(timing: FailoverTiming): number {
  return masterDownIntervalMs(timing.version, timing.survivorPriority, timing.advertIntervalMs) + timing.advertIntervalMs + PROPAGATION_ALLOWANCE_MS;
}

export interface FailoverCheck {
  observer: VipObserver;
  probes: readonly ProbeRecord[];
  workers: readonly string[];
  /** When the holder was lost (crash, kill, partition). */
  lostAtMs: number;
  lostHolder: string;
  timing: FailoverTiming;
  /** Extra time workers may need beyond the takeover bound: a probe in flight, ARP refresh. */
  probeAllowanceMs: number;
  endMs: number;
}

export interface FailoverOutcome {
  invariants: InvariantResult[];
  failoverMs: number | undefined;
  dualMasterMs: number;
  apiOutageMs: Record<string, number | undefined>;
  newHolder: string | undefined;
}

/** Everything the failover story promises after the holder is lost at `lostAtMs`. */
export function checkFailover(check: FailoverCheck): FailoverOutcome {
  const { observer, lostAtMs, endMs } = check;
  const boundMs = takeoverBoundMs(check.timing);
  const takeover = observer.intervals.find((interval) => interval.host !== check.lostHolder && interval.fromMs >= lostAtMs);
  const failoverMs = takeover === undefined ? undefined : takeover.fromMs - lostAtMs;
  const invariants: InvariantResult[] = [];
  invariants.push(
    invariant(
      'a backup holds the VIP within Master_Down_Interval + one advert interval',
      failoverMs !== undefined && failoverMs <= boundMs,
      failoverMs === undefined
        ? `nobody took the VIP over after ${check.lostHolder} was lost at ${lostAtMs} ms`
        : `${takeover?.host} took over ${failoverMs} ms after ${check.lostHolder} was lost (bound ${boundMs.toFixed(1)} ms)`,
    ),
  );

  const takeoverAtMs = takeover?.fromMs ?? lostAtMs;
  const { overlaps, dualMs: dualMasterMs, convergedAtMs } = observer.convergence(takeoverAtMs, endMs);
  invariants.push(
    invariant(
      'after convergence, at most one holder',
      convergedAtMs - takeoverAtMs <= DUAL_MASTER_ALLOWANCE_MS && observer.holdersAt(endMs - 1).length <= 1,
      overlaps.length === 0
        ? 'never two holders after the takeover'
        : `two or more holders for ${dualMasterMs} ms in ${overlaps.length} span(s) (${overlaps.map((span) => `${span.hosts.join('+')} ${span.fromMs}–${span.toMs}`).join(', ')}); converged ${convergedAtMs - takeoverAtMs} ms after the takeover (allowed ${DUAL_MASTER_ALLOWANCE_MS})`,
    ),
  );

  const finalHolders = observer.holdersAt(endMs - 1);
  const changesAfter = observer.changesBetween(convergedAtMs + 1, endMs);
  invariants.push(
    invariant(
      'no flapping after convergence',
      changesAfter === 0 && finalHolders.length === 1,
      `${changesAfter} holder change(s) between convergence at ${convergedAtMs} ms and the end at ${endMs} ms; final holder(s): ${finalHolders.join(', ') || 'none'}`,
    ),
  );

  const apiOutageMs: Record<string, number | undefined> = {};
  const probeBoundMs = boundMs + check.probeAllowanceMs;
  const late: string[] = [];
  for (const worker of check.workers) {
    const outageMs = outageAfter(check.probes, worker, lostAtMs);
    apiOutageMs[worker] = outageMs;
    if (outageMs === undefined || outageMs > probeBoundMs) late.push(`${worker}: ${outageMs === undefined ? 'never' : `${outageMs} ms`}`);
  }
  invariants.push(
    invariant(
      "workers' probes succeed again within the takeover bound plus ARP refresh",
      late.length === 0,
      late.length === 0
        ? `every worker answered within ${probeBoundMs.toFixed(1)} ms: ${Object.entries(apiOutageMs).map(([worker, ms]) => `${worker} ${ms} ms`).join(', ')}`
        : `late past ${probeBoundMs.toFixed(1)} ms: ${late.join(', ')}`,
    ),
  );
  return { invariants, failoverMs, dualMasterMs, apiOutageMs, newHolder: takeover?.host };
}
