// What a campaign tells its user: a progress line while it runs, and a
// summary at the end — runs, failures, speed, and how often each fault kind
// fired. A kind that never fired fails the campaign: injection that does
// nothing must not pass.
import type { CampaignRun } from './campaign.js';

export interface FailedRunSummary {
  scenario: string;
  index: number;
  runSeed: number;
  failed: string[];
  schedule: string[];
  replay: string;
  counterexample: string;
}

export interface FuzzSummary {
  passed: boolean;
  campaignSeed: number;
  /** 1-based, as given on the command line: "1/1" when not sharded. */
  shard: string;
  scenarios: string[];
  workers: number;
  runs: number;
  failures: number;
  wallMs: number;
  runsPerSec: number;
  /** runsPerSec divided by the worker threads: the per-core figure. */
  runsPerSecPerWorker: number;
  virtualSecondsPerRun: number;
  /** Every fault kind the scenarios can inject, with how many times it was applied (shrinking not counted). */
  faultsFired: Record<string, number>;
  faultKindsNeverFired: string[];
  failed: FailedRunSummary[];
}

export interface SummaryInput {
  campaignSeed: number;
  shard: string;
  scenarios: string[];
  workers: number;
  runs: readonly CampaignRun[];
  wallMs: number;
  expectedFaultKinds: readonly string[];
  failed: FailedRunSummary[];
}

export function summarize(input: SummaryInput): FuzzSummary {
  const faultsFired: Record<string, number> = Object.fromEntries(input.expectedFaultKinds.map((kind) => [kind, 0]));
  for (const run of input.runs) for (const [kind, count] of Object.entries(run.faultsFired)) faultsFired[kind] = (faultsFired[kind] ?? 0) + count;
  const neverFired = input.expectedFaultKinds.filter((kind) => faultsFired[kind] === 0);
  const failures = input.runs.filter((run) => !run.passed).length;
  const runsPerSec = input.wallMs > 0 ? (input.runs.length * 1000) / input.wallMs : 0;
  const virtualMs = input.runs.reduce((sum, run) => sum + run.virtualMs, 0);
  return {
    passed: input.runs.length > 0 && failures === 0 && neverFired.length === 0,
    campaignSeed: input.campaignSeed,
    shard: input.shard,
    scenarios: input.scenarios,
    workers: input.workers,
    runs: input.runs.length,
    failures,
    wallMs: Math.round(input.wallMs),
    runsPerSec: round2(runsPerSec),
    runsPerSecPerWorker: round2(runsPerSec / Math.max(1, input.workers)),
    virtualSecondsPerRun: input.runs.length === 0 ? 0 : round2(virtualMs / input.runs.length / 1000),
    faultsFired: Object.fromEntries(Object.entries(faultsFired).sort(([a], [b]) => (a < b ? -1 : 1))),
    faultKindsNeverFired: neverFired,
    failed: input.failed,
  };
}

export function progressLine(runs: number, failures: number, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? (runs * 1000) / elapsedMs : 0;
  return `fuzz: ${runs} runs, ${failures} failure${failures === 1 ? '' : 's'}, ${rate.toFixed(1)} runs/s, ${(elapsedMs / 1000).toFixed(1)} s`;
}

export function renderSummary(summary: FuzzSummary): string {
  const lines = [
    `fuzz ${summary.scenarios.join(', ')}  seed ${summary.campaignSeed}  shard ${summary.shard}  ${summary.passed ? 'PASS' : 'FAIL'}`,
    `  ${summary.runs} runs, ${summary.failures} failed, in ${(summary.wallMs / 1000).toFixed(1)} s on ${summary.workers} worker(s): ${summary.runsPerSec} runs/s, ${summary.runsPerSecPerWorker} per worker; ${summary.virtualSecondsPerRun} virtual s per run`,
    `  faults fired: ${Object.entries(summary.faultsFired).map(([kind, count]) => `${kind} ${count}`).join(', ')}`,
  ];
  if (summary.faultKindsNeverFired.length > 0) lines.push(`  FAIL never fired: ${summary.faultKindsNeverFired.join(', ')} (injection that does nothing must not pass)`);
  if (summary.runs === 0) lines.push('  FAIL no run finished');
  for (const failure of summary.failed) lines.push(...renderFailure(failure).map((line) => `  ${line}`));
  return lines.join('\n');
}

export function renderFailure(failure: FailedRunSummary): string[] {
  return [
    `FAIL ${failure.scenario} run ${failure.index} (seed ${failure.runSeed}): ${failure.failed.join('; ')}`,
    `  shrunk schedule (${failure.schedule.length} fault${failure.schedule.length === 1 ? '' : 's'}):`,
    ...failure.schedule.map((line) => `    ${line}`),
    `  replay: ${failure.replay}`,
    `  saved:  ${failure.counterexample}`,
  ];
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
