// One fuzz run: fast-check draws a case from the run's seed, the scenario's
// fuzz profile runs and judges it, and a failure is shrunk to a smaller
// schedule that still fails. Everything here is a pure function of
// (scenario, run seed, path, planted bugs): no worker count, no wall clock
// other than the figure reported, so a failure found on 16 cores replays on one.
import fc from 'fast-check';
import type { FuzzProfile, InvariantResult, Scenario } from '../../sim/scenario.js';
import { describeFault, type Fault } from '../../sim/network/faults.js';
import { fuzzCaseArb, lowerEpisodes, type Episode, type FuzzCase } from '../../sim/fuzz/schedule.js';
import { Rng } from '../../sim/network/rng.js';
import { judgeRun, type JudgedRun } from '../scenario-runner.js';

/** fast-check seeds are 32-bit; run seeds stay below 2^31 so they print as plain positive numbers. */
const RUN_SEED_BOUND = 2 ** 31;

/** The seed of run `index` of a campaign: independent of how runs are spread over workers and shards. */
export function runSeedOf(campaignSeed: number, index: number): number {
  return Rng.fromSeed(campaignSeed).fork(`fuzz-run/${index}`).int(RUN_SEED_BOUND);
}

export interface FuzzRunRequest {
  scenario: string;
  runSeed: number;
  /** A fast-check counterexample path: replays that (shrunk) case instead of the run's first one. */
  path?: string;
  /** Shrink a failure; otherwise report the case as drawn. */
  shrink: boolean;
  /** Runs spent on shrinking, at most: beyond it the smallest failure so far is the answer. */
  shrinkRunsMax: number;
}

export interface FuzzCounterexample {
  scenario: string;
  runSeed: number;
  /** fast-check's path to this case from the run seed; none when the run fails with no fault at all. */
  path?: string;
  fuzzCase: FuzzCase;
  faults: Fault[];
  readable: string[];
  failed: InvariantResult[];
  /** Runs spent shrinking, and faults in the schedule first drawn. */
  shrinkRuns: number;
  faultsBeforeShrinking: number;
}

export interface FuzzRunResult {
  scenario: string;
  runSeed: number;
  passed: boolean;
  /** Of the case as first drawn (not of shrinking). */
  wallMs: number;
  virtualMs: number;
  faultsScheduled: number;
  faultsFired: Record<string, number>;
  /** The swarm mix the run drew. */
  mix: string[];
  counterexample?: FuzzCounterexample;
}

export class FuzzReplayError extends Error {
  readonly code = 'ERR_FUZZ_REPLAY';
}

export function fuzzProfileOf(scenario: Scenario): FuzzProfile {
  if (scenario.fuzz === undefined) throw new Error(`scenario ${scenario.name} has no fuzz profile`);
  return scenario.fuzz;
}

/**
 * Unbiased draws: every run is fast-check's first of its seed, which it
 * would bias to small values; the swarm mix spreads runs over sizes instead.
 */
function caseArbOf(profile: FuzzProfile): fc.Arbitrary<FuzzCase> {
  return fc.noBias(fuzzCaseArb(profile.topology));
}

/** The fault schedule of a run's case (the first one drawn, or the one at `path`), without running it. */
export async function scheduleAt(scenario: Scenario, runSeed: number, path?: string): Promise<Fault[]> {
  const profile = fuzzProfileOf(scenario);
  let found: FuzzCase | undefined;
  // A predicate that fails at once: fast-check walks to the case and stops there.
  const property = fc.asyncProperty(caseArbOf(profile), async (fuzzCase) => {
    found = fuzzCase;
    return false;
  });
  try {
    await fc.check(property, { seed: runSeed, numRuns: 1, ...(path === undefined ? {} : { path }), endOnFailure: true });
  } catch (error) {
    // fast-check throws when a path leads nowhere: the arbitraries changed since it was printed, or it was mistyped.
    throw new FuzzReplayError(`path ${path ?? '(none)'} does not lead to a case of ${scenario.name} from seed ${runSeed}: ${(error as Error).message}. Paths do not survive changes to the scenario's fuzz profile; replay the saved schedule with --schedule instead`);
  }
  if (found === undefined) throw new FuzzReplayError(`path ${path ?? '(none)'} does not lead to a case of ${scenario.name} from seed ${runSeed}. Paths do not survive changes to the scenario's fuzz profile; replay the saved schedule with --schedule instead`);
  return lowerEpisodes(found.episodes, profile.topology);
}

type Failure = { judged: JudgedRun; fuzzCase: FuzzCase; faults: Fault[] };

/** Runs spent dropping episodes, at most, per episode left after fast-check. */
const DROP_RUNS_PER_EPISODE = 4;

/**
 * After fast-check: the empty schedule, then one episode at a time left out
 * while the run still fails, until no single episode can go (1-minimal, the
 * last step of Zeller's ddmin). fast-check shrinks each value inside the
 * swarm mix it drew and can stop in a local minimum; and it keeps at least
 * one episode, where a failure that needs no fault at all is worth saying so.
 */
async function dropEpisodes(profile: FuzzProfile, runSeed: number, failure: Failure): Promise<{ failure: Failure; runs: number }> {
  const attempt = async (episodes: Episode[]): Promise<Failure | undefined> => {
    const faults = lowerEpisodes(episodes, profile.topology);
    const judged = await judgeRun(() => profile.run({ seed: runSeed, faults }));
    return judged.passed ? undefined : { judged, fuzzCase: { mix: failure.fuzzCase.mix, episodes }, faults };
  };
  if (failure.faults.length === 0) return { failure, runs: 0 };
  let runs = 1;
  const quiet = await attempt([]);
  if (quiet !== undefined) return { failure: quiet, runs };
  const runsMax = 1 + DROP_RUNS_PER_EPISODE * failure.fuzzCase.episodes.length;
  let current = failure;
  for (let index = 0; index < current.fuzzCase.episodes.length && runs < runsMax; ) {
    const episodes = current.fuzzCase.episodes.filter((_, other) => other !== index);
    if (JSON.stringify(lowerEpisodes(episodes, profile.topology)) === JSON.stringify(current.faults)) {
      // The lowering had left this episode out anyway: it goes without a run.
      current = { ...current, fuzzCase: { ...current.fuzzCase, episodes } };
      continue;
    }
    runs++;
    const smaller = await attempt(episodes);
    if (smaller === undefined) index++;
    else current = smaller;
  }
  return { failure: current, runs };
}

export async function fuzzRun(scenario: Scenario, request: FuzzRunRequest): Promise<FuzzRunResult> {
  const profile = fuzzProfileOf(scenario);
  let first: { judged: JudgedRun; fuzzCase: FuzzCase } | undefined;
  let lastFailure: Failure | undefined;
  let shrinkRuns = 0;
  const property = fc.asyncProperty(caseArbOf(profile), async (fuzzCase) => {
    if (first !== undefined) {
      // Out of budget: call every further candidate a pass, so fast-check
      // stops at the smallest failure found so far. Deterministic, as the
      // budget counts runs, not time.
      if (shrinkRuns >= request.shrinkRunsMax) return true;
      shrinkRuns++;
    }
    const faults = lowerEpisodes(fuzzCase.episodes, profile.topology);
    const judged = await judgeRun(() => profile.run({ seed: request.runSeed, faults }));
    first ??= { judged, fuzzCase };
    if (!judged.passed) lastFailure = { judged, fuzzCase, faults };
    return judged.passed;
  });
  const details = await fc.check(property, {
    seed: request.runSeed,
    numRuns: 1,
    ...(request.path === undefined ? {} : { path: request.path }),
    endOnFailure: !request.shrink,
  });
  if (first === undefined) throw new Error(`fuzz run ${request.runSeed} of ${scenario.name} ran no case`);
  const world = first.judged.run.world;
  const result: FuzzRunResult = {
    scenario: scenario.name,
    runSeed: request.runSeed,
    passed: first.judged.passed,
    wallMs: first.judged.wallMs,
    virtualMs: world.engine.elapsedMs(),
    faultsScheduled: first.judged.run.faults.length,
    faultsFired: Object.fromEntries([...world.faultsApplied.entries()].sort(([a], [b]) => (a < b ? -1 : 1))),
    mix: first.fuzzCase.mix.kinds.map(({ kind, weight }) => `${kind}×${weight}`),
  };
  if (lastFailure !== undefined) {
    let failure = lastFailure;
    let path: string | undefined = details.counterexamplePath ?? request.path ?? '0';
    if (request.shrink) {
      const smaller = await dropEpisodes(profile, request.runSeed, failure);
      shrinkRuns += smaller.runs;
      if (smaller.failure !== failure) {
        failure = smaller.failure;
        // fast-check's path leads to its own answer, not to this smaller one: the saved schedule replays it.
        path = undefined;
      }
    }
    result.counterexample = {
      scenario: scenario.name,
      runSeed: request.runSeed,
      ...(path === undefined ? {} : { path }),
      fuzzCase: failure.fuzzCase,
      faults: failure.faults,
      readable: failure.faults.map(describeFault),
      failed: failure.judged.invariants.filter((check) => !check.passed),
      shrinkRuns,
      faultsBeforeShrinking: first.judged.run.faults.length,
    };
  }
  return result;
}
