// etcd-crash: the etcd-partition cluster, but members lose power instead of
// their network, losing whatever was not fsynced. One member crashes and
// boots, then another, then all three at once: acknowledged writes were
// fsynced on a majority before the answer, so they must all survive, and the
// history must stay linearizable. Clients on a crashed master die with it (an
// operation in flight has an unknown outcome); each boot starts new clients.
//
//  12-13 s  a member crashes (seeded), boots 5 s later
//  22-23 s  another crashes, boots 2 s later
//  32-33 s  all three crash within 40 ms, boot 2 s later
//  45 s clients stop; 50 s final reads; 55 s end
import type { Scenario, ScenarioOptions, ScenarioRun } from '../sim/scenario.js';
import { invariant } from '../sim/scenario.js';
import type { Fault } from '../sim/network/faults.js';
import { scheduleFaults } from '../sim/network/faults.js';
import { Rng } from '../sim/network/rng.js';
import { buildEtcdCluster, ETCD_MASTERS } from '../sim/etcd/cluster.js';
import { isPending } from '../sim/etcd/linearizability/index.js';
import { etcdSafety, historyMetrics } from './etcd-partition.js';

const RUN_MS = 55_000;
const CLIENTS_FROM_MS = 5_000;
const CLIENTS_UNTIL_MS = 45_000;
const FINAL_READS_AT_MS = 50_000;
/** After the last boot: an election (1-2 election timeouts), the WAL replayed, clients up. */
const WRITES_RESUME_WITHIN_MS = 10_000;

export function etcdCrashFaults(seed: number): Fault[] {
  const rng = Rng.fromSeed(seed).fork('etcd-crash/schedule');
  const first = ETCD_MASTERS[rng.int(3)] as string;
  const second = ETCD_MASTERS.filter((master) => master !== first)[rng.int(2)] as string;
  const firstAtMs = 12_000 + rng.int(1_000);
  const secondAtMs = 22_000 + rng.int(1_000);
  const allAtMs = 32_000 + rng.int(1_000);
  const faults: Fault[] = [
    { atMs: firstAtMs, kind: 'crash', host: first },
    { atMs: firstAtMs + 5_000, kind: 'restart', host: first },
    { atMs: secondAtMs, kind: 'crash', host: second },
    { atMs: secondAtMs + 2_000, kind: 'restart', host: second },
    ...ETCD_MASTERS.flatMap((host, index): Fault[] => [
      { atMs: allAtMs + index * 20, kind: 'crash', host },
      { atMs: allAtMs + 2_000 + index * 20, kind: 'restart', host },
    ]),
  ];
  return faults.sort((a, b) => a.atMs - b.atMs);
}

async function run({ seed, faults = etcdCrashFaults(seed) }: ScenarioOptions): Promise<ScenarioRun> {
  const cluster = buildEtcdCluster({ seed, clientsFromMs: CLIENTS_FROM_MS, clientsUntilMs: CLIENTS_UNTIL_MS, finalReadsAtMs: FINAL_READS_AT_MS });
  scheduleFaults(cluster.world, faults);
  await cluster.world.run({ untilMs: RUN_MS });
  const lastBootMs = Math.max(0, ...faults.filter((fault) => fault.kind === 'restart').map((fault) => fault.atMs));
  const resumed = cluster.history
    .filter((operation) => operation.op !== 'get' && operation.invokeMs >= lastBootMs && !isPending(operation) && operation.ok !== false)
    .sort((a, b) => (a.returnMs as number) - (b.returnMs as number))[0];
  const resumedAfterMs = resumed === undefined ? undefined : (resumed.returnMs as number) - lastBootMs;
  const invariants = [
    ...etcdSafety(cluster).invariants,
    invariant(
      `writes succeed again within ${WRITES_RESUME_WITHIN_MS / 1000} s of the last boot`,
      resumedAfterMs !== undefined && resumedAfterMs <= WRITES_RESUME_WITHIN_MS,
      resumedAfterMs === undefined ? `no write succeeded after the last boot at ${lastBootMs} ms` : `first acknowledged write ${resumedAfterMs} ms after the last boot`,
    ),
  ];
  const metrics = { ...historyMetrics(cluster), crashes: faults.filter((fault) => fault.kind === 'crash').length, resumedAfterMs: resumedAfterMs ?? -1 };
  return { world: cluster.world, faults, invariants, metrics };
}

export const etcdCrash: Scenario = {
  name: 'etcd-crash',
  summary: 'three etcd members with clients on each crash and boot, one, another, then all at once: no acknowledged write lost, the history linearizable',
  run,
};
