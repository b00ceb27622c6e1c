// Faults as plain data: a schedule that fast-check can generate and shrink,
// a report can print, and a replay can apply exactly.
import { DEFAULT_LINK_PROFILE, linkProfile, type LinkProfile } from './link.js';
import type { World } from './world.js';

export type Fault =
  | { atMs: number; kind: 'partition'; sideA: string[]; sideB: string[]; id?: string }
  | { atMs: number; kind: 'partition-one-way'; from: string[]; to: string[]; id?: string }
  | { atMs: number; kind: 'heal'; id?: string }
  | { atMs: number; kind: 'crash'; host: string }
  | { atMs: number; kind: 'restart'; host: string }
  | { atMs: number; kind: 'degrade'; host: string; iface?: string; link: Partial<LinkProfile> }
  | { atMs: number; kind: 'restore'; host: string; iface?: string }
  | { atMs: number; kind: 'nat-reset'; host: string }
  | { atMs: number; kind: 'restart-process'; host: string; process: string }
  | { atMs: number; kind: 'stop-process'; host: string; process: string };

export type FaultKind = Fault['kind'];

export const FAULT_KINDS: readonly FaultKind[] = [
  'partition',
  'partition-one-way',
  'heal',
  'crash',
  'restart',
  'degrade',
  'restore',
  'nat-reset',
  'restart-process',
  'stop-process',
];

export class FaultError extends Error {
  readonly code = 'ERR_FAULT_INVALID';
}

/** Checks a schedule against a world before anything runs: unknown hosts and bad times fail loudly. */
export function validateFaults(world: World, faults: readonly Fault[]): void {
  faults.forEach((fault, index) => {
    const where = `fault #${index} (${fault.kind})`;
    if (!Number.isFinite(fault.atMs) || fault.atMs < 0) throw new FaultError(`${where}: atMs must be >= 0, got ${fault.atMs}`);
    for (const host of faultHosts(fault)) {
      if (!world.hosts.has(host)) throw new FaultError(`${where}: no host named "${host}"`);
    }
    if (fault.kind === 'nat-reset' && world.getHost(fault.host).stack.nat === undefined) {
      throw new FaultError(`${where}: host "${fault.host}" runs no NAT`);
    }
    if (fault.kind === 'degrade') {
      try {
        linkProfile(DEFAULT_LINK_PROFILE, fault.link);
      } catch (error) {
        throw new FaultError(`${where}: ${(error as Error).message}`);
      }
    }
  });
}

/** Schedules every fault at its virtual time (relative to the start of the run). */
export function scheduleFaults(world: World, faults: readonly Fault[]): void {
  validateFaults(world, faults);
  const engine = world.engine;
  for (const fault of faults) {
    engine.schedule(Math.max(0, fault.atMs - engine.elapsedMs()), () => applyFault(world, fault));
  }
}

export function applyFault(world: World, fault: Fault): void {
  world.faultsApplied.set(fault.kind, (world.faultsApplied.get(fault.kind) ?? 0) + 1);
  switch (fault.kind) {
    case 'partition':
      world.partition(fault.sideA, fault.sideB, fault.id);
      return;
    case 'partition-one-way':
      world.partitionOneWay(fault.from, fault.to, fault.id);
      return;
    case 'heal':
      world.heal(fault.id);
      return;
    case 'crash':
      world.getHost(fault.host).crash();
      return;
    case 'restart':
      world.getHost(fault.host).restart();
      return;
    case 'degrade':
      world.degrade(fault.host, fault.link, fault.iface);
      return;
    case 'restore':
      world.restoreLinks(fault.host, fault.iface);
      return;
    case 'nat-reset': {
      const host = world.getHost(fault.host);
      host.stack.nat?.reset();
      world.engine.record(fault.host, 'fault.nat-reset', {});
      return;
    }
    case 'restart-process': {
      const host = world.getHost(fault.host);
      world.engine.record(fault.host, 'fault.restart-process', { process: fault.process });
      void host.processes.restart(fault.process).catch((error: unknown) => world.recordFailure(fault.host, error));
      return;
    }
    case 'stop-process': {
      const host = world.getHost(fault.host);
      world.engine.record(fault.host, 'fault.stop-process', { process: fault.process });
      void host.processes.stop(fault.process).catch((error: unknown) => world.recordFailure(fault.host, error));
      return;
    }
  }
}

export function faultHosts(fault: Fault): string[] {
  switch (fault.kind) {
    case 'partition':
      return [...fault.sideA, ...fault.sideB];
    case 'partition-one-way':
      return [...fault.from, ...fault.to];
    case 'heal':
      return [];
    default:
      return [fault.host];
  }
}

export function describeFault(fault: Fault): string {
  const at = `${(fault.atMs / 1000).toFixed(3)}s`;
  switch (fault.kind) {
    case 'partition':
      return `${at} partition {${fault.sideA.join(',')}} | {${fault.sideB.join(',')}}${fault.id ? ` (${fault.id})` : ''}`;
    case 'partition-one-way':
      return `${at} partition {${fault.from.join(',')}} -> {${fault.to.join(',')}} one-way${fault.id ? ` (${fault.id})` : ''}`;
    case 'heal':
      return `${at} heal ${fault.id ?? 'all'}`;
    case 'crash':
      return `${at} crash ${fault.host}`;
    case 'restart':
      return `${at} restart ${fault.host}`;
    case 'degrade':
      return `${at} degrade ${fault.host}${fault.iface ? `/${fault.iface}` : ''} ${JSON.stringify(fault.link)}`;
    case 'restore':
      return `${at} restore ${fault.host}${fault.iface ? `/${fault.iface}` : ''}`;
    case 'nat-reset':
      return `${at} nat-reset ${fault.host}`;
    case 'restart-process':
      return `${at} restart-process ${fault.host}/${fault.process}`;
    case 'stop-process':
      return `${at} stop-process ${fault.host}/${fault.process}`;
  }
}
