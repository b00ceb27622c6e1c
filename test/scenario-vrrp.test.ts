// The keepalived scenarios as a user runs them: each passes, each is
// deterministic, and their oracles fail when the story they check breaks.
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runScenario } from '../cli/scenario-runner.js';
import { failover } from '../scenarios/failover.js';
import { preempt } from '../scenarios/preempt.js';
import { splitBrain } from '../scenarios/split-brain.js';
import { apiserverDown } from '../scenarios/apiserver-down.js';

const failedNames = (report: { invariants: { name: string; passed: boolean }[] }) =>
  report.invariants.filter((check) => !check.passed).map((check) => check.name);

describe.each([failover, preempt, splitBrain, apiserverDown])('scenario $name', (scenario) => {
  it('passes for seeds 1 and 2, and the same seed twice gives the same trace hash', async () => {
    const first = await runScenario(scenario, 1);
    const again = await runScenario(scenario, 1);
    const other = await runScenario(scenario, 2);
    expect(failedNames(first)).toEqual([]);
    expect(failedNames(other)).toEqual([]);
    expect(again.traceHash).toBe(first.traceHash);
    expect(again.metrics).toEqual(first.metrics);
    expect(other.traceHash).not.toBe(first.traceHash);
  }, 60_000);
});

describe('failover', () => {
  it('reports failoverMs inside the product bound through the CLI', async () => {
    const { stdout } = await promisify(execFile)('npx', ['tsx', 'cli/scenario.ts', 'failover', '--seed', '1', '--json', '--reports', join(tmpdir(), 'pf9lab-vrrp-cli')], {
      cwd: process.cwd(),
    });
    const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as { passed: boolean; metrics: Record<string, number> };
    expect(report.passed).toBe(true);
    expect(report.metrics['failoverMs']).toBeGreaterThanOrEqual(2_600);
    expect(report.metrics['failoverMs']).toBeLessThanOrEqual(3_700);
  }, 60_000);

  it('fails when the crashed master was not the holder: nobody takes over', async () => {
    const report = await runScenario(failover, 1, [{ atMs: 15_000, kind: 'crash', host: 'm2' }]);
    expect(failedNames(report)).toContain('a backup holds the VIP within Master_Down_Interval + one advert interval');
  }, 60_000);

  it('fails when the holder is only cut off from the workers: their probes never come back', async () => {
    const report = await runScenario(failover, 1, [
      { atMs: 15_000, kind: 'crash', host: 'm3' },
      { atMs: 15_000, kind: 'partition', sideA: ['m1'], sideB: ['w1', 'w2', 'w3'] },
    ]);
    expect(failedNames(report)).toContain("workers' probes succeed again within the takeover bound plus ARP refresh");
  }, 60_000);
});

describe('split-brain', () => {
  it('without a heal in the schedule, judges only the partition', async () => {
    const report = await runScenario(splitBrain, 1, [{ atMs: 12_000, kind: 'partition', sideA: ['m1', 'w1'], sideB: ['m2', 'm3', 'w2', 'w3'] }]);
    expect(report.passed).toBe(true);
    // No heal in the schedule: the post-heal checks do not apply, the per-side check does.
    expect(report.invariants.map((check) => check.name)).toEqual(expect.arrayContaining(['during the partition, one holder per side that has masters']));
  }, 60_000);
});
