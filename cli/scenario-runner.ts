// Runs one scenario for one seed and turns the run into a result and a report.
// Lives outside sim/: it reads the wall clock, which simulations may not.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Scenario, InvariantResult, Metrics, ScenarioRun } from '../sim/scenario.js';
import type { Fault } from '../sim/network/faults.js';
import { describeFault } from '../sim/network/faults.js';
import { formatTraceEvent, type TraceEvent } from '../sim/network/trace.js';
import type { World } from '../sim/network/world.js';
import { Engine } from '../sim/network/engine.js';

/** The contract of `npm run scenario <name> -- --json` (its last stdout line). */
export interface ScenarioResult {
  scenario: string;
  seed: number;
  passed: boolean;
  traceHash: string;
  virtualMs: number;
  wallMs: number;
  events: number;
  invariants: InvariantResult[];
  metrics: Metrics;
}

export interface ScenarioReport extends ScenarioResult {
  replay: string;
  faults: string[];
  timeline: string[];
  timelineDropped: number;
  eventsByKind: Record<string, number>;
  drops: Record<string, number>;
}

export function replayCommand(scenario: string, seed: number): string {
  return `npm run scenario ${scenario} -- --seed ${seed}`;
}

export async function runScenario(scenario: Scenario, seed: number, faults?: Fault[]): Promise<ScenarioReport> {
  const judged = await judgeRun(() => scenario.run(faults === undefined ? { seed } : { seed, faults }));
  return reportOf(scenario.name, seed, judged, replayCommand(scenario.name, seed));
}

/** A run and its verdict: the scenario's invariants and the runtime ones. */
export interface JudgedRun {
  run: ScenarioRun;
  invariants: InvariantResult[];
  passed: boolean;
  wallMs: number;
}

/** Runs a world to its end and judges it, with what escaped the engine caught and counted against it. */
export async function judgeRun(start: () => Promise<ScenarioRun>): Promise<JudgedRun> {
  // While the engine runs, it routes escaped errors to the process that threw
  // them (or to world.failures); this catches what escapes between runs.
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown): void => {
    if (Engine.activeRuns === 0) uncaught.push(error);
  };
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
  const startedMs = performance.now();
  let run;
  try {
    run = await start();
  } finally {
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
  }
  const wallMs = Math.round(performance.now() - startedMs);
  const invariants = [...run.invariants, ...runtimeInvariants(run.world, uncaught)];
  return { run, invariants, passed: invariants.every((check) => check.passed), wallMs };
}

export function reportOf(scenario: string, seed: number, judged: JudgedRun, replay: string): ScenarioReport {
  const { run, invariants, passed, wallMs } = judged;
  const world = run.world;
  const trace = world.engine.trace;
  const timeline = trace.timelineEvents();
  return {
    scenario,
    seed,
    passed,
    traceHash: trace.digest(),
    virtualMs: world.engine.elapsedMs(),
    wallMs,
    events: trace.events,
    invariants,
    metrics: run.metrics,
    replay,
    faults: run.faults.map(describeFault),
    timeline: timeline.events.map((event: TraceEvent) => formatTraceEvent(event)),
    timelineDropped: timeline.dropped,
    eventsByKind: trace.countsByKind(),
    drops: Object.fromEntries([...world.drops.entries()].sort(([a], [b]) => (a < b ? -1 : 1))),
  };
}

/** Checks every scenario gets for free: no service threw, no scenario code failed, nothing escaped. */
function runtimeInvariants(world: World, uncaught: unknown[]): InvariantResult[] {
  const crashes = world.engine.trace.count('proc.crash');
  const failures = world.failures.map(
    (failure) => `${failure.host} at ${failure.atMs} ms: ${failure.error instanceof Error ? failure.error.message : String(failure.error)}`,
  );
  const escaped = uncaught.map((error) => (error instanceof Error ? (error.stack ?? error.message) : String(error)));
  return [
    {
      name: 'no service crashed',
      passed: crashes === 0,
      detail: crashes === 0 ? 'no process threw' : `${crashes} process crash(es); see proc.crash in the timeline`,
    },
    {
      name: 'no scenario code failed',
      passed: failures.length === 0 && escaped.length === 0,
      detail: failures.length + escaped.length === 0 ? 'none' : [...failures, ...escaped].slice(0, 5).join(' | '),
    },
  ];
}

export function resultOf(report: ScenarioReport): ScenarioResult {
  const { scenario, seed, passed, traceHash, virtualMs, wallMs, events, invariants, metrics } = report;
  return { scenario, seed, passed, traceHash, virtualMs, wallMs, events, invariants, metrics };
}

export async function writeReport(report: ScenarioReport, reportsDir: string): Promise<string> {
  const dir = join(reportsDir, report.scenario, `seed-${report.seed}`);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  await writeFile(join(dir, 'report.md'), renderMarkdown(report));
  return join(dir, 'report.md');
}

export function renderSummary(report: ScenarioReport): string {
  const ratio = report.wallMs > 0 ? (report.virtualMs / report.wallMs).toFixed(1) : '∞';
  const lines = [
    `scenario ${report.scenario}  seed ${report.seed}  ${report.passed ? 'PASS' : 'FAIL'}`,
    `  ${(report.virtualMs / 1000).toFixed(3)} s virtual in ${(report.wallMs / 1000).toFixed(3)} s wall (${ratio}x), ${report.events} events, trace ${report.traceHash.slice(0, 16)}`,
  ];
  for (const check of report.invariants) lines.push(`  ${check.passed ? 'ok  ' : 'FAIL'} ${check.name}: ${check.detail}`);
  const metrics = Object.entries(report.metrics).map(([key, value]) => `${key}=${value}`);
  for (let i = 0; i < metrics.length; i += 4) lines.push(`  ${metrics.slice(i, i + 4).join('  ')}`);
  return lines.join('\n');
}

function renderMarkdown(report: ScenarioReport): string {
  const rows = (entries: [string, string | number][]): string => entries.map(([key, value]) => `| ${key} | ${value} |`).join('\n');
  return `# Scenario \`${report.scenario}\`, seed ${report.seed}: ${report.passed ? 'PASS' : 'FAIL'}

Replay: \`${report.replay}\`

- virtual time: ${report.virtualMs} ms; wall time: ${report.wallMs} ms
- events: ${report.events}; trace hash: \`${report.traceHash}\`

## Invariants

| invariant | result | detail |
| --- | --- | --- |
${report.invariants.map((check) => `| ${check.name} | ${check.passed ? 'pass' : '**FAIL**'} | ${check.detail.replace(/\|/g, '\\|')} |`).join('\n')}

## Metrics

| metric | value |
| --- | --- |
${rows(Object.entries(report.metrics))}

## Fault schedule

${report.faults.length === 0 ? 'none' : report.faults.map((fault) => `- ${fault}`).join('\n')}

## Timeline (faults, host and process lifecycle, connection failures, warnings)

\`\`\`
${report.timeline.join('\n') || '(empty)'}${report.timelineDropped > 0 ? `\n… ${report.timelineDropped} more not kept` : ''}
\`\`\`

## Dropped packets by reason

| reason | packets |
| --- | --- |
${rows(Object.entries(report.drops))}

## Trace events by kind

| kind | events |
| --- | --- |
${rows(Object.entries(report.eventsByKind))}
`;
}
