// Fuzz throughput on the failover cluster: 3 masters, 3 workers, 2 virtual
// minutes per run, the swarm schedules of `npm run fuzz`.
//
// (a) per core: fuzz runs one after another in this thread, after a discarded
//     warm-up; the median over repeats of runs per second.
// (b) the campaign as users run it: every core, worker threads included
//     (their start-up is part of the figure).
// Baseline, for the ratio: the same cluster with no fault at all, measured
// interleaved with (a), so that the cost of faults and judging shows apart
// from the machine's speed of the day.
import { availableParallelism } from 'node:os';
import { scenarios } from '../scenarios/index.js';
import type { Scenario } from '../sim/scenario.js';
import { fuzzRun, runSeedOf } from '../cli/fuzz/run-case.js';
import { runCampaign } from '../cli/fuzz/campaign.js';

/** Target from the fuzzing issue. */
const RUNS_PER_SEC_PER_CORE_MIN = 10;
const WARMUP_RUNS = 10;
const RUNS_PER_REPEAT = 40;
const CAMPAIGN_RUNS_PER_WORKER = 60;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

async function fuzzRuns(scenario: Scenario, firstIndex: number, count: number): Promise<number> {
  const startedMs = performance.now();
  for (let index = firstIndex; index < firstIndex + count; index++) {
    const result = await fuzzRun(scenario, { scenario: scenario.name, runSeed: runSeedOf(1, index), shrink: false, shrinkRunsMax: 0 });
    if (!result.passed) throw new Error(`bench run ${index} failed: replay with npm run fuzz -- --scenario failover --replay ${result.runSeed}`);
  }
  return performance.now() - startedMs;
}

async function quietRuns(scenario: Scenario, count: number): Promise<number> {
  const startedMs = performance.now();
  for (let index = 0; index < count; index++) await scenario.fuzz!.run({ seed: runSeedOf(2, index), faults: [] });
  return performance.now() - startedMs;
}

export async function benchFuzz(repeat: number): Promise<unknown> {
  const failover = scenarios.get('failover') as Scenario;
  await fuzzRuns(failover, 0, WARMUP_RUNS);
  const fuzzMsPerRun: number[] = [];
  const quietMsPerRun: number[] = [];
  for (let round = 0; round < repeat; round++) {
    fuzzMsPerRun.push((await fuzzRuns(failover, WARMUP_RUNS + round * RUNS_PER_REPEAT, RUNS_PER_REPEAT)) / RUNS_PER_REPEAT);
    quietMsPerRun.push((await quietRuns(failover, RUNS_PER_REPEAT)) / RUNS_PER_REPEAT);
  }
  const msPerRun = median(fuzzMsPerRun);
  const runsPerSecPerCore = 1000 / msPerRun;

  const workers = availableParallelism();
  const campaignStartedMs = performance.now();
  const campaign = await runCampaign(
    { scenarios: ['failover'], campaignSeed: 3, runs: workers * CAMPAIGN_RUNS_PER_WORKER, shard: { index: 0, count: 1 }, workers, plantedBugs: [], shrinkRunsMax: 0, stopOnFailure: true },
    () => {},
  );
  const campaignWallMs = performance.now() - campaignStartedMs;

  return {
    suite: 'fuzz',
    cluster: 'failover: 3 masters, 3 workers probing every 500 ms',
    virtualSecondsPerRun: 120,
    perCore: {
      runs: repeat * RUNS_PER_REPEAT,
      wallMsPerRunMedian: round1(msPerRun),
      wallMsPerRunByRepeat: fuzzMsPerRun.map(round1),
      runsPerSecPerCore: round1(runsPerSecPerCore),
      virtualSpeedup: Math.round(120_000 / msPerRun),
      quietRunWallMsMedian: round1(median(quietMsPerRun)),
      costVsQuietRun: round2(msPerRun / median(quietMsPerRun)),
    },
    campaign: {
      workers,
      runs: campaign.length,
      failures: campaign.filter((run) => !run.passed).length,
      wallMs: Math.round(campaignWallMs),
      runsPerSec: round1((campaign.length * 1000) / campaignWallMs),
      runsPerSecPerWorker: round1((campaign.length * 1000) / campaignWallMs / workers),
    },
    target: { runsPerSecPerCoreMin: RUNS_PER_SEC_PER_CORE_MIN, met: runsPerSecPerCore >= RUNS_PER_SEC_PER_CORE_MIN },
  };
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
