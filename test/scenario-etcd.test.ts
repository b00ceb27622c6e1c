// The etcd scenarios as users see them, their determinism, and proof that
// their oracles fail on the bugs they exist to catch: a member serving reads
// without ReadIndex (stale reads on the minority side), and a write-ahead log
// that acknowledges before fsync (a whole-cluster crash loses writes and
// votes).
import { describe, expect, it } from 'vitest';
import { main } from '../cli/scenario.js';
import { scenarios } from '../scenarios/index.js';
import { runScenario } from '../cli/scenario-runner.js';
import { plantBugs, type PlantedBug } from '../src/runtime/testing/planted-bugs.js';
import type { Scenario } from '../sim/scenario.js';

async function failedWith(name: string, seed: number, bug: PlantedBug): Promise<string[]> {
  plantBugs([bug]);
  try {
    const run = await (scenarios.get(name) as Scenario).run({ seed });
    return run.invariants.filter((check) => !check.passed).map((check) => check.name);
  } finally {
    plantBugs([]);
  }
}

describe('etcd scenarios', () => {
  for (const name of ['etcd-partition', 'etcd-crash', 'vip-minority']) {
    it(`${name}: the same seed twice gives the same trace hash, and it passes`, async () => {
      const scenario = scenarios.get(name) as Scenario;
      const first = await runScenario(scenario, 3);
      const second = await runScenario(scenario, 3);
      expect(second.traceHash).toBe(first.traceHash);
      expect(first.invariants.filter((check) => !check.passed)).toEqual([]);
      if (name !== 'vip-minority') expect(first.metrics['operations']).toBeGreaterThan(1_000);
    }, 60_000);
  }

  it('npm run scenario etcd-partition -- --seed 1 --json prints a passing result', async () => {
    const out: string[] = [];
    const code = await main(['etcd-partition', '--seed', '1', '--json', '--reports', 'reports/test'], scenarios, { out: (text) => out.push(text), err: () => {} });
    expect(code).toBe(0);
    const result = JSON.parse(out.at(-1) as string) as { passed: boolean; invariants: { name: string }[] };
    expect(result.passed).toBe(true);
    expect(result.invariants.map((check) => check.name)).toEqual(
      expect.arrayContaining(['the history is linearizable', 'no acknowledged write is lost', 'at most one leader per term', 'the majority keeps committing']),
    );
  }, 60_000);

  it('catches a member that serves linearizable reads without ReadIndex', async () => {
    const failed = await failedWith('etcd-partition', 1, 'etcd-read-without-quorum');
    expect(failed).toContain('the history is linearizable');
    expect(failed.some((name) => name.includes('serves nothing while cut off'))).toBe(true);
  }, 60_000);

  it('catches a write-ahead log that acknowledges before fsync', async () => {
    const failed = await failedWith('etcd-crash', 1, 'etcd-ack-before-fsync');
    expect(failed).toContain('the history is linearizable');
  }, 60_000);
});
