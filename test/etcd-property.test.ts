// Random partitions, crashes, degraded links and service restarts on the
// etcd masters (the fuzzer's etcd-partition schedules), checked against the
// safety invariants: a linearizable history, no acknowledged write lost, one
// leader per term, and writes again once the faults stop.
//
// Each case simulates 55 s of a three-member cluster (about 2 s of wall
// time), so the suite runs a few; `npm run fuzz -- --scenario etcd-partition`
// runs many. On a failure fast-check prints the seed and path; replay with
//   ETCD_PROPERTY_SEED=<seed> ETCD_PROPERTY_PATH=<path> npx vitest run test/etcd-property.test.ts
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { scenarios } from '../scenarios/index.js';
import { fuzzCaseArb, lowerEpisodes } from '../sim/fuzz/schedule.js';
import { judgeRun } from '../cli/scenario-runner.js';
import type { FuzzProfile } from '../sim/scenario.js';

const RUNS = Number(process.env['ETCD_PROPERTY_RUNS'] ?? 4);
const SEED = process.env['ETCD_PROPERTY_SEED'] === undefined ? undefined : Number(process.env['ETCD_PROPERTY_SEED']);
const PATH = process.env['ETCD_PROPERTY_PATH'];

describe('etcd under random faults', () => {
  it('keeps every safety invariant, and writes resume after the faults', async () => {
    const profile = scenarios.get('etcd-partition')?.fuzz as FuzzProfile;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fuzzCaseArb(profile.topology), async (seed, fuzzCase) => {
        const faults = lowerEpisodes(fuzzCase.episodes, profile.topology);
        const judged = await judgeRun(() => profile.run({ seed, faults }));
        expect(judged.invariants.filter((check) => !check.passed)).toEqual([]);
      }),
      { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }), ...(PATH === undefined ? {} : { path: PATH }) },
    );
  }, 120_000);
});
