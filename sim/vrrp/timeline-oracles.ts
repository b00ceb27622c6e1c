// The VRRP oracles: pure functions of a timeline (timeline.ts) that return
// what broke, one sentence per violation. The property tests assert that
// the lists are empty; their sanity tests feed hand-made timelines that must
// break them; the fuzzer reports them as invariants.
import { compareIpv4 } from '../../src/runtime/net/ipv4-header.js';
import { takeoverBoundMs } from './oracle.js';
import { componentsAt, holdersAt, isHealthy, settledAtMs, stateAt, type HostState, type MasterInfo, type VrrpTimeline } from './timeline.js';


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

