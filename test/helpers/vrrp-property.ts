// Random keepalived clusters under random faults, for the VRRP property tests
// (test/vrrp-property.test.ts): the generated case, and a runner that builds
// the cluster with sim/vrrp/cluster.ts, applies the faults and returns the
// timeline the run leaves behind (sim/vrrp/timeline.ts) for the oracles
// (sim/vrrp/timeline-oracles.ts).
import fc from 'fast-check';
import { World } from '../../sim/network/world.js';
import { applyFault, validateFaults, type Fault } from '../../sim/network/faults.js';
import { addVrrpCluster, type VrrpCluster } from '../../sim/vrrp/cluster.js';
import { describeTimeline, lastDisturbanceMs, recordStates, settleMs, type VrrpTimeline } from '../../sim/vrrp/timeline.js';

/** The cluster's LAN: masters are 198.18.SUBNET.11, .12, … in order, the VIP .10. */
const SUBNET = 0;
const MASTERS_MAX = 4;
/** After the settling point, the timeline is judged over this much more time (so that "stays so" is checked too). */
export const JUDGED_TAIL_MS = 5_000;
/** No run goes past this, however late its faults take effect. */
const RUN_MS_MAX = 400_000;
/** How many times a run is extended because a late FAULT/STOP moved its settling point. */
const RUN_EXTENSIONS_MAX = 8;

// ------------------------------------------------------------------ the generated case

export interface MasterCase {
  /** 1..254; equal priorities are common on purpose (the product runs them all at 100). */
  priority: number;
  bootAtMs: number;
}

/** A master by index (taken modulo the number of masters), or whoever holds the VIP when the fault fires. */
export type FaultTarget = number | 'holder';

export type FaultPlan =
  | { kind: 'crash'; target: FaultTarget; atMs: number; restartAfterMs: number | undefined }
  | {
      kind: 'partition';
      /** Which masters are on side A: the bits of a number in 1..2^n-2 (taken modulo), so both sides have masters. */
      sideMask: number;
      atMs: number;
      healAfterMs: number | undefined;
    }
  | { kind: 'stop-apiserver'; target: FaultTarget; atMs: number; restartAfterMs: number | undefined }
  | { kind: 'stop-keepalived'; target: FaultTarget; atMs: number; restartAfterMs: number | undefined };

export interface VrrpCase {
  /** The world's seed: the LAN's jitter and the hosts' scheduling noise. */
  seed: number;
  /** VRRPv2 requires every router of a virtual router to use the same interval. */
  advertIntervalS: 1 | 2;
  preempt: boolean;
  masters: MasterCase[];
  faults: FaultPlan[];
}

export interface CaseShape {
  preempt?: boolean;
  /** Fault kinds to draw from; all four by default. */
  faultKinds?: readonly FaultPlan['kind'][];
  faultsMin?: number;
  faultsMax?: number;
}

const priorityArb = fc.oneof(fc.integer({ min: 1, max: 254 }), fc.constantFrom(1, 100, 254));
const bootAtMsArb = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 5_000 }));
const faultAtMsArb = fc.integer({ min: 1_000, max: 30_000 });
const outageMsArb = fc.option(fc.integer({ min: 500, max: 20_000 }), { nil: undefined });
/** The product's check fails 6 times 10 s apart before FAULT: an apiserver back within a minute never causes one. */
const apiserverOutageMsArb = fc.option(fc.oneof(fc.integer({ min: 5_000, max: 30_000 }), fc.integer({ min: 60_000, max: 90_000 })), { nil: undefined });

/** One fault in five aims at whoever holds the VIP when it fires. */
const targetArb: fc.Arbitrary<FaultTarget> = fc.oneof(
  { arbitrary: fc.constant<FaultTarget>('holder'), weight: 1 },
  { arbitrary: fc.integer({ min: 0, max: MASTERS_MAX - 1 }), weight: 4 },
);

function faultArb(kind: FaultPlan['kind']): fc.Arbitrary<FaultPlan> {
  // One record per kind: fast-check shrinks each field on its own.
  switch (kind) {
    case 'crash':
      return fc.record({ kind: fc.constant('crash' as const), target: targetArb, atMs: faultAtMsArb, restartAfterMs: outageMsArb });
    case 'partition':
      return fc.record({ kind: fc.constant('partition' as const), sideMask: fc.integer({ min: 1, max: 2 ** MASTERS_MAX - 2 }), atMs: faultAtMsArb, healAfterMs: outageMsArb });
    case 'stop-apiserver':
      return fc.record({ kind: fc.constant('stop-apiserver' as const), target: targetArb, atMs: faultAtMsArb, restartAfterMs: apiserverOutageMsArb });
    case 'stop-keepalived':
      return fc.record({ kind: fc.constant('stop-keepalived' as const), target: targetArb, atMs: faultAtMsArb, restartAfterMs: outageMsArb });
  }
}

export function vrrpCaseArb(shape: CaseShape = {}): fc.Arbitrary<VrrpCase> {
  const kinds = shape.faultKinds ?? ['crash', 'partition', 'stop-apiserver', 'stop-keepalived'];
  return fc.record({
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    advertIntervalS: fc.constantFrom(1 as const, 2 as const),
    preempt: shape.preempt === undefined ? fc.boolean() : fc.constant(shape.preempt),
    masters: fc.array(fc.record({ priority: priorityArb, bootAtMs: bootAtMsArb }), { minLength: 2, maxLength: MASTERS_MAX }),
    faults: fc.array(fc.oneof(...kinds.map((kind) => faultArb(kind))), { minLength: shape.faultsMin ?? 0, maxLength: shape.faultsMax ?? 3 }),
  });
}

/**
 * Cases for the failover property: a crash of whoever holds the VIP once the
 * first election is surely over (the latest boot plus the longest
 * Master_Down_Interval is 5 s + 7 s), maybe a reboot, and at most one other
 * fault around it.
 */
export function failoverCaseArb(): fc.Arbitrary<VrrpCase> {
  const holderCrash = fc.record({
    kind: fc.constant('crash' as const),
    target: fc.constant<FaultTarget>('holder'),
    atMs: fc.integer({ min: 13_000, max: 30_000 }),
    restartAfterMs: outageMsArb,
  });
  return fc
    .tuple(vrrpCaseArb({ faultKinds: ['crash', 'partition', 'stop-keepalived'], faultsMax: 1 }), holderCrash)
    .map(([testCase, crash]) => ({ ...testCase, faults: [crash, ...testCase.faults] }));
}

// ------------------------------------------------------------------ running a case

export interface CaseRun {
  timeline: VrrpTimeline;
  cluster: VrrpCluster;
}

function masterName(index: number): string {
  return `m${index + 1}`;
}

export interface RunExtras {
  /** Concrete faults applied as they are, besides the case's (for the sanity tests' hand-made stories). */
  faults?: readonly Fault[];
  /** Called once the cluster is built, before time runs: schedule what no Fault can express. */
  setUp?: (cluster: VrrpCluster) => void;
}

/** Builds the cluster, applies the case's faults, and runs until the cluster has had time to settle after the last disturbance. */
export async function runCase(testCase: VrrpCase, extras: RunExtras = {}): Promise<CaseRun> {
  const world = new World({ seed: testCase.seed });
  const cluster = addVrrpCluster(world, {
    masters: testCase.masters.map((master, index) => ({
      name: masterName(index),
      bootAtMs: master.bootAtMs,
      conf: { priority: master.priority, nopreempt: !testCase.preempt, advertIntervalS: testCase.advertIntervalS },
    })),
    workers: 0,
    subnet: SUBNET,
  });
  const recorder = recordStates(world, cluster);
  const applied: Fault[] = [];
  testCase.faults.forEach((plan, index) => planFault(world, cluster, plan, index, applied));
  validateFaults(world, extras.faults ?? []);
  for (const fault of extras.faults ?? []) {
    world.engine.schedule(fault.atMs, () => {
      applied.push(fault);
      applyFault(world, fault);
    });
  }
  extras.setUp?.(cluster);

  const advertIntervalMs = testCase.advertIntervalS * 1_000;
  const plannedQuietMs = Math.max(
    ...testCase.masters.map((master) => master.bootAtMs),
    ...testCase.faults.map(plannedEndMs),
    ...(extras.faults ?? []).map((fault) => fault.atMs),
  );
  let endMs = plannedQuietMs + settleMs(advertIntervalMs) + JUDGED_TAIL_MS;
  await world.run({ untilMs: endMs });
  // A late disturbance (an apiserver stopped a minute ago makes its instance
  // FAULT now) moves the settling point: run on until it is behind us.
  for (let extension = 0; extension < RUN_EXTENSIONS_MAX; extension++) {
    const wantedEndMs = Math.ceil(lastDisturbanceMs(recorder, applied) + settleMs(advertIntervalMs) + JUDGED_TAIL_MS);
    if (wantedEndMs <= endMs) break;
    if (wantedEndMs > RUN_MS_MAX) throw new Error(`the run would need ${wantedEndMs} ms to settle, past RUN_MS_MAX ${RUN_MS_MAX} ms`);
    endMs = wantedEndMs;
    await world.run({ untilMs: endMs });
  }

  const timeline: VrrpTimeline = {
    masters: cluster.masters.map((host, index) => ({ name: host.name, ip: `198.18.${SUBNET}.${11 + index}`, priority: testCase.masters[index]!.priority })),
    advertIntervalMs,
    preempt: testCase.preempt,
    vip: cluster.observer.intervals.map((interval) => ({ ...interval })),
    states: [...recorder.states],
    faults: [...applied].sort((a, b) => a.atMs - b.atMs),
    quietAtMs: lastDisturbanceMs(recorder, applied),
    endMs,
  };
  if (world.failures.length > 0) {
    const failure = world.failures[0]!;
    throw new Error(`scenario code failed on ${failure.host} at ${failure.atMs} ms: ${String(failure.error)}\n${describeTimeline(timeline)}`);
  }
  return { timeline, cluster };
}

/** When a planned fault's last step (restart, heal) is due; what it sets off afterwards is observed, not predicted. */
function plannedEndMs(plan: FaultPlan): number {
  return plan.atMs + ((plan.kind === 'partition' ? plan.healAfterMs : plan.restartAfterMs) ?? 0);
}

/**
 * Schedules one planned fault. Targets are resolved when the fault fires
 * ('holder': whoever holds the VIP then), and a step that would do nothing
 * (crash a host that is down, stop a process that is not running) is left
 * out, so that `applied` is exactly what happened, ready to print and replay
 * with scheduleFaults.
 */
function planFault(world: World, cluster: VrrpCluster, plan: FaultPlan, index: number, applied: Fault[]): void {
  const masters = cluster.masters;
  const apply = (fault: Fault): void => {
    validateFaults(world, [fault]);
    applied.push(fault);
    applyFault(world, fault);
  };
  const resolve = (target: FaultTarget): string => {
    if (target === 'holder') return cluster.observer.currentHolders()[0] ?? masters[0]!.name;
    return masters[target % masters.length]!.name;
  };
  const now = (): number => world.engine.elapsedMs();
  const at = (atMs: number, step: () => void): void => {
    world.engine.schedule(Math.max(0, atMs - now()), step);
  };
  switch (plan.kind) {
    case 'partition': {
      const id = `cut${index}`;
      const mask = (plan.sideMask % (2 ** masters.length - 2)) + 1;
      const sideA = masters.filter((_, bit) => (mask & (1 << bit)) !== 0).map((host) => host.name);
      const sideB = masters.filter((_, bit) => (mask & (1 << bit)) === 0).map((host) => host.name);
      at(plan.atMs, () => apply({ atMs: now(), kind: 'partition', sideA, sideB, id }));
      if (plan.healAfterMs !== undefined) at(plan.atMs + plan.healAfterMs, () => apply({ atMs: now(), kind: 'heal', id }));
      return;
    }
    case 'crash':
      at(plan.atMs, () => {
        const host = world.getHost(resolve(plan.target));
        if (!host.up) return;
        apply({ atMs: now(), kind: 'crash', host: host.name });
        if (plan.restartAfterMs === undefined) return;
        at(now() + plan.restartAfterMs, () => {
          if (!host.up) apply({ atMs: now(), kind: 'restart', host: host.name });
        });
      });
      return;
    case 'stop-apiserver':
    case 'stop-keepalived': {
      const process = plan.kind === 'stop-apiserver' ? 'apiserver' : 'keepalived';
      at(plan.atMs, () => {
        const host = world.getHost(resolve(plan.target));
        if (!host.up || host.processes.status(process)?.state !== 'running') return;
        apply({ atMs: now(), kind: 'stop-process', host: host.name, process });
        if (plan.restartAfterMs === undefined) return;
        const processes = host.processes;
        at(now() + plan.restartAfterMs, () => {
          // A reboot in between started it again: nothing to restart.
          if (!host.up || host.processes !== processes || processes.status(process)?.state !== 'stopped') return;
          apply({ atMs: now(), kind: 'restart-process', host: host.name, process });
        });
      });
      return;
    }
  }
}
