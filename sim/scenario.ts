// What a named scenario is: a world built from a seed, a fault schedule, and
// invariants stated as sentences that either hold or say what broke.
import type { Fault } from './network/faults.js';
import type { World } from './network/world.js';
import type { FuzzTopology } from './fuzz/schedule.js';

export interface InvariantResult {
  name: string;
  passed: boolean;
  detail: string;
}

export type Metrics = Record<string, number | string>;

export interface ScenarioOptions {
  seed: number;
  /** Replaces the scenario's own fault schedule (fuzzing, replays of shrunk schedules). */
  faults?: Fault[];
}

export interface ScenarioRun {
  world: World;
  /** The schedule that was applied. */
  faults: Fault[];
  invariants: InvariantResult[];
  metrics: Metrics;
}

export interface Scenario {
  readonly name: string;
  readonly summary: string;
  run(options: ScenarioOptions): Promise<ScenarioRun>;
  /** How `npm run fuzz` drives this scenario; absent: the scenario is not fuzzed. */
  readonly fuzz?: FuzzProfile;
}

/**
 * A scenario's world under any fault schedule: what the fuzzer may break, and
 * a run that judges whatever happened with the scenario's invariants plus
 * liveness (converged within convergeBoundMs of topology.quietAtMs).
 */
export interface FuzzProfile {
  readonly topology: FuzzTopology;
  readonly convergeBoundMs: number;
  /** Virtual length of one run. */
  readonly runMs: number;
  run(options: { seed: number; faults: Fault[] }): Promise<ScenarioRun>;
}

export function invariant(name: string, passed: boolean, detail: string): InvariantResult {
  return { name, passed, detail };
}
