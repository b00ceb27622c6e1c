// split-brain: the masters are cut off from each other. Each side elects a
// holder of its own — two holders while the partition lasts is VRRP doing
// its job — and after the heal exactly one holder remains.
//
//   0 s      m1 starts first and becomes the holder; m2, m3 at 2 s and 2.5 s
//  12-13 s   m1 | m2 m3 partition (seeded instant; w1 on m1's side, w2 w3 on the other)
//  +20 s     heal
//  60 s      end
import type { Scenario, ScenarioOptions, ScenarioRun } from '../sim/scenario.js';
import { invariant, type InvariantResult } from '../sim/scenario.js';
import type { Fault } from '../sim/network/faults.js';
import { scheduleFaults } from '../sim/network/faults.js';
import { Rng } from '../sim/network/rng.js';
import { buildVrrpCluster, STAGGERED_MASTERS } from '../sim/vrrp/cluster.js';
import { DUAL_MASTER_ALLOWANCE_MS, takeoverBoundMs } from '../sim/vrrp/oracle.js';

const RUN_MS = 60_000;
const PARTITION_MS = 20_000;
const SIDES = [
  ['m1', 'w1'],
  ['m2', 'm3', 'w2', 'w3'],
] as const;

export function splitBrainFaults(seed: number): Fault[] {
  const atMs = 12_000 + Rng.fromSeed(seed).fork('split-brain/partition').int(1_000);
  return [
    { atMs, kind: 'partition', sideA: [...SIDES[0]], sideB: [...SIDES[1]], id: 'split' },
    { atMs: atMs + PARTITION_MS, kind: 'heal', id: 'split' },
  ];
}

async function run({ seed, faults = splitBrainFaults(seed) }: ScenarioOptions): Promise<ScenarioRun> {
  const cluster = buildVrrpCluster({ seed, masters: STAGGERED_MASTERS, workers: 3 });
  const { world, observer } = cluster;
  scheduleFaults(world, faults);
  await world.run({ untilMs: RUN_MS });

  const partition = faults.find((fault) => fault.kind === 'partition');
  const heal = faults.find((fault) => fault.kind === 'heal');
  const bound = takeoverBoundMs({ version: 2, advertIntervalMs: 1000, survivorPriority: 100 });
  const invariants: InvariantResult[] = [];
  const metrics: Record<string, number | string> = {};
  if (partition !== undefined && partition.kind === 'partition') {
    // By the end of the partition each side has one holder of its own.
    const settledAtMs = partition.atMs + bound + DUAL_MASTER_ALLOWANCE_MS;
    const checkAtMs = Math.min(settledAtMs, (heal?.atMs ?? RUN_MS) - 1);
    const holders = observer.holdersAt(checkAtMs);
    const perSide = [partition.sideA, partition.sideB].map((side) => holders.filter((host) => side.includes(host)));
    invariants.push(
      invariant(
        'during the partition, one holder per side that has masters',
        perSide.every((sideHolders) => sideHolders.length === 1),
        `holders at ${checkAtMs} ms: ${perSide.map((sideHolders, i) => `side ${i + 1}: ${sideHolders.join(', ') || 'none'}`).join('; ')}`,
      ),
    );
    const secondHolder = observer.intervals.find((interval) => interval.fromMs >= partition.atMs && partition.sideB.includes(interval.host));
    metrics['partitionTakeoverMs'] = secondHolder === undefined ? -1 : secondHolder.fromMs - partition.atMs;
  }
  if (heal !== undefined) {
    const { convergedAtMs } = observer.convergence(heal.atMs, RUN_MS);
    metrics['healConvergenceMs'] = convergedAtMs - heal.atMs;
    const limitMs = bound + DUAL_MASTER_ALLOWANCE_MS;
    invariants.push(
      invariant(
        'after healing, one holder',
        convergedAtMs - heal.atMs <= limitMs && observer.holdersAt(RUN_MS - 1).length === 1,
        `two holders until ${convergedAtMs - heal.atMs} ms after the heal (allowed ${limitMs.toFixed(1)} ms); holders at the end: ${observer.holdersAt(RUN_MS - 1).join(', ') || 'none'}`,
      ),
    );
    const changes = observer.changesBetween(convergedAtMs + 1, RUN_MS);
    invariants.push(invariant('no flapping after convergence', changes === 0, `${changes} holder change(s) after convergence at ${convergedAtMs} ms`));
  }
  metrics['holderChanges'] = observer.intervals.length;
  return { world, faults, invariants, metrics };
}

export const splitBrain: Scenario = {
  name: 'split-brain',
  summary: 'masters partitioned from each other elect one holder per side; after healing, one holder',
  run,
};
