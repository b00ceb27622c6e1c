// The counterexample file: what a failed fuzz run leaves under reports/fuzz/,
// and what a regression case under test/fuzz-regressions/ is. It carries the
// exact fault schedule, so it replays even after the arbitraries change (a
// fast-check path does not survive that).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FAULT_KINDS, type Fault } from '../../sim/network/faults.js';
import { isPlantableBug, type PlantedBug } from '../../src/runtime/testing/planted-bugs.js';
import type { FuzzCounterexample } from './run-case.js';

export interface CounterexampleFile {
  scenario: string;
  /** The world's seed (and fast-check's) for the run. */
  runSeed: number;
  /** fast-check's path to the shrunk case from runSeed, for `--replay runSeed --path`. */
  path?: string;
  campaignSeed?: number;
  runIndex?: number;
  plantedBugs: PlantedBug[];
  /** The schedule, exactly as applied. */
  faults: Fault[];
  /** The same, one line per fault. */
  schedule: string[];
  /** Names and details of the invariants that failed. */
  failed: { name: string; detail: string }[];
  /** What a regression case is about (the bug it caught, the fix); free text. */
  note?: string;
}

export class CounterexampleError extends Error {
  readonly code = 'ERR_FUZZ_COUNTEREXAMPLE';
}

export function replayByPath(counterexample: Pick<CounterexampleFile, 'scenario' | 'runSeed' | 'path' | 'plantedBugs'>): string {
  const plant = counterexample.plantedBugs.map((bug) => ` --plant ${bug}`).join('');
  const path = counterexample.path === undefined ? '' : ` --path ${counterexample.path}`;
  return `npm run fuzz -- --scenario ${counterexample.scenario} --replay ${counterexample.runSeed}${path}${plant}`;
}

export function replayBySchedule(file: string): string {
  return `npm run fuzz -- --schedule ${file}`;
}

export function counterexampleFileOf(found: FuzzCounterexample, context: { campaignSeed: number; runIndex: number; plantedBugs: readonly PlantedBug[] }): CounterexampleFile {
  return {
    scenario: found.scenario,
    runSeed: found.runSeed,
    ...(found.path === undefined ? {} : { path: found.path }),
    campaignSeed: context.campaignSeed,
    runIndex: context.runIndex,
    plantedBugs: [...context.plantedBugs],
    faults: found.faults,
    schedule: found.readable,
    failed: found.failed.map(({ name, detail }) => ({ name, detail })),
  };
}

/** Writes reports/fuzz/<scenario>-c<campaign seed>-run<index>-seed<run seed>[-<planted bugs>].json and returns its path. */
export async function saveCounterexample(counterexample: CounterexampleFile, reportsDir: string): Promise<string> {
  const dir = join(reportsDir, 'fuzz');
  await mkdir(dir, { recursive: true });
  const campaign = counterexample.campaignSeed === undefined ? '' : `-c${counterexample.campaignSeed}-run${counterexample.runIndex ?? 0}`;
  const planted = counterexample.plantedBugs.length === 0 ? '' : `-${counterexample.plantedBugs.join('+')}`;
  const file = join(dir, `${counterexample.scenario}${campaign}-seed${counterexample.runSeed}${planted}.json`);
  await writeFile(file, JSON.stringify(counterexample, null, 2) + '\n');
  return file;
}

export async function loadCounterexample(file: string): Promise<CounterexampleFile> {
  let text;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new CounterexampleError(`${file}: cannot read: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CounterexampleError(`${file}: not JSON: ${(error as Error).message}`);
  }
  return parseCounterexample(value, file);
}

/** Checks the shape a replay relies on; the faults themselves are checked against the world when scheduled. */
export function parseCounterexample(value: unknown, file: string): CounterexampleFile {
  const fail = (what: string): never => {
    throw new CounterexampleError(`${file}: ${what}`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('expected a JSON object');
  const record = value as Record<string, unknown>;
  if (typeof record['scenario'] !== 'string') fail('"scenario" must be a string');
  const runSeed = record['runSeed'];
  if (typeof runSeed !== 'number' || !Number.isSafeInteger(runSeed) || runSeed < 0) fail('"runSeed" must be a non-negative integer');
  const faults = record['faults'];
  if (!Array.isArray(faults)) return fail('"faults" must be an array');
  faults.forEach((fault: unknown, index) => {
    if (typeof fault !== 'object' || fault === null) fail(`faults[${index}] must be an object`);
    const { kind, atMs } = fault as { kind?: unknown; atMs?: unknown };
    if (typeof kind !== 'string' || !(FAULT_KINDS as readonly string[]).includes(kind)) fail(`faults[${index}].kind must be one of ${FAULT_KINDS.join(', ')}, got ${JSON.stringify(kind)}`);
    if (typeof atMs !== 'number') fail(`faults[${index}].atMs must be a number`);
  });
  const planted = record['plantedBugs'] ?? [];
  if (!Array.isArray(planted) || !planted.every((bug): bug is PlantedBug => typeof bug === 'string' && isPlantableBug(bug))) {
    fail(`"plantedBugs" must be an array of known bug names`);
  }
  return {
    ...(record as unknown as CounterexampleFile),
    plantedBugs: planted as PlantedBug[],
    schedule: Array.isArray(record['schedule']) ? (record['schedule'] as string[]) : [],
    failed: Array.isArray(record['failed']) ? (record['failed'] as CounterexampleFile['failed']) : [],
  };
}
