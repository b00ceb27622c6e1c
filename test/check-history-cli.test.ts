// `npm run check-history` as a user meets it: the documented examples, exit
// codes 0/1/2/3, messages that name the file, the operation and the field,
// and the JSON contract of --json.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { main, type CliIo } from '../cli/check-history.js';
import { linearizableHistory, randomHistoryPlan, REALISTIC_SHAPE } from '../sim/etcd/linearizability/generated-history.js';
import { Rng } from '../sim/network/rng.js';

const run = promisify(execFile);
const TSX = join(process.cwd(), 'node_modules', '.bin', 'tsx');
const LINEARIZABLE = 'examples/histories/linearizable.json';
const NOT_LINEARIZABLE = 'examples/histories/not-linearizable.json';

/** Runs the real command in a child process. */
async function cli(args: string[], command = [TSX, 'cli/check-history.ts']): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(command[0] as string, [...command.slice(1), ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** In-process: captured output, and a clock that moves `stepMs` on every read. */
function capture(stepMs = 0): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  let nowMs = 0;
  return { stdout, stderr, out: (text) => stdout.push(text), err: (text) => stderr.push(text), nowMs: () => (nowMs += stepMs) };
}

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pf9lab-check-history-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function historyFile(name: string, content: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

describe('npm run check-history: the documented examples', () => {
  it('exits 0 on the linearizable example', async () => {
    const result = await cli([LINEARIZABLE]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`${LINEARIZABLE}: linearizable (13 operations, 2 keys`);
  });

  it('exits 1 on the other, printing the offending operations one per line with their times', async () => {
    const result = await cli([NOT_LINEARIZABLE]);
    expect(result.code).toBe(1);
    expect(result.stdout.trim().split('\n')).toEqual([
      `${NOT_LINEARIZABLE}: not linearizable (7 operations, 2 keys)`,
      'key "/nodes/w1": these 3 operations cannot be put in any order that respects real time and register semantics:',
      '  #0  client 1  [0 ms, 10 ms]   put("Ready")',
      '  #3  client 1  [12 ms, 20 ms]  put("NotReady")',
      '  #5  client 3  [25 ms, 30 ms]  get() -> "Ready"',
    ]);
  });

  it('runs as the npm script the README documents', async () => {
    const result = await cli(['-s', 'check-history', '--', NOT_LINEARIZABLE], ['npm', 'run']);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('get() -> "Ready"');
  });

  it('prints one JSON object with --json', async () => {
    const io = capture();
    expect(await main([NOT_LINEARIZABLE, '--json'], io)).toBe(1);
    expect(io.stdout).toHaveLength(1);
    const json = JSON.parse(io.stdout[0] as string) as Record<string, unknown>;
    expect(json).toMatchObject({ file: NOT_LINEARIZABLE, verdict: 'not-linearizable', operations: 7, keys: 2, key: '/nodes/w1', minimal: true });
    expect((json.offending as { index: number }[]).map((entry) => entry.index)).toEqual([0, 3, 5]);
    expect(json.offending).toContainEqual({ index: 5, client: 3, op: 'get', key: '/nodes/w1', invokeMs: 25, returnMs: 30, result: 'Ready' });
    expect(io.stderr.join('\n')).toContain('not linearizable');
    const accepted = capture();
    expect(await main([LINEARIZABLE, '--json'], accepted)).toBe(0);
    expect(JSON.parse(accepted.stdout[0] as string)).toMatchObject({ verdict: 'linearizable', operations: 13, dropped: 1 });
  });
});

describe('npm run check-history: unknown', () => {
  it('exits 3 and says "unknown" and why when the time bound passes', async () => {
    const io = capture(1_000);
    expect(await main([LINEARIZABLE, '--timeout-ms', '5'], io)).toBe(3);
    expect(io.stdout.join('\n')).toMatch(/^examples\/histories\/linearizable\.json: unknown: the search gave up at its time bound/);
    expect(io.stdout.join('\n')).toContain('undecided keys: "/leases/w1", "/nodes/w1"');
  });

  it('exits 3 on a large history given a 1 ms budget, in a real process', async () => {
    const history = linearizableHistory(randomHistoryPlan(Rng.fromSeed(3), { ...REALISTIC_SHAPE, keys: 1 }));
    const file = await historyFile('large.json', { operations: history });
    const result = await cli([file, '--timeout-ms', '1', '--json']);
    expect(result.code).toBe(3);
    expect(JSON.parse(result.stdout)).toMatchObject({ verdict: 'unknown', reason: 'time', undecidedKeys: ['key0'] });
  });
});

describe('npm run check-history: usage errors and malformed files exit 2', () => {
  it.each([[[]], [['a.json', 'b.json']], [['--bogus', LINEARIZABLE]], [[LINEARIZABLE, '--timeout-ms', 'soon']], [[LINEARIZABLE, '--timeout-ms', '-1']]])(
    'usage: %j',
    async (args) => {
      const io = capture();
      expect(await main(args, io)).toBe(2);
      expect(io.stderr.join('\n')).toContain('usage: npm run check-history');
    },
  );

  it('names a file it cannot read', async () => {
    const io = capture();
    expect(await main([join(dir, 'missing.json')], io)).toBe(2);
    expect(io.stderr.join('\n')).toContain(`cannot read ${join(dir, 'missing.json')}`);
  });

  it('names the file of text that is not JSON', async () => {
    const file = await historyFile('truncated.json', '{ "operations": [');
    const io = capture();
    expect(await main([file], io)).toBe(2);
    expect(io.stderr.join('\n')).toMatch(new RegExp(`^ERR_HISTORY_JSON: ${escape(file)}: not JSON`));
  });

  it.each([
    ['return before invoke', { client: 1, op: 'put', key: 'a', value: 'x', invokeMs: 9, returnMs: 7 }, 'ERR_HISTORY_RETURN_BEFORE_INVOKE', 'returnMs'],
    ['unknown op', { client: 1, op: 'increment', key: 'a', invokeMs: 0, returnMs: 1 }, 'ERR_HISTORY_UNKNOWN_OP', 'op'],
    ['get without result', { client: 1, op: 'get', key: 'a', invokeMs: 0, returnMs: 1 }, 'ERR_HISTORY_RESULT', 'result'],
    ['misspelt field', { client: 1, op: 'put', key: 'a', value: 'x', invokeMs: 0, returnMS: 1 }, 'ERR_HISTORY_FIELD', 'returnMS'],
  ])('names the file, the operation index and the field: %s', async (_name, bad, code, field) => {
    const file = await historyFile(`${code}.json`, { operations: [{ client: 0, op: 'put', key: 'a', value: 'x', invokeMs: 0, returnMs: 1 }, bad] });
    const io = capture();
    expect(await main([file, '--json'], io)).toBe(2);
    expect(io.stderr.join('\n')).toMatch(new RegExp(`^${code}: ${escape(file)}: operations\\[1\\]\\.${field}: `));
    expect(JSON.parse(io.stdout[0] as string)).toMatchObject({ file, error: { code, opIndex: 1, field } });
  });

  it('exits 2 from a real process too', async () => {
    const file = await historyFile('shape.json', { ops: [] });
    const result = await cli([file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`ERR_HISTORY_SHAPE: ${file}: `);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
