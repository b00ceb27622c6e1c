// The VRRP oracles: pure functions of a timeline (timeline.ts) that return
// what broke, one sentence per violation. The property tests assert that
// the lists are empty; their sanity tests feed hand-made timelines that must
// break them; the fuzzer reports them as invariants.
import { compareIpv4 } from '../../src/runtime/net/ipv4-header.js';
import type { Fault } from '../network/faults.js';
import type { HoldInterval } from './vip-observer.js';
import { skewTimeMs } from '../../src/runtime/keepalived/vrrp/timing.js';
import { PROPAGATION_ALLOWANCE_MS, takeoverBoundMs } from './oracle.js';
import { componentsAt, holdersAt, isHealthy, settledAtMs, stateAt, VRRP_IFACE, type HostState, type MasterInfo, type VrrpTimeline } from './timeline.js';


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
    // A lost advert only makes a crash noticed sooner; a slow link is what delays it, and that is the takeover's own business.
    if (disturbedWithin(timeline, crash, { fromMs: crashAtMs, untilMs, lossMatters: false }, survivors) || untilMs > timeline.endMs) {
      judgement.skipped++;
      continue;
    }
    judgement.judged++;
    const takeover = takeoverWithin(timeline, crash.host, crashAtMs, untilMs);
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
 * Another master took the VIP after `lostAtMs` and by `untilMs`, or holds it
 * at `untilMs`. A survivor that already held it (two masters) and let it go
 * before the bound does not count: then nobody holds the VIP at the bound.
 */
function takeoverWithin(timeline: VrrpTimeline, lostHost: string, lostAtMs: number, untilMs: number): HoldInterval | undefined {
  return timeline.vip.find(
    (interval) =>
      interval.host !== lostHost &&
      ((interval.fromMs > lostAtMs && interval.fromMs <= untilMs) || (interval.fromMs <= untilMs && (interval.toMs === undefined || interval.toMs > untilMs))),
  );
}

/**
 * Something else could explain a slow takeover between `fromMs` and
 * `untilMs`: another fault, a one-way cut in force (the components only model
 * symmetric cuts), a survivor leaving the election, or, where a single lost
 * frame matters (`lossMatters`), a degraded link in force.
 */
function disturbedWithin(
  timeline: VrrpTimeline,
  cause: Fault | undefined,
  span: { fromMs: number; untilMs: number; lossMatters: boolean },
  survivors: readonly MasterInfo[],
): boolean {
  const { fromMs, untilMs } = span;
  const inForce = unmodelledFaultsInForce(timeline, fromMs);
  return (
    timeline.faults.some((fault) => fault !== cause && fault.atMs >= fromMs && fault.atMs <= untilMs) ||
    inForce.oneWayCuts > 0 ||
    (span.lossMatters && inForce.degradedHosts > 0) ||
    timeline.states.some((change) => change.atMs > fromMs && change.atMs <= untilMs && survivors.some((master) => master.name === change.host) && !isHealthy(change.state))
  );
}

/** A degrade or restore of every interface (no `iface`), or of the one VRRP uses. */
function onVrrpLink(iface: string | undefined): boolean {
  return iface === undefined || iface === VRRP_IFACE;
}

/** One-way partitions and degraded VRRP links not yet healed or restored at `atMs`. */
function unmodelledFaultsInForce(timeline: VrrpTimeline, atMs: number): { oneWayCuts: number; degradedHosts: number } {
  const oneWay = new Set<string>();
  const degraded = new Set<string>();
  for (const fault of timeline.faults) {
    if (fault.atMs > atMs) break;
    if (fault.kind === 'partition-one-way') oneWay.add(fault.id ?? '');
    else if (fault.kind === 'heal') {
      if (fault.id === undefined) oneWay.clear();
      else oneWay.delete(fault.id);
    } else if (fault.kind === 'degrade' && onVrrpLink(fault.iface)) degraded.add(fault.host);
    else if (fault.kind === 'restore' && onVrrpLink(fault.iface)) degraded.delete(fault.host);
  }
  return { oneWayCuts: oneWay.size, degradedHosts: degraded.size };
}

/** Timer lateness (the cluster's schedulerJitterMs) and frames on the LAN: what a Skew_Time takeover may run over. */
const HANDOVER_ALLOWANCE_MS = PROPAGATION_ALLOWANCE_MS;

/**
 * Property 5. A holder that resigns (its keepalived stops, or its instance
 * goes FAULT) sends a priority-0 advert, and a backup that hears it takes
 * over after Skew_Time alone (RFC 3768 §6.4.2), not Master_Down_Interval.
 * Judged like property 3: only when nothing else happens within the bound.
 */
export function checkGracefulHandover(timeline: VrrpTimeline): FailoverJudgement {
  const judgement: FailoverJudgement = { violations: [], judged: 0, skipped: 0 };
  timeline.states.forEach((change, index) => {
    if (change.state !== 'STOP' && change.state !== 'FAULT') return;
    const previous = timeline.states.slice(0, index).findLast((earlier) => earlier.host === change.host);
    if (previous?.state !== 'MASTER') return;
    const leftAtMs = change.atMs;
    const component = componentsAt(timeline, leftAtMs).find((group) => group.includes(change.host)) ?? [];
    const survivors = timeline.masters.filter(
      (master) => master.name !== change.host && component.includes(master.name) && isHealthy(stateAt(timeline, master.name, leftAtMs)),
    );
    if (survivors.length === 0) {
      judgement.skipped++;
      return;
    }
    const survivorPriority = Math.max(...survivors.map((master) => master.priority));
    const boundMs = skewTimeMs(2, survivorPriority, timeline.advertIntervalMs) + HANDOVER_ALLOWANCE_MS;
    const untilMs = leftAtMs + boundMs;
    // The stop-process fault (or the tracking change) that made it resign happened at this instant.
    const cause = timeline.faults.find((fault) => fault.atMs === leftAtMs && 'host' in fault && fault.host === change.host);
    // One lost priority-0 advert leaves the survivors to Master_Down_Interval: a lossy link in force excuses it.
    if (disturbedWithin(timeline, cause, { fromMs: leftAtMs, untilMs, lossMatters: true }, survivors) || untilMs > timeline.endMs) {
      judgement.skipped++;
      return;
    }
    judgement.judged++;
    const takeover = takeoverWithin(timeline, change.host, leftAtMs, untilMs);
    if (takeover === undefined) {
      const later = timeline.vip.find((interval) => interval.host !== change.host && interval.fromMs > untilMs);
      judgement.violations.push(
        `${change.host} held the VIP and resigned (${change.state}) at ${leftAtMs} ms; survivors ${survivors.map((master) => `${master.name}(${master.priority})`).join(',')} should have taken over after Skew_Time, by ${untilMs.toFixed(1)} ms (bound ${boundMs.toFixed(1)} ms), ` +
          (later === undefined ? 'nobody did' : `${later.host} did at ${later.fromMs} ms (${later.fromMs - leftAtMs} ms after)`),
      );
    }
  });
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


export interface ConvergenceJudgement {
  violations: string[];
  /** From then to the end: every master healthy, one holder, nothing changing. Undefined: never. */
  convergedAtMs: number | undefined;
}

/**
 * Liveness. Once faults stop at `quietAtMs`, the cluster must converge
 * within `boundMs`: every master's instance BACKUP or MASTER, exactly one
 * holder, and no change of either until the end of the run.
 */
export function checkConvergence(timeline: VrrpTimeline, quietAtMs: number, boundMs: number): ConvergenceJudgement {
  const lastStateChangeMs = Math.max(0, ...timeline.states.map((change) => change.atMs));
  const lastHolderChangeMs = Math.max(0, ...timeline.vip.flatMap((interval) => (interval.toMs === undefined ? [interval.fromMs] : [interval.fromMs, interval.toMs])));
  const candidateMs = Math.max(quietAtMs, lastStateChangeMs, lastHolderChangeMs);
  const unhealthy = timeline.masters.filter((master) => !isHealthy(stateAt(timeline, master.name, candidateMs)));
  const holders = holdersAt(timeline, candidateMs);
  const settled = unhealthy.length === 0 && holders.length === 1 && candidateMs < timeline.endMs;
  const violations: string[] = [];
  if (!settled) {
    violations.push(
      `never converged after the faults stopped at ${quietAtMs} ms: at the end (last change at ${candidateMs} ms) ` +
        `holders ${holders.join(',') || 'none'}; masters not BACKUP or MASTER: ${unhealthy.map((master) => `${master.name} ${stateAt(timeline, master.name, candidateMs)}`).join(', ') || 'none'}`,
    );
  } else if (candidateMs - quietAtMs > boundMs) {
    violations.push(`converged ${candidateMs - quietAtMs} ms after the faults stopped at ${quietAtMs} ms; the bound is ${boundMs} ms`);
  }
  return { violations, convergedAtMs: settled ? candidateMs : undefined };
}
