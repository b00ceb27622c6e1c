// preempt: a higher-priority master comes back and takes the VIP back —
// unless nopreempt is set. Two clusters run side by side on their own LANs,
// identical but for that one keyword:
//
//   a-* (198.18.1.0/24): m1 priority 150, m2 and m3 100, preemption on
//   b-* (198.18.2.0/24): the same priorities, nopreempt (the product's setting)
//
//   0 s      m1 starts first and becomes the holder; m2, m3 at 2 s and 2.5 s
//  10-11 s   m1's host crashes (seeded); a priority-100 backup takes over
//  +15 s     m1 boots again: in a-* it must take the VIP back, in b-* not
//  60 s      end
import type { Scenario, ScenarioOptions, ScenarioRun } from '../sim/scenario.js';
import { invariant, type InvariantResult } from '../sim/scenario.js';
import type { Fault } from '../sim/network/faults.js';
import { scheduleFaults } from '../sim/network/faults.js';
import { Rng } from '../sim/network/rng.js';
import { World } from '../sim/network/world.js';
import { addVrrpCluster, STAGGERED_MASTERS, type VrrpCluster } from '../sim/vrrp/cluster.js';
import { takeoverBoundMs } from '../sim/vrrp/oracle.js';

const RUN_MS = 60_000;
const RESTART_AFTER_MS = 15_000;
const HIGH_PRIORITY = 150;
/** Booting m1 again: its first health check must pass before it leaves FAULT, then it waits Master_Down_Interval. */
const REJOIN_ALLOWANCE_MS = 1_000;

const MASTERS = STAGGERED_MASTERS.map((spec) => (spec.name === 'm1' ? { ...spec, conf: { priority: HIGH_PRIORITY } } : spec));

export function preemptFaults(seed: number): Fault[] {
  const crashAtMs = 10_000 + Rng.fromSeed(seed).fork('preempt/crash').int(1_000);
  return ['a-m1', 'b-m1'].flatMap((host): Fault[] => [
    { atMs: crashAtMs, kind: 'crash', host },
    { atMs: crashAtMs + RESTART_AFTER_MS, kind: 'restart', host },
  ]);
}

async function run({ seed, faults = preemptFaults(seed) }: ScenarioOptions): Promise<ScenarioRun> {
  const world = new World({ seed });
  const preempting = addVrrpCluster(world, { masters: MASTERS, workers: 1, subnet: 1, prefix: 'a-', conf: { nopreempt: false } });
  const patient = addVrrpCluster(world, { masters: MASTERS, workers: 1, subnet: 2, prefix: 'b-', conf: { nopreempt: true } });
  scheduleFaults(world, faults);
  await world.run({ untilMs: RUN_MS });

  const restartOf = (host: string) => faults.find((fault) => fault.kind === 'restart' && fault.host === host)?.atMs;
  const invariants: InvariantResult[] = [];
  const metrics: Record<string, number | string> = {};
  const bound = takeoverBoundMs({ version: 2, advertIntervalMs: 1000, survivorPriority: HIGH_PRIORITY }) + REJOIN_ALLOWANCE_MS;

  const aRestart = restartOf('a-m1');
  if (aRestart !== undefined) {
    const back = firstHoldAfter(preempting, 'a-m1', aRestart);
    metrics['preemptMs'] = back === undefined ? -1 : back - aRestart;
    invariants.push(
      invariant(
        'with preemption, the returning higher-priority master takes the VIP back',
        back !== undefined && back - aRestart <= bound,
        back === undefined ? 'a-m1 never held the VIP again' : `a-m1 holds it again ${back - aRestart} ms after booting (bound ${bound.toFixed(1)} ms)`,
      ),
    );
    invariants.push(singleHolderAtEnd(preempting, 'a-m1'));
  }
  const bRestart = restartOf('b-m1');
  if (bRestart !== undefined) {
    const back = firstHoldAfter(patient, 'b-m1', bRestart);
    invariants.push(
      invariant(
        'with nopreempt, the returning master leaves the VIP where it is',
        back === undefined,
        back === undefined ? `b-m1 stayed a backup after booting at ${bRestart} ms` : `b-m1 took the VIP at ${back} ms`,
      ),
    );
    invariants.push(singleHolderAtEnd(patient, undefined));
  }
  metrics['holderChanges.a'] = preempting.observer.intervals.length;
  metrics['holderChanges.b'] = patient.observer.intervals.length;
  return { world, faults, invariants, metrics };
}

function firstHoldAfter(cluster: VrrpCluster, host: string, fromMs: number): number | undefined {
  return cluster.observer.firstHoldFrom(fromMs, host)?.fromMs;
}

function singleHolderAtEnd(cluster: VrrpCluster, expected: string | undefined): InvariantResult {
  const holders = cluster.observer.holdersAt(RUN_MS - 1);
  const ok = holders.length === 1 && (expected === undefined || holders[0] === expected);
  return invariant(
    `${cluster.vip} has exactly one holder at the end${expected === undefined ? '' : ` (${expected})`}`,
    ok,
    `holders at the end: ${holders.join(', ') || 'none'}`,
  );
}

export const preempt: Scenario = {
  name: 'preempt',
  summary: 'a higher-priority master returns and takes the VIP back, unless nopreempt is set',
  run,
};
