// A keepalived cluster's run as data: each master's instance state over
// time, who held the VIP, the faults applied, and when things went quiet.
// The VRRP oracles (timeline-oracles.ts) judge it; the property tests and
// the fuzzer build it with recordStates while the world runs.
import type { World } from '../network/world.js';
import { describeFault, type Fault } from '../network/faults.js';
import type { VrrpState } from '../../src/runtime/keepalived/vrrp/instance.js';
import { masterDownIntervalMs } from '../../src/runtime/keepalived/vrrp/timing.js';
import type { HoldInterval } from './vip-observer.js';
import type { VrrpCluster } from './cluster.js';
import { DUAL_MASTER_ALLOWANCE_MS, PROPAGATION_ALLOWANCE_MS } from './oracle.js';

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

/** The interface VRRP runs on in the lab's clusters: a fault on another interface (say, an etcd network) does not touch it. */
export const VRRP_IFACE = 'eth0';

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

export interface StateRecorder {
  states: StateChange[];
  /** Crashes, reboots, and instance transitions into or out of INIT, FAULT or STOP. */
  disturbedAtMs: number;
}

export function recordStates(world: World, cluster: VrrpCluster): StateRecorder {
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

export function lastDisturbanceMs(recorder: StateRecorder, applied: readonly Fault[]): number {
  return Math.max(recorder.disturbedAtMs, ...applied.map((fault) => fault.atMs));
}



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
