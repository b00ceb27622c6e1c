// The nat-proxy scenario as a user runs it: it passes, and it is deterministic.
import { describe, expect, it } from 'vitest';
import { natProxy } from '../scenarios/nat-proxy.js';
import { runScenario } from '../cli/scenario-runner.js';

describe('scenario nat-proxy', () => {
  it('passes, and the same seed twice gives the same trace hash', async () => {
    const first = await runScenario(natProxy, 1);
    const again = await runScenario(natProxy, 1);
    expect(first.invariants.filter((check) => !check.passed)).toEqual([]);
    expect(again.traceHash).toBe(first.traceHash);
    expect(again.events).toBe(first.events);
    expect(again.virtualMs).toBe(first.virtualMs);
    expect(again.metrics).toEqual(first.metrics);
    const metrics = first.metrics as Record<string, number>;
    // The faults happened and touched traffic: loss on the NAT's uplink, the proxy's partition.
    expect(metrics['frames.lost']).toBeGreaterThan(0);
    expect(metrics['frames.partitioned']).toBeGreaterThan(0);
    expect(first.faults.filter((fault) => fault.includes('restart-process'))).toHaveLength(2);
    expect(metrics['pulls.ok']).toBeGreaterThan(50);
  }, 120_000);
});
