// etcd-partition: three masters run etcd; two clients on each master read and
// write four keys through their local member and record a history. One
// master (seeded: the leader a third of the time) is cut off from the other
// two for 15 s, then healed. The minority side's requests fail or time out
// while the majority keeps committing; afterwards the cut master serves again.
//
//   0-5 s   election       5 s clients start
//  15-16 s  a master is cut off (seeded instant and master)
//  +15 s    heal           45 s clients stop; 50 s final reads; 55 s end
import type { Scenario, ScenarioOptions, ScenarioRun } from '../sim/scenario.js';
import { invariant, type InvariantResult } from '../sim/scenario.js';
import type { Fault } from '../sim/network/faults.js';
import { scheduleFaults } from '../sim/network/faults.js';
import { Rng } from '../sim/network/rng.js';
import { buildEtcdCluster, ETCD_MASTERS, type EtcdCluster } from '../sim/etcd/cluster.js';
import { checkAcknowledgedWritesKept, checkLinearizable, checkOneLeaderPerTerm } from '../sim/etcd/oracles.js';
import { isPending, type KvOperation } from '../sim/etcd/linearizability/index.js';

const RUN_MS = 55_000;
const CLIENTS_FROM_MS = 5_000;
const CLIENTS_UNTIL_MS = 45_000;
const FINAL_READS_AT_MS = 50_000;
const CUT_EARLIEST_MS = 15_000;
const CUT_FOR_MS = 15_000;
/** A cut leader steps down within an election timeout (check-quorum), the others elect within two more. */
const MAJORITY_RESUMES_WITHIN_MS = 5_000;
/** After the heal the cut member hears the leader within a heartbeat or two, and its transport redials within 3 s. */
const MINORITY_RESUMES_WITHIN_MS = 10_000;

export function etcdPartitionFaults(seed: number): Fault[] {
  const rng = Rng.fromSeed(seed).fork('etcd-partition/cut');
  const atMs = CUT_EARLIEST_MS + rng.int(1_000);
  const cut = ETCD_MASTERS[rng.int(ETCD_MASTERS.length)] as string;
  return [
    { atMs, kind: 'partition', sideA: [cut], sideB: ETCD_MASTERS.filter((master) => master !== cut), id: 'cut' },
    { atMs: atMs + CUT_FOR_MS, kind: 'heal', id: 'cut' },
  ];
}

async function run({ seed, faults = etcdPartitionFaults(seed) }: ScenarioOptions): Promise<ScenarioRun> {
  const cluster = buildEtcdCluster({ seed, clientsFromMs: CLIENTS_FROM_MS, clientsUntilMs: CLIENTS_UNTIL_MS, finalReadsAtMs: FINAL_READS_AT_MS });
  scheduleFaults(cluster.world, faults);
  await cluster.world.run({ untilMs: RUN_MS });
  const invariants = [...etcdSafety(cluster).invariants];
  const cut = faults.find((fault) => fault.kind === 'partition');
  const heal = faults.find((fault) => fault.kind === 'heal');
  if (cut?.kind === 'partition' && cut.sideA.length === 1 && heal !== undefined) {
    invariants.push(...minorityStory(cluster, cut.sideA[0] as string, cut.atMs, heal.atMs));
  }
  return { world: cluster.world, faults, invariants, metrics: historyMetrics(cluster) };
}

/** The invariants every etcd run must keep, whatever its faults. */
export function etcdSafety(cluster: EtcdCluster): { invariants: InvariantResult[]; steps: number } {
  const linearizable = checkLinearizable(cluster.history);
  return { invariants: [linearizable.result, checkAcknowledgedWritesKept(cluster.history), checkOneLeaderPerTerm(cluster.leadership)], steps: linearizable.steps };
}

export function historyMetrics(cluster: EtcdCluster): Record<string, number> {
  const { history, leadership } = cluster;
  const writes = history.filter((operation) => operation.op !== 'get');
  return {
    operations: history.length,
    acknowledged: history.filter((operation) => !isPending(operation) && operation.ok !== false).length,
    acknowledgedWrites: writes.filter((operation) => !isPending(operation) && operation.ok !== false).length,
    unknownOutcome: history.filter(isPending).length,
    failed: history.filter((operation) => operation.ok === false).length,
    terms: new Set(leadership.filter((record) => record.role === 'leader').map((record) => record.term)).size,
  };
}

function succeeded(operation: KvOperation): boolean {
  return !isPending(operation) && operation.ok !== false;
}

function minorityStory(cluster: EtcdCluster, cutMaster: string, cutAtMs: number, healAtMs: number): InvariantResult[] {
  const minority = cluster.clientsOn.get(cutMaster) ?? new Set<number>();
  const onMinority = cluster.history.filter((operation) => minority.has(operation.client));
  const onMajority = cluster.history.filter((operation) => !minority.has(operation.client));
  // Begun after the cut and answered before the heal: nothing may have succeeded there.
  const minoritySucceeded = onMinority.filter((operation) => operation.invokeMs > cutAtMs && succeeded(operation) && (operation.returnMs as number) < healAtMs);
  const majorityWrites = onMajority.filter((operation) => operation.op !== 'get' && operation.invokeMs >= cutAtMs + MAJORITY_RESUMES_WITHIN_MS && succeeded(operation) && (operation.returnMs as number) < healAtMs);
  const firstBack = onMinority.filter((operation) => operation.invokeMs >= healAtMs && succeeded(operation)).sort((a, b) => (a.returnMs as number) - (b.returnMs as number))[0];
  const backAfterMs = firstBack === undefined ? undefined : (firstBack.returnMs as number) - healAtMs;
  return [
    invariant(
      `the cut-off member (${cutMaster}) serves nothing while cut off`,
      minoritySucceeded.length === 0,
      minoritySucceeded.length === 0
        ? `${onMinority.filter((operation) => operation.invokeMs > cutAtMs && operation.invokeMs < healAtMs).length} requests there during the cut, none succeeded`
        : `${minoritySucceeded.length} succeeded, e.g. client ${minoritySucceeded[0]?.client} ${minoritySucceeded[0]?.op} ${minoritySucceeded[0]?.key} at ${minoritySucceeded[0]?.invokeMs} ms`,
    ),
    invariant(
      'the majority keeps committing',
      majorityWrites.length > 0,
      `${majorityWrites.length} writes acknowledged on the majority side between ${cutAtMs + MAJORITY_RESUMES_WITHIN_MS} ms and the heal at ${healAtMs} ms`,
    ),
    invariant(
      `after the heal, ${cutMaster} serves again within ${MINORITY_RESUMES_WITHIN_MS / 1000} s`,
      backAfterMs !== undefined && backAfterMs <= MINORITY_RESUMES_WITHIN_MS,
      backAfterMs === undefined ? 'no request there succeeded after the heal' : `first success ${backAfterMs} ms after the heal`,
    ),
  ];
}

/** Fuzzed: anything may happen to the masters until the quiet point; then writes must succeed again within the bound. */
const FUZZ_QUIET_AT_MS = 35_000;
/** After the quiet point: a boot and WAL replay, an election (1-2 election timeouts), the transports redialling (3 s). */
const FUZZ_CONVERGE_BOUND_MS = 10_000;

async function fuzzRun({ seed, faults }: { seed: number; faults: Fault[] }): Promise<ScenarioRun> {
  const cluster = buildEtcdCluster({ seed, clientsFromMs: CLIENTS_FROM_MS, clientsUntilMs: CLIENTS_UNTIL_MS, finalReadsAtMs: FINAL_READS_AT_MS });
  scheduleFaults(cluster.world, faults);
  await cluster.world.run({ untilMs: RUN_MS });
  const resumed = cluster.history
    .filter((operation) => operation.op !== 'get' && operation.invokeMs >= FUZZ_QUIET_AT_MS && succeeded(operation))
    .sort((a, b) => (a.returnMs as number) - (b.returnMs as number))[0];
  const resumedAfterMs = resumed === undefined ? undefined : (resumed.returnMs as number) - FUZZ_QUIET_AT_MS;
  const invariants = [
    ...etcdSafety(cluster).invariants,
    invariant(
      `after the faults stop, writes succeed within ${FUZZ_CONVERGE_BOUND_MS / 1000} s`,
      resumedAfterMs !== undefined && resumedAfterMs <= FUZZ_CONVERGE_BOUND_MS,
      resumedAfterMs === undefined ? 'no write succeeded after the quiet point' : `first acknowledged write ${resumedAfterMs} ms after the quiet point`,
    ),
  ];
  return { world: cluster.world, faults, invariants, metrics: historyMetrics(cluster) };
}

export const etcdPartition: Scenario = {
  name: 'etcd-partition',
  summary: 'three etcd members with clients on each; one member is cut off for 15 s: the minority serves nothing, the majority commits, the history is linearizable',
  run,
  fuzz: {
    topology: {
      hosts: [...ETCD_MASTERS],
      crashable: [...ETCD_MASTERS],
      degradable: [...ETCD_MASTERS],
      processes: ETCD_MASTERS.flatMap((host) => [
        { host, process: 'etcd' },
        { host, process: 'apiserver' },
      ]),
      nats: [],
      faultsFromMs: CLIENTS_FROM_MS,
      quietAtMs: FUZZ_QUIET_AT_MS,
      episodesMax: 6,
    },
    convergeBoundMs: FUZZ_CONVERGE_BOUND_MS,
    runMs: RUN_MS,
    run: fuzzRun,
  },
};
