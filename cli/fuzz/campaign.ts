// A fuzz campaign: which runs belong to it (seed, scenarios, shard, a run
// count or a time budget), spread over worker threads, with results handed
// back as they come. Which runs exist never depends on the worker count: run
// i of a scenario has seed runSeedOf(campaignSeed, i) and belongs to shard
// i mod n, so a failure found on many cores replays the same on one.
import { Worker } from 'node:worker_threads';
import type { PlantedBug } from '../../src/runtime/testing/planted-bugs.js';
import { runSeedOf, type FuzzRunResult } from './run-case.js';
import { runRequest, type WorkerReply, type WorkerRequest } from './worker.js';

export interface Shard {
  /** 0-based. */
  index: number;
  count: number;
}

export interface CampaignOptions {
  scenarios: readonly string[];
  campaignSeed: number;
  /** Runs per scenario, across all shards. */
  runs?: number;
  /** Stop starting runs after this much wall time. */
  seconds?: number;
  shard: Shard;
  /** Worker threads; 0 runs everything in this thread (tests). */
  workers: number;
  plantedBugs: readonly PlantedBug[];
  shrinkRunsMax: number;
  /** Stop starting runs after the first failure (its shrinking still finishes). */
  stopOnFailure: boolean;
}

export interface CampaignRun extends FuzzRunResult {
  index: number;
}

export interface RunTask {
  scenario: string;
  index: number;
  runSeed: number;
}

/** The campaign's runs for this shard, in the order they start: run 0 of every scenario, then run 1, … */
export function* campaignTasks(options: Pick<CampaignOptions, 'scenarios' | 'campaignSeed' | 'runs' | 'shard'>): Generator<RunTask> {
  const { shard } = options;
  for (let index = 0; options.runs === undefined || index < options.runs; index++) {
    if (index % shard.count !== shard.index) continue;
    for (const scenario of options.scenarios) yield { scenario, index, runSeed: runSeedOf(options.campaignSeed, index) };
  }
}

export async function runCampaign(options: CampaignOptions, onRun: (run: CampaignRun) => void, nowMs: () => number = () => performance.now()): Promise<CampaignRun[]> {
  const startedMs = nowMs();
  const tasks = campaignTasks(options);
  const results: CampaignRun[] = [];
  let failed = false;
  const nextTask = (): RunTask | undefined => {
    if (failed && options.stopOnFailure) return undefined;
    if (options.seconds !== undefined && nowMs() - startedMs >= options.seconds * 1000) return undefined;
    const next = tasks.next();
    return next.done === true ? undefined : next.value;
  };
  const accept = (task: RunTask, result: FuzzRunResult): void => {
    const run: CampaignRun = { ...result, index: task.index };
    if (!run.passed) failed = true;
    results.push(run);
    onRun(run);
  };
  const request = (task: RunTask): WorkerRequest => ({
    scenario: task.scenario,
    runSeed: task.runSeed,
    plantedBugs: [...options.plantedBugs],
    shrinkRunsMax: options.shrinkRunsMax,
  });

  if (options.workers === 0) {
    for (let task = nextTask(); task !== undefined; task = nextTask()) accept(task, await runRequest(request(task)));
  } else {
    await Promise.all(Array.from({ length: options.workers }, () => workerLoop(nextTask, request, accept)));
  }
  // Workers finish in any order; the record reads in campaign order.
  return results.sort((a, b) => a.index - b.index || options.scenarios.indexOf(a.scenario) - options.scenarios.indexOf(b.scenario));
}

/** One worker thread taking tasks until there are none left. */
async function workerLoop(nextTask: () => RunTask | undefined, request: (task: RunTask) => WorkerRequest, accept: (task: RunTask, result: FuzzRunResult) => void): Promise<void> {
  let task = nextTask();
  if (task === undefined) return;
  const worker = startWorker();
  try {
    while (task !== undefined) {
      const reply = await ask(worker, request(task));
      if ('error' in reply) throw new Error(`fuzz run ${task.index} of ${task.scenario} (seed ${task.runSeed}) failed to run: ${reply.error}`);
      accept(task, reply.result);
      task = nextTask();
    }
  } finally {
    await worker.terminate();
  }
}

/**
 * tsx's loader does not follow into worker threads by itself; the worker
 * registers it and then loads its TypeScript module.
 */
function startWorker(): Worker {
  const entry = new URL('./worker.ts', import.meta.url).href;
  const boot = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(boot, { eval: true });
}

function ask(worker: Worker, request: WorkerRequest): Promise<WorkerReply> {
  return new Promise((resolve, reject) => {
    const onMessage = (reply: WorkerReply): void => {
      cleanUp();
      resolve(reply);
    };
    const onError = (error: Error): void => {
      cleanUp();
      reject(error);
    };
    const onExit = (code: number): void => {
      cleanUp();
      reject(new Error(`fuzz worker exited with code ${code} during run ${request.runSeed} of ${request.scenario}`));
    };
    const cleanUp = (): void => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    worker.postMessage(request);
  });
}
