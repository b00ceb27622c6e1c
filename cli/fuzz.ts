// npm run fuzz -- [--scenario <name>|all] [--runs N | --seconds S] [--seed N] [--shard i/n] [--json]
//                 [--workers N] [--shrink-runs N] [--keep-going] [--reports DIR] [--plant <bug>]
// npm run fuzz -- --scenario <name> --replay <run seed> [--path <fast-check path>] [--plant <bug>]
// npm run fuzz -- --schedule <counterexample.json>
//
// Exit codes: 0 the campaign passed (or the replayed run held); 1 a run
// failed, or a fault kind never fired; 2 usage error.
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import type { Scenario } from '../sim/scenario.js';
import type { Fault } from '../sim/network/faults.js';
import { expectedFaultKinds } from '../sim/fuzz/schedule.js';
import { scenarios as registry } from '../scenarios/index.js';
import { isPlantableBug, PLANTABLE_BUGS, plantBugs, type PlantedBug } from '../src/runtime/testing/planted-bugs.js';
import { judgeRun, renderSummary as renderRunSummary, reportOf, writeReport } from './scenario-runner.js';
import { runCampaign, type CampaignRun, type Shard } from './fuzz/campaign.js';
import { FuzzReplayError, fuzzProfileOf, scheduleAt } from './fuzz/run-case.js';
import { CounterexampleError, counterexampleFileOf, loadCounterexample, replayByPath, replayBySchedule, saveCounterexample } from './fuzz/counterexample.js';
import { progressLine, renderFailure, renderSummary, summarize, type FailedRunSummary } from './fuzz/summary.js';
import type { CliIo } from './scenario.js';

const USAGE = `usage:
  npm run fuzz -- [--scenario <name>|all] [--runs N | --seconds S] [--seed N] [--shard i/n] [--json]
                  [--workers N] [--shrink-runs N] [--keep-going] [--reports DIR] [--plant <bug>]
  npm run fuzz -- --scenario <name> --replay <run seed> [--path <fast-check path>] [--plant <bug>]
  npm run fuzz -- --schedule <counterexample.json>`;

const RUNS_DEFAULT = 100;
const SHRINK_RUNS_DEFAULT = 200;
/** How often a campaign prints a plain progress line when stderr is not a terminal. */
const PLAIN_PROGRESS_EVERY_MS = 10_000;
const TTY_PROGRESS_EVERY_MS = 250;

export interface FuzzIo extends CliIo {
  /** A progress line that replaces the previous one (a terminal), or undefined to print plain periodic lines. */
  status?: (line: string) => void;
}

class UsageError extends Error {}

export async function main(argv: readonly string[], io: FuzzIo): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`${error.message}\n${USAGE}`);
      return 2;
    }
    if (error instanceof CounterexampleError || error instanceof FuzzReplayError) {
      io.err(error.message);
      return 2;
    }
    throw error;
  }
}

async function dispatch(argv: readonly string[], io: FuzzIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: false,
      options: {
        scenario: { type: 'string', default: 'all' },
        runs: { type: 'string' },
        seconds: { type: 'string' },
        seed: { type: 'string', default: '1' },
        shard: { type: 'string', default: '1/1' },
        json: { type: 'boolean', default: false },
        workers: { type: 'string' },
        'shrink-runs': { type: 'string' },
        'keep-going': { type: 'boolean', default: false },
        reports: { type: 'string', default: 'reports' },
        plant: { type: 'string', multiple: true, default: [] },
        replay: { type: 'string' },
        path: { type: 'string' },
        schedule: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values } = parsed;
  if (values.help) {
    io.out(`${USAGE}\n\nplantable bugs (tests only):\n${Object.entries(PLANTABLE_BUGS).map(([name, what]) => `  ${name}: ${what}`).join('\n')}`);
    return 0;
  }
  const plantedBugs = values.plant.map((name) => {
    if (!isPlantableBug(name)) throw new UsageError(`--plant: unknown bug "${name}"; known: ${Object.keys(PLANTABLE_BUGS).join(', ')}`);
    return name;
  });

  if (values.schedule !== undefined) {
    const counterexample = await loadCounterexample(values.schedule);
    const scenario = fuzzedScenario(counterexample.scenario);
    return replay(scenario, counterexample.runSeed, counterexample.faults, [...counterexample.plantedBugs, ...plantedBugs], replayBySchedule(values.schedule), values.reports, io);
  }
  if (values.replay !== undefined) {
    if (values.scenario === 'all') throw new UsageError('--replay needs --scenario <name>');
    const scenario = fuzzedScenario(values.scenario);
    const runSeed = nonNegativeInteger('--replay', values.replay);
    const faults = await scheduleAt(scenario, runSeed, values.path);
    const command = replayByPath({ scenario: scenario.name, runSeed, ...(values.path === undefined ? {} : { path: values.path }), plantedBugs });
    return replay(scenario, runSeed, faults, plantedBugs, command, values.reports, io);
  }
  if (values.path !== undefined) throw new UsageError('--path goes with --replay');

  if (values.runs !== undefined && values.seconds !== undefined) throw new UsageError('give --runs or --seconds, not both');
  const names = values.scenario === 'all' ? [...registry.values()].filter((scenario) => scenario.fuzz !== undefined).map((scenario) => scenario.name) : [fuzzedScenario(values.scenario).name];
  const seconds = values.seconds === undefined ? undefined : positiveNumber('--seconds', values.seconds);
  const runs = values.runs === undefined ? (seconds === undefined ? RUNS_DEFAULT : undefined) : positiveInteger('--runs', values.runs);
  const campaignSeed = nonNegativeInteger('--seed', values.seed);
  const shard = parseShard(values.shard);
  const workers = values.workers === undefined ? availableParallelism() : nonNegativeInteger('--workers', values.workers);
  const shrinkRunsMax = values['shrink-runs'] === undefined ? SHRINK_RUNS_DEFAULT : nonNegativeInteger('--shrink-runs', values['shrink-runs']);

  const startedMs = performance.now();
  const progress = progressReporter(io, startedMs);
  const failed: FailedRunSummary[] = [];
  const saving: Promise<void>[] = [];
  let done = 0;
  let failures = 0;
  const runsDone = await runCampaign(
    { scenarios: names, campaignSeed, ...(runs === undefined ? {} : { runs }), ...(seconds === undefined ? {} : { seconds }), shard, workers, plantedBugs, shrinkRunsMax, stopOnFailure: !values['keep-going'] },
    (run) => {
      done++;
      if (!run.passed) {
        failures++;
        saving.push(recordFailure(run, { campaignSeed, plantedBugs, reportsDir: values.reports }).then((failure) => {
          failed.push(failure);
          progress.clear();
          io.err(renderFailure(failure).join('\n'));
        }));
      }
      progress.update(done, failures);
    },
  );
  await Promise.all(saving);
  progress.clear();
  const expected = [...new Set(names.flatMap((name) => expectedFaultKinds(fuzzProfileOf(fuzzedScenario(name)).topology)))].sort();
  const summary = summarize({
    campaignSeed,
    shard: `${shard.index + 1}/${shard.count}`,
    scenarios: names,
    workers: Math.max(1, workers),
    runs: runsDone,
    wallMs: performance.now() - startedMs,
    expectedFaultKinds: expected,
    failed: failed.sort((a, b) => a.index - b.index),
  });
  if (values.json) {
    io.err(renderSummary(summary));
    io.out(JSON.stringify(summary));
  } else {
    io.out(renderSummary(summary));
  }
  return summary.passed ? 0 : 1;
}

async function recordFailure(run: CampaignRun, context: { campaignSeed: number; plantedBugs: PlantedBug[]; reportsDir: string }): Promise<FailedRunSummary> {
  const found = run.counterexample;
  if (found === undefined) throw new Error(`run ${run.index} of ${run.scenario} failed without a counterexample`);
  const file = counterexampleFileOf(found, { campaignSeed: context.campaignSeed, runIndex: run.index, plantedBugs: context.plantedBugs });
  const saved = await saveCounterexample(file, context.reportsDir);
  return {
    scenario: run.scenario,
    index: run.index,
    runSeed: run.runSeed,
    failed: found.failed.map((check) => `${check.name}: ${check.detail}`),
    schedule: found.readable,
    // With no fault left there is no fast-check path to it: the saved schedule replays it.
    replay: file.path === undefined ? replayBySchedule(saved) : replayByPath(file),
    counterexample: saved,
  };
}

/** Runs one schedule, prints the scenario-style verdict, writes its full report. */
async function replay(scenario: Scenario, runSeed: number, faults: Fault[], plantedBugs: PlantedBug[], command: string, reportsDir: string, io: FuzzIo): Promise<number> {
  const profile = fuzzProfileOf(scenario);
  plantBugs(plantedBugs);
  let judged;
  try {
    judged = await judgeRun(() => profile.run({ seed: runSeed, faults }));
  } finally {
    plantBugs([]);
  }
  const report = reportOf(scenario.name, runSeed, judged, command);
  const reportPath = await writeReport({ ...report, scenario: `fuzz-${scenario.name}` }, reportsDir);
  io.out(`${renderRunSummary(report)}\n  schedule:\n${report.faults.map((line) => `    ${line}`).join('\n') || '    none'}\n  report: ${reportPath}`);
  if (!report.passed) io.err(`replay: ${command}`);
  return report.passed ? 0 : 1;
}

function progressReporter(io: FuzzIo, startedMs: number): { update(runs: number, failures: number): void; clear(): void } {
  let lastMs = -Infinity;
  let shown = false;
  const everyMs = io.status === undefined ? PLAIN_PROGRESS_EVERY_MS : TTY_PROGRESS_EVERY_MS;
  return {
    update(runs, failures) {
      const nowMs = performance.now();
      if (nowMs - lastMs < everyMs) return;
      lastMs = nowMs;
      const line = progressLine(runs, failures, nowMs - startedMs);
      if (io.status === undefined) {
        io.err(line);
      } else {
        io.status(line);
        shown = true;
      }
    },
    clear() {
      if (shown && io.status !== undefined) io.status('');
      shown = false;
    },
  };
}

function fuzzedScenario(name: string): Scenario {
  const scenario = registry.get(name);
  const fuzzable = [...registry.values()].filter((candidate) => candidate.fuzz !== undefined).map((candidate) => candidate.name);
  if (scenario === undefined) throw new UsageError(`unknown scenario "${name}"; fuzzable scenarios: ${fuzzable.join(', ')}, or all`);
  if (scenario.fuzz === undefined) throw new UsageError(`scenario "${name}" has no fuzz profile; fuzzable scenarios: ${fuzzable.join(', ')}, or all`);
  return scenario;
}

function parseShard(text: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(text);
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (match === null || count < 1 || index < 1 || index > count) throw new UsageError(`--shard must be i/n with 1 <= i <= n, got "${text}"`);
  return { index: index - 1, count };
}

function nonNegativeInteger(flag: string, text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) throw new UsageError(`${flag} must be a non-negative integer, got "${text}"`);
  return value;
}

function positiveInteger(flag: string, text: string): number {
  const value = nonNegativeInteger(flag, text);
  if (value === 0) throw new UsageError(`${flag} must be at least 1`);
  return value;
}

function positiveNumber(flag: string, text: string): number {
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !(value > 0)) throw new UsageError(`${flag} must be a positive number, got "${text}"`);
  return value;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const tty = process.stderr.isTTY === true;
  const io: FuzzIo = {
    out: (text) => process.stdout.write(text + '\n'),
    err: (text) => process.stderr.write(text + '\n'),
    ...(tty ? { status: (line: string) => process.stderr.write(`\r\x1b[2K${line}`) } : {}),
  };
  main(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`fuzz failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
