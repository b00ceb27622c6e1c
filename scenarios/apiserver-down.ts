// apiserver-down: the VIP holder's apiserver stops. The product's health
// check (every 10 s, fall 6) fails six times in a row, the instance goes to
// FAULT, resigns with a priority-0 advert, and a backup takes over after
// Skew_Time. A FAULT instance never holds the VIP.
//
//   0 s      m1 starts first and becomes the holder; m2, m3 at 2 s and 2.5 s
//  12-13 s   m1's apiserver stops (seeded)
//  ~+60 s    m1 in FAULT, the VIP moves
//  100 s     end
import type { Scenario, ScenarioOptions, ScenarioRun } from '../sim/scenario.js';
import { invariant, type InvariantResult } from '../sim/scenario.js';
import type { Fault } from '../sim/network/faults.js';
import { scheduleFaults } from '../sim/network/faults.js';
import { Rng } from '../sim/network/rng.js';
import { skewTimeMs } from '../src/runtime/keepalived/vrrp/timing.js';
import { buildVrrpCluster, STAGGERED_MASTERS } from '../sim/vrrp/cluster.js';
import { PROPAGATION_ALLOWANCE_MS } from '../sim/vrrp/oracle.js';

const RUN_MS = 100_000;
/** The product's vrrp_script: interval 10 s, fall 6. */
const CHECK_INTERVAL_MS = 10_000;
const CHECK_FALL = 6;
/** The health check's own timeout, for a check already running when the apiserver stops. */
const CHECK_TIMEOUT_MS = 3_000;

export function apiserverDownFaults(seed: number): Fault[] {
  const atMs = 12_000 + Rng.fromSeed(seed).fork('apiserver-down/stop').int(1_000);
  return [{ atMs, kind: 'stop-process', host: 'm1', process: 'apiserver' }];
}

async function run({ seed, faults = apiserverDownFaults(seed) }: ScenarioOptions): Promise<ScenarioRun> {
  const cluster = buildVrrpCluster({ seed, masters: STAGGERED_MASTERS, workers: 3 });
  const { world, observer } = cluster;
  scheduleFaults(world, faults);
  await world.run({ untilMs: RUN_MS });

  const invariants: InvariantResult[] = [];
  const metrics: Record<string, number | string> = {};
  const stop = faults.find((fault) => fault.kind === 'stop-process');
  if (stop !== undefined && stop.kind === 'stop-process') {
    const released = observer.intervals.find((interval) => interval.host === stop.host && interval.toMs !== undefined && interval.toMs >= stop.atMs);
    const releasedAtMs = released?.toMs;
    // The first failing check comes within one interval; five more, an interval apart, make six.
    const releaseBoundMs = CHECK_FALL * CHECK_INTERVAL_MS + CHECK_TIMEOUT_MS + PROPAGATION_ALLOWANCE_MS;
    const earliestMs = (CHECK_FALL - 1) * CHECK_INTERVAL_MS;
    metrics['faultAfterMs'] = releasedAtMs === undefined ? -1 : releasedAtMs - stop.atMs;
    invariants.push(
      invariant(
        'the holder leaves the VIP after fall × interval failed checks, not before',
        releasedAtMs !== undefined && releasedAtMs - stop.atMs <= releaseBoundMs && releasedAtMs - stop.atMs >= earliestMs,
        releasedAtMs === undefined
          ? `${stop.host} still holds the VIP`
          : `${stop.host} released the VIP ${releasedAtMs - stop.atMs} ms after its apiserver stopped (window ${earliestMs}–${releaseBoundMs} ms)`,
      ),
    );
    const takeover = releasedAtMs === undefined ? undefined : observer.firstHoldFrom(releasedAtMs);
    // A priority-0 advert: the backups wait Skew_Time only.
    const skewBoundMs = skewTimeMs(2, 100, 1000) + PROPAGATION_ALLOWANCE_MS;
    const gapMs = takeover === undefined || releasedAtMs === undefined ? undefined : takeover.fromMs - releasedAtMs;
    metrics['failoverMs'] = gapMs ?? -1;
    invariants.push(
      invariant(
        'a backup takes over within Skew_Time of the resignation',
        gapMs !== undefined && gapMs <= skewBoundMs && takeover?.host !== stop.host,
        gapMs === undefined ? 'no takeover after the resignation' : `${takeover?.host} took over ${gapMs} ms after ${stop.host} resigned (bound ${skewBoundMs.toFixed(1)} ms)`,
      ),
    );
    const regained = releasedAtMs === undefined ? undefined : observer.firstHoldFrom(releasedAtMs, stop.host);
    invariants.push(
      invariant(
        'a FAULT instance never holds the VIP',
        regained === undefined,
        regained === undefined ? `${stop.host} never held the VIP again` : `${stop.host} held the VIP again at ${regained.fromMs} ms`,
      ),
    );
    const holders = observer.holdersAt(RUN_MS - 1);
    invariants.push(invariant('one holder at the end', holders.length === 1, `holders at the end: ${holders.join(', ') || 'none'}`));
  }
  metrics['holderChanges'] = observer.intervals.length;
  metrics['probesFailed'] = cluster.probes.filter((probe) => !probe.ok).length;
  return { world, faults, invariants, metrics };
}

export const apiserverDown: Scenario = {
  name: 'apiserver-down',
  summary: "the holder's apiserver stops; its health check puts keepalived into FAULT and the VIP moves after fall × interval",
  run,
};
