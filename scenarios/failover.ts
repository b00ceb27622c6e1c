// failover: the lab's headline. Three masters run keepalived with the
// product's configuration (priority 100, advert 1 s, nopreempt, AH) and an
// apiserver stand-in; three workers GET /healthz through the VIP every
// 100 ms. The VIP holder's host crashes at a seeded time; a backup must take
// the VIP over within Master_Down_Interval plus one advert, the workers'
// probes must come back, and the VIP must then stay put — also when the
// crashed master boots again and rejoins as a backup.
//
//   0.0 s   m1 starts (so it becomes the first holder), m2 and m3 at 2 s and 2.5 s
//  15-16 s  m1's host crashes (seeded instant within an advert interval)
//  +20 s    m1 boots again
//  60 s     end
import type { Scenario, ScenarioOptions, ScenarioRun } from '../sim/scenario.js';
import { invariant } from '../sim/scenario.js';
import type { Fault } from '../sim/network/faults.js';
import { scheduleFaults } from '../sim/network/faults.js';
import { Rng } from '../sim/network/rng.js';
import { buildVrrpCluster, PROBE_INTERVAL_MS, STAGGERED_MASTERS } from '../sim/vrrp/cluster.js';
import { checkFailover } from '../sim/vrrp/oracle.js';
import { failoverFuzz } from './failover-fuzz.js';

const RUN_MS = 60_000;
const CRASH_EARLIEST_MS = 15_000;
const RESTART_AFTER_MS = 20_000;
/** A probe already waiting on the dead holder, plus one probe interval, plus ARP. */
const PROBE_ALLOWANCE_MS = 1_000 + PROBE_INTERVAL_MS;

/** The crash instant is part of the seed's story, not of the network's randomness. */
export function failoverFaults(seed: number): Fault[] {
  const crashAtMs = CRASH_EARLIEST_MS + Rng.fromSeed(seed).fork('failover/crash').int(1_000);
  return [
    { atMs: crashAtMs, kind: 'crash', host: 'm1' },
    { atMs: crashAtMs + RESTART_AFTER_MS, kind: 'restart', host: 'm1' },
  ];
}

async function run({ seed, faults = failoverFaults(seed) }: ScenarioOptions): Promise<ScenarioRun> {
  const cluster = buildVrrpCluster({ seed, masters: STAGGERED_MASTERS, workers: 3 });
  const { world, observer } = cluster;
  scheduleFaults(world, faults);
  await world.run({ untilMs: RUN_MS });

  const crash = faults.find((fault) => fault.kind === 'crash');
  const invariants = [];
  const metrics: Record<string, number | string> = {};
  const firstHolder = observer.intervals[0];
  invariants.push(
    invariant(
      'one master holds the VIP before the crash',
      crash !== undefined && observer.holdersAt(crash.atMs - 1).length === 1,
      `holders just before the crash: ${crash === undefined ? 'no crash scheduled' : observer.holdersAt(crash.atMs - 1).join(', ') || 'none'}; first holder ${firstHolder?.host ?? 'none'} at ${firstHolder?.fromMs ?? '-'} ms`,
    ),
  );
  if (crash !== undefined && crash.kind === 'crash') {
    const conf = cluster.confOf('m2');
    const outcome = checkFailover({
      observer,
      probes: cluster.probes,
      workers: cluster.workers.map((host) => host.name),
      lostAtMs: crash.atMs,
      lostHolder: crash.host,
      timing: { version: 2, advertIntervalMs: (conf.advertIntervalS ?? 1) * 1000, survivorPriority: conf.priority ?? 100 },
      probeAllowanceMs: PROBE_ALLOWANCE_MS,
      endMs: RUN_MS,
    });
    invariants.push(...outcome.invariants);
    metrics['failoverMs'] = outcome.failoverMs ?? -1;
    metrics['dualMasterMs'] = outcome.dualMasterMs;
    metrics['newHolder'] = outcome.newHolder ?? 'none';
    for (const [worker, outageMs] of Object.entries(outcome.apiOutageMs)) metrics[`apiOutageMs.${worker}`] = outageMs ?? -1;
  }
  metrics['crashAtMs'] = crash?.atMs ?? -1;
  metrics['holderChanges'] = observer.intervals.length;
  metrics['probes'] = cluster.probes.length;
  metrics['probesFailed'] = cluster.probes.filter((probe) => !probe.ok).length;
  return { world, faults, invariants, metrics };
}

export const failover: Scenario = {
  name: 'failover',
  summary: 'three masters with the product keepalived.conf; the VIP holder crashes; a backup takes over within Master_Down_Interval',
  run,
  fuzz: failoverFuzz,
};
