// The streams scenario as a user runs it: it passes, and it is deterministic.
import { describe, expect, it } from 'vitest';
import { streams } from '../scenarios/streams.js';
import { runScenario } from '../cli/scenario-runner.js';

describe('scenario streams', () => {
  it('passes, and the same seed twice gives the same trace hash; another seed another', async () => {
    const first = await runScenario(streams, 1);
    const again = await runScenario(streams, 1);
    const other = await runScenario(streams, 2);
    for (const report of [first, again, other]) {
      expect(report.invariants.filter((check) => !check.passed)).toEqual([]);
    }
    expect(again.traceHash).toBe(first.traceHash);
    expect(again.events).toBe(first.events);
    expect(again.virtualMs).toBe(first.virtualMs);
    expect(again.metrics).toEqual(first.metrics);
    expect(other.traceHash).not.toBe(first.traceHash);
  });

  it('exercises what it claims: loss, duplication, partitions, the NAT, failures and recoveries', async () => {
    const report = await runScenario(streams, 3);
    const metrics = report.metrics as Record<string, number>;
    expect(metrics['frames.lost']).toBeGreaterThan(100);
    expect(metrics['frames.duplicated']).toBeGreaterThan(100);
    expect(metrics['frames.partitioned']).toBeGreaterThan(0);
    expect(metrics['tcp.retransmits']).toBeGreaterThan(0);
    expect(metrics['nat.mappings']).toBe(metrics['streams.total']);
    // The 30 s partition must break streams in flight, and only those.
    expect(metrics['streams.failed']).toBeGreaterThanOrEqual(10);
    expect(metrics['streams.ok']).toBeGreaterThanOrEqual(40);
  });

  it('fails, with a replayable report, when a fault schedule keeps the far hosts cut off', async () => {
    // Never healed: streams started "after the faults" cannot complete.
    const report = await runScenario(streams, 1, [
      { atMs: 100, kind: 'partition', sideA: ['h06'], sideB: ['server', 'proxy'] },
    ]);
    expect(report.passed).toBe(false);
    const failed = report.invariants.filter((check) => !check.passed).map((check) => check.name);
    expect(failed).toEqual(['after the faults heal, every new stream succeeds']);
    expect(report.replay).toBe('npm run scenario streams -- --seed 1');
  });
});
