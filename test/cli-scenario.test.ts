// The scenario command as a user meets it: listing, exit codes, the JSON
// contract of --json, the replay line, and the reports on disk.
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { main, type CliIo } from '../cli/scenario.js';
import type { Scenario } from '../sim/scenario.js';
import { invariant } from '../sim/scenario.js';
import { World } from '../sim/network/world.js';

const run = promisify(execFile);
const TSX = join(process.cwd(), 'node_modules', '.bin', 'tsx');

/** Runs the real command in a child process, as `npm run scenario` does. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(TSX, ['cli/scenario.ts', ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

function capture(): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (text) => stdout.push(text), err: (text) => stderr.push(text) };
}

/** A tiny scenario whose one invariant fails on odd seeds. */
const parity: Scenario = {
  name: 'parity',
  summary: 'fails on odd seeds',
  async run({ seed }) {
    const world = new World({ seed });
    const lan = world.segment('lan');
    world.attach(world.host('a'), lan, '198.18.0.1/24');
    await world.run({ untilMs: 1_000 });
    return { world, faults: [], invariants: [invariant('the seed is even', seed % 2 === 0, `seed ${seed}`)], metrics: { seed } };
  },
};

describe('npm run scenario', () => {
  it('lists the scenarios', async () => {
    const result = await cli(['list']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^streams\s+\S/m);
  });

  it('exits 2 for an unknown scenario and names the known ones', async () => {
    const result = await cli(['nope']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown scenario "nope"');
    expect(result.stderr).toContain('streams');
  });

  it.each([[['streams', '--seed', 'x']], [['streams', '--seed', '-1']], [['streams', '--bogus']], [[]], [['a', 'b']]])(
    'exits 2 on a usage error: %j',
    async (args) => {
      const io = capture();
      const registry = new Map([['streams', parity]]);
      expect(await main(args, registry, io)).toBe(2);
      expect(io.stderr.join('\n')).toMatch(/usage|expected|seed/);
    },
  );

  it('prints one JSON object as the last stdout line with --json, the same traceHash for the same seed', async () => {
    const first = await cli(['streams', '--seed', '1', '--json', '--reports', join(tmpdir(), 'pf9lab-cli-test')]);
    const second = await cli(['streams', '--seed', '1', '--json', '--reports', join(tmpdir(), 'pf9lab-cli-test')]);
    expect(first.code).toBe(0);
    const parse = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1) as string) as Record<string, unknown>;
    const a = parse(first.stdout);
    const b = parse(second.stdout);
    expect(Object.keys(a).sort()).toEqual(
      ['events', 'invariants', 'metrics', 'passed', 'scenario', 'seed', 'traceHash', 'virtualMs', 'wallMs'].sort(),
    );
    expect(a).toMatchObject({ scenario: 'streams', seed: 1, passed: true });
    expect(a['traceHash']).toMatch(/^[0-9a-f]{64}$/);
    expect(b['traceHash']).toBe(a['traceHash']);
  }, 120_000);

  it('exits 1 when an invariant fails, prints the replay command, and writes both reports', async () => {
    const reportsDir = await mkdtemp(join(tmpdir(), 'pf9lab-reports-'));
    try {
      const io = capture();
      const registry = new Map([['parity', parity]]);
      expect(await main(['parity', '--seed', '3', '--reports', reportsDir], registry, io)).toBe(1);
      expect(io.stderr).toContain('replay: npm run scenario parity -- --seed 3');
      expect(io.stdout.join('\n')).toMatch(/FAIL the seed is even: seed 3/);
      const json = JSON.parse(await readFile(join(reportsDir, 'parity', 'seed-3', 'report.json'), 'utf8')) as { passed: boolean };
      expect(json.passed).toBe(false);
      const markdown = await readFile(join(reportsDir, 'parity', 'seed-3', 'report.md'), 'utf8');
      expect(markdown).toContain('Replay: `npm run scenario parity -- --seed 3`');

      const passing = capture();
      expect(await main(['parity', '--seed', '4', '--reports', reportsDir], registry, passing)).toBe(0);
    } finally {
      await rm(reportsDir, { recursive: true, force: true });
    }
  });

  it('exits 1 with the replay command when a scenario aborts', async () => {
    const broken: Scenario = {
      name: 'broken',
      summary: 'throws',
      run: () => Promise.reject(new Error('engine exploded')),
    };
    const io = capture();
    expect(await main(['broken', '--seed', '5'], new Map([['broken', broken]]), io)).toBe(1);
    expect(io.stderr.join('\n')).toContain('engine exploded');
    expect(io.stderr).toContain('replay: npm run scenario broken -- --seed 5');
  });
});
