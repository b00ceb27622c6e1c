// `npm run fuzz` as its users see it: the summary, exit codes, the replay
// command a failure prints, the saved counterexample, and usage errors.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../cli/fuzz.js';
import type { FuzzSummary } from '../cli/fuzz/summary.js';

const reportsDir = mkdtempSync(join(tmpdir(), 'pf9lab-fuzz-'));
afterAll(() => rmSync(reportsDir, { recursive: true, force: true }));

async function fuzz(...args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main([...args, '--reports', reportsDir], { out: (text) => out.push(text), err: (text) => err.push(text) });
  return { code, out, err };
}

function summaryOf(out: string[]): FuzzSummary {
  return JSON.parse(out.at(-1) as string) as FuzzSummary;
}

describe('npm run fuzz', () => {
  it('--scenario failover --runs 50 --seed 1 --json: 50 runs, no failure, every fault kind fired', async () => {
    const { code, out, err } = await fuzz('--scenario', 'failover', '--runs', '50', '--seed', '1', '--json');
    const summary = summaryOf(out);
    expect(code, err.join('\n')).toBe(0);
    expect(summary).toMatchObject({ passed: true, runs: 50, failures: 0, faultKindsNeverFired: [], scenarios: ['failover'], shard: '1/1', virtualSecondsPerRun: 120 });
    expect(Object.keys(summary.faultsFired)).toEqual(['crash', 'degrade', 'heal', 'partition', 'partition-one-way', 'restart', 'restart-process', 'restore', 'stop-process']);
    for (const count of Object.values(summary.faultsFired)) expect(count).toBeGreaterThan(0);
    expect(summary.runsPerSec).toBeGreaterThan(0);
    // Not a terminal: plain progress lines on stderr, the summary too.
    expect(err.some((line) => /^fuzz: \d+ runs, 0 failures, [\d.]+ runs\/s/.test(line))).toBe(true);
  }, 120_000);

  it('fails a campaign in which a fault kind never fired', async () => {
    const { code, out, err } = await fuzz('--scenario', 'failover', '--runs', '1', '--workers', '0', '--json');
    const summary = summaryOf(out);
    expect(code).toBe(1);
    expect(summary.failures).toBe(0);
    expect(summary.faultKindsNeverFired.length).toBeGreaterThan(0);
    expect(err.join('\n')).toContain('never fired');
  }, 30_000);

  it('on a failure: prints the shrunk schedule and the replay command, saves the counterexample, and both replays fail again', async () => {
    const { code, out, err } = await fuzz('--scenario', 'failover', '--runs', '20', '--workers', '0', '--plant', 'vrrp-ignore-priority-0', '--json');
    expect(code).toBe(1);
    const summary = summaryOf(out);
    expect(summary.failures).toBe(1);
    const failure = summary.failed[0]!;
    expect(failure.replay).toMatch(/^npm run fuzz -- --scenario failover --replay \d+ --path [\d:]+ --plant vrrp-ignore-priority-0$/);
    expect(err.join('\n')).toContain(`replay: ${failure.replay}`);
    expect(err.join('\n')).toMatch(/shrunk schedule \(\d faults?\):/);
    expect(existsSync(failure.counterexample)).toBe(true);

    const [, replaySeed, path] = /--replay (\d+) --path ([\d:]+)/.exec(failure.replay) ?? [];
    const byPath = await fuzz('--scenario', 'failover', '--replay', replaySeed!, '--path', path!, '--plant', 'vrrp-ignore-priority-0');
    expect(byPath.code).toBe(1);
    expect(byPath.out.join('\n')).toContain('FAIL a resigning holder is replaced within Skew_Time');
    const bySchedule = await fuzz('--schedule', failure.counterexample);
    expect(bySchedule.code, bySchedule.err.join('\n')).toBe(1);
    // Without the bug, the same schedule passes.
    const fixed = await fuzz('--scenario', 'failover', '--replay', replaySeed!, '--path', path!);
    expect(fixed.code).toBe(0);
  }, 120_000);

  it.each([
    [['--scenario', 'nope'], 'unknown scenario "nope"; fuzzable scenarios: failover, streams, etcd-partition, nat-proxy, or all'],
    [['--scenario', 'preempt'], 'scenario "preempt" has no fuzz profile'],
    [['--runs', '5', '--seconds', '3'], 'give --runs or --seconds, not both'],
    [['--runs', '0'], '--runs must be at least 1'],
    [['--shard', '3/2'], '--shard must be i/n with 1 <= i <= n, got "3/2"'],
    [['--plant', 'nope'], '--plant: unknown bug "nope"'],
    [['--path', '0:1'], '--path goes with --replay'],
    [['--replay', '5'], '--replay needs --scenario <name>'],
    [['--bogus'], "Unknown option '--bogus'"],
  ])('usage error %j exits 2 and says why', async (args, message) => {
    const { code, err } = await fuzz(...args);
    expect(code).toBe(2);
    expect(err.join('\n')).toContain(message);
    expect(err.join('\n')).toContain('usage:');
  });

  it('a broken counterexample file exits 2, naming the file and the field', async () => {
    const file = join(reportsDir, 'broken.json');
    writeFileSync(file, JSON.stringify({ scenario: 'failover', runSeed: 1, faults: [{ atMs: 1, kind: 'explode' }] }));
    const broken = await fuzz('--schedule', file);
    expect(broken.code).toBe(2);
    expect(broken.err.join('\n')).toContain(`${file}: faults[0].kind must be one of`);
    writeFileSync(file, '{ not json');
    expect((await fuzz('--schedule', file)).err.join('\n')).toContain(`${file}: not JSON`);
    const missing = await fuzz('--schedule', join(reportsDir, 'missing.json'));
    expect(missing.code).toBe(2);
    expect(missing.err.join('\n')).toContain('cannot read');
  });

  it('a fast-check path that leads nowhere exits 2 and points to --schedule', async () => {
    const { code, err } = await fuzz('--scenario', 'failover', '--replay', '5', '--path', '0:999999');
    expect(code).toBe(2);
    expect(err.join('\n')).toContain('path 0:999999 does not lead to a case of failover from seed 5');
    expect(err.join('\n')).toContain('--schedule');
    expect((await fuzz('--scenario', 'failover', '--replay', '5', '--path', 'abc')).code).toBe(2);
  });

  it('a schedule naming a host the world lacks is refused before anything runs', async () => {
    const file = join(reportsDir, 'unknown-host.json');
    writeFileSync(file, JSON.stringify({ scenario: 'failover', runSeed: 1, plantedBugs: [], faults: [{ atMs: 1000, kind: 'crash', host: 'm9' }] }));
    await expect(fuzz('--schedule', file)).rejects.toThrow('fault #0 (crash): no host named "m9"');
    expect(readFileSync(file, 'utf8')).toContain('m9');
  });
});
