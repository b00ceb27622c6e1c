// vip-minority: the failover cluster with etcd on the masters, meshed over a
// second network (eth1). The VIP holder (m1) loses that network: its etcd
// member is now the minority, so its apiserver's /healthz fails, while VRRP
// on eth0 still hears it. keepalived's check (every 10 s, fall 6) puts m1
// into FAULT; m1 resigns with a priority-0 advert and a majority master takes
// the VIP within Skew_Time, where the API answers again.
//
//   ~24 s  m1 holds the VIP (the first health checks wait for etcd's quorum)
//  40-41 s  m1's eth1 loses every frame (seeded instant)
//  +50-70 s m1 goes FAULT, the VIP moves; 130 s end
import type { Scenario, ScenarioOptions, ScenarioRun } from '../sim/scenario.js';
import { invariant } from '../sim/scenario.js';
import type { Fault } from '../sim/network/faults.js';
import { scheduleFaults } from '../sim/network/faults.js';
import { Rng } from '../sim/network/rng.js';
import { buildVrrpCluster, STAGGERED_MASTERS } from '../sim/vrrp/cluster.js';
import { recordStates, type VrrpTimeline } from '../sim/vrrp/timeline.js';
import { checkGracefulHandover, checkVipOnlyOnMaster } from '../sim/vrrp/timeline-oracles.js';
import { outageAfter } from '../sim/workloads/api-probe.js';

const RUN_MS = 130_000;
const CUT_EARLIEST_MS = 40_000;
const PROBE_INTERVAL_MS = 250;
const CHECK_INTERVAL_MS = 10_000;
const CHECK_FALL = 6;
/** /healthz fails within its 1 s quorum read, plus the failed-read reuse window. */
const HEALTH_FAILS_WITHIN_MS = 2_500;
/** The check fails `fall` times in a row after the health went bad; the first failing run may be up to one interval away. */
const FAULT_WITHIN_MS = HEALTH_FAILS_WITHIN_MS + CHECK_FALL * CHECK_INTERVAL_MS + CHECK_INTERVAL_MS;
/** Skew_Time (0.609 s), a probe in flight (its 1 s timeout), one probe interval, ARP. */
const API_BACK_WITHIN_MS = 2_500;

export function vipMinorityFaults(seed: number): Fault[] {
  const atMs = CUT_EARLIEST_MS + Rng.fromSeed(seed).fork('vip-minority/cut').int(1_000);
  return [{ atMs, kind: 'degrade', host: 'm1', iface: 'eth1', link: { lossRate: 1 } }];
}

async function run({ seed, faults = vipMinorityFaults(seed) }: ScenarioOptions): Promise<ScenarioRun> {
  const cluster = buildVrrpCluster({ seed, masters: STAGGERED_MASTERS, workers: 3, probeIntervalMs: PROBE_INTERVAL_MS, etcd: { subnet: 1 } });
  const { world, observer } = cluster;
  const recorder = recordStates(world, cluster);
  const renewals: { atMs: number; worker: string; ok: boolean }[] = [];
  world.engine.trace.subscribe('log.info', (event) => {
    if (event.fields['event'] === 'kubelet.lease_renew') renewals.push({ atMs: event.atMs, worker: event.host, ok: event.fields['ok'] === true });
  });
  world.engine.trace.subscribe('log.warn', (event) => {
    if (event.fields['event'] === 'kubelet.lease_renew') renewals.push({ atMs: event.atMs, worker: event.host, ok: event.fields['ok'] === true });
  });
  scheduleFaults(world, faults);
  await world.run({ untilMs: RUN_MS });

  const cut = faults.find((fault) => fault.kind === 'degrade');
  const cutAtMs = cut?.atMs ?? 0;
  const holderAtCut = observer.holdersAt(cutAtMs);
  const m1Fault = recorder.states.find((change) => change.host === 'm1' && change.state === 'FAULT' && change.atMs > cutAtMs);
  const takeover = observer.intervals.find((interval) => interval.host !== 'm1' && interval.fromMs > cutAtMs);
  const workers = cluster.workers.map((host) => host.name);
  const lastProbes = workers.map((worker) => cluster.probes.filter((probe) => probe.worker === worker).at(-1));
  const timeline: VrrpTimeline = {
    masters: cluster.masters.map((host, index) => ({ name: host.name, ip: `198.18.0.${11 + index}`, priority: 100 })),
    advertIntervalMs: 1_000,
    preempt: false,
    vip: observer.intervals.map((interval) => ({ ...interval })),
    states: [...recorder.states],
    faults: [...faults],
    quietAtMs: cutAtMs,
    endMs: RUN_MS,
  };
  // The degraded link is eth1, the etcd network: the handover oracle knows VRRP runs on eth0.
  const handovers = checkGracefulHandover(timeline);
  const takeoverAfterFaultMs = takeover === undefined || m1Fault === undefined ? undefined : takeover.fromMs - m1Fault.atMs;
  const onlyOnMaster = checkVipOnlyOnMaster(timeline);
  const healthFailedAtMs = cluster.probes.find((probe) => probe.startMs >= cutAtMs && !probe.ok && observer.holdersAt(probe.startMs).includes('m1'))?.startMs;
  const faultAfterMs = m1Fault === undefined ? undefined : m1Fault.atMs - cutAtMs;
  const apiBackAfterMs = m1Fault === undefined ? {} : Object.fromEntries(workers.map((worker) => [worker, outageAfter(cluster.probes, worker, m1Fault.atMs)]));

  const invariants = [
    invariant('m1 holds the VIP when its etcd network goes', holderAtCut.length === 1 && holderAtCut[0] === 'm1', `holders at ${cutAtMs} ms: ${holderAtCut.join(', ') || 'none'}`),
    invariant(
      `m1's /healthz fails through the VIP within ${HEALTH_FAILS_WITHIN_MS / 1000} s of the cut`,
      healthFailedAtMs !== undefined && healthFailedAtMs - cutAtMs <= HEALTH_FAILS_WITHIN_MS,
      healthFailedAtMs === undefined ? 'no probe failed while m1 held the VIP' : `first failing probe ${healthFailedAtMs - cutAtMs} ms after the cut`,
    ),
    invariant(
      `keepalived puts m1 into FAULT within ${FAULT_WITHIN_MS / 1000} s (check every 10 s, fall 6)`,
      faultAfterMs !== undefined && faultAfterMs <= FAULT_WITHIN_MS,
      faultAfterMs === undefined ? 'm1 never went FAULT' : `FAULT ${faultAfterMs} ms after the cut`,
    ),
    invariant(
      'a majority master takes the VIP within Skew_Time of the resignation',
      handovers.judged > 0 && handovers.violations.length === 0,
      handovers.violations.join('; ') ||
        (handovers.judged === 0 ? `no resignation judged (${handovers.skipped} disturbed)` : `${takeover?.host} took over ${takeoverAfterFaultMs} ms after m1's FAULT`),
    ),
    invariant(
      `the API answers through the VIP again within ${API_BACK_WITHIN_MS / 1000} s, and to the end`,
      Object.values(apiBackAfterMs).every((ms) => ms !== undefined && ms <= API_BACK_WITHIN_MS) && lastProbes.every((probe) => probe?.ok === true),
      `after the FAULT: ${Object.entries(apiBackAfterMs).map(([worker, ms]) => `${worker} ${ms ?? 'never'} ms`).join(', ')}; last probes ${lastProbes.map((probe) => (probe?.ok ? 'ok' : 'failed')).join(', ')}`,
    ),
    invariant(
      "every worker's kubelet renews its node lease through the VIP after the move",
      workers.every((worker) => renewals.some((renewal) => renewal.worker === worker && renewal.ok && takeover !== undefined && renewal.atMs > takeover.fromMs)),
      workers
        .map((worker) => {
          const after = renewals.filter((renewal) => renewal.worker === worker && takeover !== undefined && renewal.atMs > takeover.fromMs);
          return `${worker}: ${after.filter((renewal) => renewal.ok).length}/${after.length} renewals ok after the move`;
        })
        .join(', '),
    ),
    invariant('the VIP is only on a MASTER', onlyOnMaster.length === 0, onlyOnMaster.join('; ') || 'never held outside MASTER'),
  ];
  const metrics = {
    cutAtMs,
    faultAfterMs: faultAfterMs ?? -1,
    takeoverAfterFaultMs: takeoverAfterFaultMs ?? -1,
    newHolder: takeover?.host ?? 'none',
    ...Object.fromEntries(Object.entries(apiBackAfterMs).map(([worker, ms]) => [`apiBackMs.${worker}`, ms ?? -1])),
  };
  return { world, faults, invariants, metrics };
}

export const vipMinority: Scenario = {
  name: 'vip-minority',
  summary: "the VIP holder's etcd member ends up in the minority: its /healthz fails, keepalived puts it into FAULT, and the VIP moves to the majority",
  run,
};
