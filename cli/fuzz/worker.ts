// A fuzz worker thread: runs one fuzz run per request (shrinking a failure)
// and answers with its result. Planted bugs are set per request, as each
// thread has its own copy of the switch.
import { parentPort } from 'node:worker_threads';
import { plantBugs, type PlantedBug } from '../../src/runtime/testing/planted-bugs.js';
import { scenarios } from '../../scenarios/index.js';
import { fuzzRun, type FuzzRunResult } from './run-case.js';

export interface WorkerRequest {
  scenario: string;
  runSeed: number;
  plantedBugs: PlantedBug[];
  shrinkRunsMax: number;
}

export type WorkerReply = { result: FuzzRunResult } | { error: string };

/** One run, with the request's bugs planted for its length only. */
export async function runRequest(request: WorkerRequest): Promise<FuzzRunResult> {
  const scenario = scenarios.get(request.scenario);
  if (scenario === undefined) throw new Error(`unknown scenario ${request.scenario}`);
  plantBugs(request.plantedBugs);
  try {
    return await fuzzRun(scenario, { scenario: request.scenario, runSeed: request.runSeed, shrink: true, shrinkRunsMax: request.shrinkRunsMax });
  } finally {
    plantBugs([]);
  }
}

async function handle(request: WorkerRequest): Promise<WorkerReply> {
  try {
    return { result: await runRequest(request) };
  } catch (error) {
    return { error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
  }
}

if (parentPort !== null) {
  const port = parentPort;
  port.on('message', (request: WorkerRequest) => {
    void handle(request).then((reply) => port.postMessage(reply));
  });
}
