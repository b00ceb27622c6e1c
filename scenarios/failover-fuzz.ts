// The failover cluster under a fuzzed fault schedule: three masters with the
// product's keepalived.conf and the apiserver stand-in, three workers probing
// the API through the VIP. Anything may happen to any of them until the quiet
// point at 60 s; then every fault has ended, and the run goes on to 120 s.
//
// Judged on every run:
// - the VIP is only ever on a MASTER;
// - a crashed holder is replaced within Master_Down_Interval + one advert,
//   and a resigning holder within Skew_Time (each judged when nothing else
//   happened meanwhile);
// - liveness: within CONVERGE_BOUND_MS of the quiet point every master is
//   BACKUP or MASTER, one holds the VIP, nothing changes until the end; and
//   from one GARP refresh later on, every worker's probes succeed.
import type { FuzzProfile, ScenarioRun } from '../sim/scenario.js';
import { invariant } from '../sim/scenario.js';
import type { Fault } from '../sim/network/faults.js';
import { scheduleFaults } from '../sim/network/faults.js';
import { buildVrrpCluster, STAGGERED_MASTERS } from '../sim/vrrp/cluster.js';
import { recordStates, type VrrpTimeline } from '../sim/vrrp/timeline.js';
import { checkConvergence, checkFailoverBound, checkGracefulHandover, checkVipOnlyOnMaster } from '../sim/vrrp/timeline-oracles.js';
import { masterDownIntervalMs } from '../src/runtime/keepalived/vrrp/timing.js';

const RUN_MS = 120_000;
const QUIET_AT_MS = 60_000;
/** m2 and m3 boot at 2 s and 2.5 s; faults may hit the first election. */
const FAULTS_FROM_MS = 3_000;
const ADVERT_INTERVAL_MS = 1_000;
const PRIORITY = 100;
/** Coarser than the scenario's 100 ms: liveness needs "answers again", not the outage to the millisecond. */
const PROBE_INTERVAL_MS = 500;
/** A probe already waiting on a dead holder (its 1 s timeout), plus one interval. */
const PROBE_ALLOWANCE_MS = 1_000 + PROBE_INTERVAL_MS;
/**
 * The product's vrrp_garp_master_refresh. Workers may still have a former
 * holder's MAC for the VIP when the holders converge: after a split brain
 * heals, the winner answers the loser's adverts with gratuitous ARPs, but with
 * AH it may drop them as replays and answer nothing. The holder's next
 * refresh puts every worker right.
 */
const GARP_REFRESH_MS = 10_000;
/**
 * From the quiet point, the slowest legitimate path to one holder: an
 * apiserver back at the quiet point is seen by its check at most one 10 s
 * interval later and must pass twice (rise 2) before its instance leaves
 * FAULT; then Master_Down_Interval and one advert; then the AH dual-master
 * window (DUAL_MASTER_ALLOWANCE_MS, 20 s), when two survivors took over in
 * the same instant.
 */
const CONVERGE_BOUND_MS = 30_000 + masterDownIntervalMs(2, PRIORITY, ADVERT_INTERVAL_MS) + ADVERT_INTERVAL_MS + 20_000;

const MASTERS = STAGGERED_MASTERS.map((master) => master.name);
const WORKERS = ['w1', 'w2', 'w3'];

async function run({ seed, faults }: { seed: number; faults: Fault[] }): Promise<ScenarioRun> {
  const cluster = buildVrrpCluster({ seed, masters: STAGGERED_MASTERS, workers: WORKERS.length, probeIntervalMs: PROBE_INTERVAL_MS });
  const { world, observer } = cluster;
  const recorder = recordStates(world, cluster);
  scheduleFaults(world, faults);
  await world.run({ untilMs: RUN_MS });

  const timeline: VrrpTimeline = {
    masters: cluster.masters.map((host, index) => ({ name: host.name, ip: `198.18.0.${11 + index}`, priority: PRIORITY })),
    advertIntervalMs: ADVERT_INTERVAL_MS,
    preempt: false,
    vip: observer.intervals.map((interval) => ({ ...interval })),
    states: [...recorder.states],
    faults: [...faults],
    quietAtMs: QUIET_AT_MS,
    endMs: RUN_MS,
  };
  const onlyOnMaster = checkVipOnlyOnMaster(timeline);
  const crashes = checkFailoverBound(timeline);
  const handovers = checkGracefulHandover(timeline);
  const convergence = checkConvergence(timeline, QUIET_AT_MS, CONVERGE_BOUND_MS);
  const answeredFromMs = (convergence.convergedAtMs ?? RUN_MS) + GARP_REFRESH_MS + PROBE_ALLOWANCE_MS;
  const unanswered = WORKERS.flatMap((worker) => {
    const probes = cluster.probes.filter((probe) => probe.worker === worker && probe.startMs >= answeredFromMs);
    const failed = probes.filter((probe) => !probe.ok);
    if (probes.length === 0) return [`${worker}: no probe after ${answeredFromMs} ms`];
    return failed.length === 0 ? [] : [`${worker}: ${failed.length}/${probes.length} failed, first at ${failed[0]?.startMs} ms (${failed[0]?.error ?? 'wrong answer'})`];
  });

  const invariants = [
    invariant('the VIP is only on a MASTER', onlyOnMaster.length === 0, onlyOnMaster.join('; ') || 'never held outside MASTER'),
    invariant(
      'a crashed holder is replaced within Master_Down_Interval + one advert',
      crashes.violations.length === 0,
      crashes.violations.join('; ') || `${crashes.judged} holder crash(es) judged, ${crashes.skipped} disturbed and not judged`,
    ),
    invariant(
      'a resigning holder is replaced within Skew_Time',
      handovers.violations.length === 0,
      handovers.violations.join('; ') || `${handovers.judged} resignation(s) judged, ${handovers.skipped} disturbed and not judged`,
    ),
    invariant(
      `after the faults stop, one holder and every master healthy within ${(CONVERGE_BOUND_MS / 1000).toFixed(1)} s`,
      convergence.violations.length === 0,
      convergence.violations.join('; ') || `converged ${(convergence.convergedAtMs ?? 0) - QUIET_AT_MS} ms after the quiet point`,
    ),
    invariant(
      "within one GARP refresh of convergence, every worker's probes succeed",
      convergence.convergedAtMs !== undefined && unanswered.length === 0,
      convergence.convergedAtMs === undefined ? 'not judged: never converged' : unanswered.join('; ') || `every probe from ${answeredFromMs} ms on succeeded`,
    ),
  ];
  const metrics = {
    convergedAfterQuietMs: convergence.convergedAtMs === undefined ? -1 : convergence.convergedAtMs - QUIET_AT_MS,
    crashesJudged: crashes.judged,
    handoversJudged: handovers.judged,
    holderChanges: observer.intervals.length,
    probes: cluster.probes.length,
  };
  return { world, faults, invariants, metrics };
}

export const failoverFuzz: FuzzProfile = {
  topology: {
    hosts: [...MASTERS, ...WORKERS],
    crashable: [...MASTERS, ...WORKERS],
    degradable: [...MASTERS, ...WORKERS],
    processes: MASTERS.flatMap((host) => [
      { host, process: 'keepalived' },
      { host, process: 'apiserver' },
    ]),
    nats: [],
    faultsFromMs: FAULTS_FROM_MS,
    quietAtMs: QUIET_AT_MS,
    episodesMax: 8,
  },
  convergeBoundMs: CONVERGE_BOUND_MS,
  runMs: RUN_MS,
  run,
};
