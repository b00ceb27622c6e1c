// Random keepalived clusters under random faults, for the VRRP property tests
// (test/vrrp-property.test.ts): the generated case, a runner that builds the
// cluster with sim/vrrp/cluster.ts and applies the faults, the timeline the
// run leaves behind (who held the VIP, each master's instance state, which
// masters could hear each other), and the four oracles over that timeline.
//
// The oracles are pure functions of a timeline and return what broke, one
// sentence per violation: the property tests assert that the list is empty,
// and the sanity tests feed them timelines that must break them.
import fc from 'fast-check';
import { World } from '../../sim/network/world.js';
import { applyFault, describeFault, validateFaults, type Fault } from '../../sim/network/faults.js';
import { addVrrpCluster, type VrrpCluster } from '../../sim/vrrp/cluster.js';
import type { HoldInterval } from '../../sim/vrrp/vip-observer.js';
import { DUAL_MASTER_ALLOWANCE_MS, PROPAGATION_ALLOWANCE_MS, takeoverBoundMs } from '../../sim/vrrp/oracle.js';
import { masterDownIntervalMs } from '../../src/runtime/keepalived/vrrp/timing.js';
import type { VrrpState } from '../../src/runtime/keepalived/vrrp/instance.js';
import { compareIpv4 } from '../../src/runtime/net/ipv4-header.js';

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

// ------------------------------------------------------------------ the timeline

export type HostState = VrrpState | 'NONE' | 'DOWN';

export interface StateChange {
  atMs: number;
  host: string;
  /** NONE: up, keepalived not (yet) running; DOWN: the host crashed. */
  state: HostState;
}

export interface MasterInfo {
  name: string;
  ip: string;
  priority: number;
}

/** Everything the oracles judge, as data: a run's record, or a hand-made one. */
export interface VrrpTimeline {
  masters: MasterInfo[];
  advertIntervalMs: number;
  preempt: boolean;
  /** From the VipObserver: each host's holding of the VIP; toMs undefined: held at the end. */
  vip: HoldInterval[];
  /** Each master's instance state over time, in the order things happened (several may share an instant). */
  states: StateChange[];
  /** The faults as applied (targets resolved, no-ops left out), in time order. */
  faults: Fault[];
  /** After this, nothing disturbs the cluster any more: no fault, no crash or reboot, no instance entering or leaving INIT, FAULT or STOP. */
  quietAtMs: number;
  endMs: number;
}

/** What a run needs, after the last disturbance, before every component must have settled on one holder. */
export function settleMs(advertIntervalMs: number): number {
  // The lowest priority has the longest Master_Down_Interval; then one advert
  // to be heard, then the AH dual-master window.
  return masterDownIntervalMs(2, 1, advertIntervalMs) + advertIntervalMs + PROPAGATION_ALLOWANCE_MS + DUAL_MASTER_ALLOWANCE_MS;
}

export function settledAtMs(timeline: VrrpTimeline): number {
  return timeline.quietAtMs + settleMs(timeline.advertIntervalMs);
}

/** A master's state after everything that happened at or before `atMs`. */
export function stateAt(timeline: VrrpTimeline, host: string, atMs: number): HostState {
  let state: HostState = 'NONE';
  for (const change of timeline.states) {
    if (change.atMs > atMs) break;
    if (change.host === host) state = change.state;
  }
  return state;
}

/** Up, with an instance that takes part in elections (BACKUP or MASTER). */
export function isHealthy(state: HostState): boolean {
  return state === 'BACKUP' || state === 'MASTER';
}

/**
 * The groups of masters that can hear each other at `atMs`, from the
 * partitions then in force. Every generated partition splits all the masters
 * in two, so "can hear" is an equivalence: masters on the same side of every
 * partition in force. One-way partitions and degraded links are not
 * generated, and count for nothing here.
 */
export function componentsAt(timeline: VrrpTimeline, atMs: number): string[][] {
  const active = new Map<string, { sideA: string[]; sideB: string[] }>();
  for (const fault of timeline.faults) {
    if (fault.atMs > atMs) break;
    if (fault.kind === 'partition') active.set(fault.id ?? '', { sideA: fault.sideA, sideB: fault.sideB });
    else if (fault.kind === 'heal') {
      if (fault.id === undefined) active.clear();
      else active.delete(fault.id);
    }
  }
  const groups = new Map<string, string[]>();
  for (const master of timeline.masters) {
    const signature = [...active.values()].map((cut) => (cut.sideA.includes(master.name) ? 'A' : cut.sideB.includes(master.name) ? 'B' : '-')).join('');
    const group = groups.get(signature) ?? [];
    group.push(master.name);
    groups.set(signature, group);
  }
  return [...groups.values()];
}

export function holdersAt(timeline: VrrpTimeline, atMs: number): string[] {
  return timeline.vip.filter((interval) => interval.fromMs <= atMs && (interval.toMs === undefined || atMs < interval.toMs)).map((interval) => interval.host);
}

// ------------------------------------------------------------------ the oracles

/** The settling point, then every instant of the judged tail at which the holder set changes. */
function judgedInstants(timeline: VrrpTimeline): number[] {
  const fromMs = settledAtMs(timeline);
  const instants = new Set<number>([fromMs]);
  for (const interval of timeline.vip) {
    for (const edge of [interval.fromMs, interval.toMs]) if (edge !== undefined && edge > fromMs && edge < timeline.endMs) instants.add(edge);
  }
  return [...instants].sort((a, b) => a - b);
}

/** Violations beyond this many add nothing to a report but length. */
const VIOLATIONS_REPORTED_MAX = 5;

function notJudged(timeline: VrrpTimeline): string[] {
  const fromMs = settledAtMs(timeline);
  return fromMs >= timeline.endMs ? [`the run ended at ${timeline.endMs} ms, before the settling point ${fromMs} ms: nothing was judged`] : [];
}

/**
 * Property 1. From the settling point to the end, at every instant the holder
 * set changes: each component with a live master whose instance is healthy
 * has exactly one holder, and no component has two.
 */
export function checkOneHolderPerComponent(timeline: VrrpTimeline): string[] {
  const violations = notJudged(timeline);
  for (const atMs of judgedInstants(timeline)) {
    if (violations.length >= VIOLATIONS_REPORTED_MAX) break;
    const holders = holdersAt(timeline, atMs);
    for (const component of componentsAt(timeline, atMs)) {
      const healthy = component.filter((host) => isHealthy(stateAt(timeline, host, atMs)));
      const componentHolders = holders.filter((host) => component.includes(host));
      if (componentHolders.length > 1 || (healthy.length > 0 && componentHolders.length === 0)) {
        violations.push(
          `at ${atMs} ms, component {${component.join(',')}} (healthy: ${healthy.join(',') || 'none'}) has ${componentHolders.length} holder(s): ${componentHolders.join(',') || 'none'}`,
        );
      }
    }
  }
  return violations;
}

/**
 * Property 2 (preemption on). From the settling point to the end, each
 * component's holders are live, healthy masters of the highest priority in
 * that component. Equal priorities are all acceptable: a backup never
 * preempts a master of equal priority (RFC 3768 §6.4.2, keepalived alike);
 * the higher address wins only when two masters meet.
 */
export function checkBestHolder(timeline: VrrpTimeline): string[] {
  const violations = notJudged(timeline);
  for (const atMs of judgedInstants(timeline)) {
    if (violations.length >= VIOLATIONS_REPORTED_MAX) break;
    const holders = holdersAt(timeline, atMs);
    for (const component of componentsAt(timeline, atMs)) {
      const healthy = timeline.masters.filter((master) => component.includes(master.name) && isHealthy(stateAt(timeline, master.name, atMs)));
      if (healthy.length === 0) continue;
      const topPriority = bestOf(healthy).priority;
      const best = healthy.filter((master) => master.priority === topPriority).map((master) => master.name);
      for (const holder of holders.filter((host) => component.includes(host) && !best.includes(host))) {
        const priority = timeline.masters.find((master) => master.name === holder)?.priority;
        violations.push(
          `at ${atMs} ms ${holder} (priority ${priority ?? '?'}, ${stateAt(timeline, holder, atMs)}) holds the VIP in component {${component.join(',')}}, where the best live healthy master(s) have priority ${topPriority}: ${best.join(',')}`,
        );
      }
    }
  }
  return violations;
}

/** The master that wins an election among `masters`: highest priority, then highest address. */
export function bestOf(masters: readonly MasterInfo[]): MasterInfo {
  if (masters.length === 0) throw new Error('bestOf: no masters');
  return masters.reduce((best, master) =>
    master.priority > best.priority || (master.priority === best.priority && compareIpv4(master.ip, best.ip) > 0) ? master : best,
  );
}

export interface FailoverJudgement {
  violations: string[];
  /** Holder crashes that met the preconditions and were judged. */
  judged: number;
  /** Holder crashes left unjudged because something else happened within the bound, or nobody survived. */
  skipped: number;
}

/**
 * Property 3. When a VIP holder's host crashes while other masters are up,
 * healthy and able to hear it, another master holds the VIP within
 * takeoverBoundMs of the crash, computed with the best survivor's priority.
 * A crash is judged only when nothing else (another fault, a survivor going
 * into FAULT or STOP) happens within that bound.
 */
export function checkFailoverBound(timeline: VrrpTimeline): FailoverJudgement {
  const judgement: FailoverJudgement = { violations: [], judged: 0, skipped: 0 };
  for (const crash of timeline.faults) {
    if (crash.kind !== 'crash') continue;
    const crashAtMs = crash.atMs;
    const wasHolder = timeline.vip.some((interval) => interval.host === crash.host && interval.fromMs < crashAtMs && interval.toMs === crashAtMs);
    if (!wasHolder) continue;
    const component = componentsAt(timeline, crashAtMs).find((group) => group.includes(crash.host)) ?? [];
    const survivors = timeline.masters.filter(
      (master) => master.name !== crash.host && component.includes(master.name) && isHealthy(stateAt(timeline, master.name, crashAtMs)),
    );
    if (survivors.length === 0) {
      judgement.skipped++;
      continue;
    }
    const survivorPriority = Math.max(...survivors.map((master) => master.priority));
    const boundMs = takeoverBoundMs({ version: 2, advertIntervalMs: timeline.advertIntervalMs, survivorPriority });
    const untilMs = crashAtMs + boundMs;
    const disturbed =
      timeline.faults.some((fault) => fault !== crash && fault.atMs >= crashAtMs && fault.atMs <= untilMs) ||
      timeline.states.some((change) => change.atMs > crashAtMs && change.atMs <= untilMs && survivors.some((master) => master.name === change.host) && !isHealthy(change.state));
    if (disturbed || untilMs > timeline.endMs) {
      judgement.skipped++;
      continue;
    }
    judgement.judged++;
    const takeover = timeline.vip.find((interval) => interval.host !== crash.host && interval.fromMs <= untilMs && (interval.toMs === undefined || interval.toMs > crashAtMs));
    if (takeover === undefined) {
      const later = timeline.vip.find((interval) => interval.host !== crash.host && interval.fromMs > untilMs);
      judgement.violations.push(
        `${crash.host} held the VIP and crashed at ${crashAtMs} ms; survivors ${survivors.map((master) => `${master.name}(${master.priority})`).join(',')} should have taken over by ${untilMs.toFixed(1)} ms (bound ${boundMs.toFixed(1)} ms), ` +
          (later === undefined ? 'nobody did' : `${later.host} did at ${later.fromMs} ms (${later.fromMs - crashAtMs} ms after the crash)`),
      );
    }
  }
  return judgement;
}

/**
 * Property 4. A host holds the VIP only while its instance is MASTER: never
 * while in FAULT, STOP, BACKUP or INIT, never while down. Intervals are
 * half-open, so a VIP removed in the same instant as the transition that
 * removes it (the driver logs the transition, then removes the address) is
 * not an overlap.
 */
export function checkVipOnlyOnMaster(timeline: VrrpTimeline): string[] {
  const violations: string[] = [];
  for (const interval of timeline.vip) {
    const holdFromMs = interval.fromMs;
    const holdToMs = interval.toMs ?? timeline.endMs;
    for (const period of statePeriods(timeline, interval.host)) {
      if (period.state === 'MASTER') continue;
      const overlapFromMs = Math.max(holdFromMs, period.fromMs);
      const overlapToMs = Math.min(holdToMs, period.toMs);
      if (overlapFromMs < overlapToMs) {
        violations.push(`${interval.host} held the VIP ${holdFromMs}–${interval.toMs ?? 'end'} ms, but its instance was ${period.state} ${period.fromMs}–${period.toMs} ms`);
      }
    }
  }
  return violations;
}

/** One host's states as half-open periods [fromMs, toMs); same-instant changes leave empty periods. */
function statePeriods(timeline: VrrpTimeline, host: string): { state: HostState; fromMs: number; toMs: number }[] {
  const periods: { state: HostState; fromMs: number; toMs: number }[] = [];
  let current: { state: HostState; fromMs: number } = { state: 'NONE', fromMs: 0 };
  for (const change of timeline.states) {
    if (change.host !== host) continue;
    periods.push({ ...current, toMs: change.atMs });
    current = { state: change.state, fromMs: change.atMs };
  }
  periods.push({ ...current, toMs: timeline.endMs });
  return periods;
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

interface StateRecorder {
  states: StateChange[];
  /** Crashes, reboots, and instance transitions into or out of INIT, FAULT or STOP. */
  disturbedAtMs: number;
}

function recordStates(world: World, cluster: VrrpCluster): StateRecorder {
  const masters = new Set(cluster.masters.map((host) => host.name));
  const recorder: StateRecorder = { states: [], disturbedAtMs: 0 };
  const note = (atMs: number, host: string, state: HostState, disturbs: boolean): void => {
    recorder.states.push({ atMs, host, state });
    if (disturbs) recorder.disturbedAtMs = Math.max(recorder.disturbedAtMs, atMs);
  };
  world.engine.trace.subscribe('host.', (event) => {
    if (!masters.has(event.host)) return;
    if (event.kind === 'host.crash') note(event.atMs, event.host, 'DOWN', true);
    else if (event.kind === 'host.restart') note(event.atMs, event.host, 'NONE', true);
  });
  world.engine.trace.subscribe('log.info', (event) => {
    if (event.fields['event'] !== 'vrrp.transition' || !masters.has(event.host)) return;
    const from = String(event.fields['from']);
    const to = String(event.fields['to']) as VrrpState;
    const unsettled = (state: string): boolean => state === 'INIT' || state === 'FAULT' || state === 'STOP';
    note(event.atMs, event.host, to, unsettled(from) || unsettled(to));
  });
  return recorder;
}

function lastDisturbanceMs(recorder: StateRecorder, applied: readonly Fault[]): number {
  return Math.max(recorder.disturbedAtMs, ...applied.map((fault) => fault.atMs));
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

// ------------------------------------------------------------------ reporting

/** The whole story of a run, for a failure message: faults, VIP holders, state changes. */
export function describeTimeline(timeline: VrrpTimeline): string {
  const masters = timeline.masters.map((master) => `${master.name} ${master.ip} prio ${master.priority}`).join('; ');
  const faults = timeline.faults.map(describeFault).join('; ') || 'none';
  const vip = timeline.vip.map((interval) => `${interval.host} ${interval.fromMs}–${interval.toMs ?? 'end'}`).join(', ') || 'nobody';
  const states = timeline.states.map((change) => `${change.atMs} ${change.host} ${change.state}`).join(', ');
  return [
    `masters: ${masters}; advert ${timeline.advertIntervalMs} ms; ${timeline.preempt ? 'preempt' : 'nopreempt'}`,
    `faults applied: ${faults}`,
    `quiet at ${timeline.quietAtMs} ms, settled at ${settledAtMs(timeline)} ms, end ${timeline.endMs} ms`,
    `VIP held: ${vip}`,
    `states: ${states}`,
  ].join('\n');
}
