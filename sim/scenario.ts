// What a named scenario is: a world built from a seed, a fault schedule, and
// invariants stated as sentences that either hold or say what broke.
import type { Fault } from './network/faults.js';
import type { World } from './network/world.js';

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
}

export function invariant(name: string, passed: boolean, detail: string): InvariantResult {
  return { name, passed, detail };
}
