// The determinism guard (DESIGN.md): code in src/runtime and sim reaches time,
// randomness, sockets, files and processes only through the platform seam.
// The guard is the ESLint configuration; this test proves it is clean on the
// tree and that it does fire on each thing it bans.
import { describe, expect, it } from 'vitest';
import { ESLint } from 'eslint';

const eslint = new ESLint({ cwd: process.cwd() });

async function ruleHits(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((message) => `${message.ruleId}: ${message.message}`);
}

const banned: [string, string][] = [
  ['Date.now()', 'export const t = Date.now();'],
  ['new Date()', 'export const t = new Date();'],
  ['Math.random()', 'export const r = Math.random();'],
  ['setTimeout', 'setTimeout(() => undefined, 1);'],
  ['setInterval', 'setInterval(() => undefined, 1);'],
  ['setImmediate', 'setImmediate(() => undefined);'],
  ['queueMicrotask', 'queueMicrotask(() => undefined);'],
  ['process.nextTick', 'process.nextTick(() => undefined);'],
  ['performance.now()', 'export const t = performance.now();'],
  ['node:net', "import net from 'node:net';\nexport const n = net;"],
  ['net', "import net from 'net';\nexport const n = net;"],
  ['node:tls', "import tls from 'node:tls';\nexport const t = tls;"],
  ['node:dgram', "import dgram from 'node:dgram';\nexport const d = dgram;"],
  ['node:fs', "import { readFileSync } from 'node:fs';\nexport const r = readFileSync;"],
  ['node:fs/promises', "import { readFile } from 'node:fs/promises';\nexport const r = readFile;"],
  ['node:child_process', "import { spawn } from 'node:child_process';\nexport const s = spawn;"],
  ['crypto randomness', "import { randomBytes } from 'node:crypto';\nexport const r = randomBytes;"],
  ['dynamic import of node:net', "export const n = import('node:net');"],
  ['dynamic import of fs/promises', "export const f = import('node:fs/promises');"],
  ['createRequire', "import { createRequire } from 'node:module';\nexport const r = createRequire;"],
  ['require()', "export const t = require('timers');"],
  ['AbortSignal.timeout', 'export const s = AbortSignal.timeout(10);'],
  ['globalThis.setImmediate', 'globalThis.setImmediate(() => undefined);'],
  ['global.setTimeout', 'global.setTimeout(() => undefined, 1);'],
];

describe('determinism guard', () => {
  it('finds nothing in src/runtime, sim and scenarios', async () => {
    const results = await eslint.lintFiles(['src/runtime', 'sim', 'scenarios']);
    const problems = results.flatMap((result) =>
      result.messages
        .filter((message) => message.ruleId?.startsWith('no-restricted'))
        .map((message) => `${result.filePath}:${message.line} ${message.message}`),
    );
    expect(problems).toEqual([]);
  });

  for (const where of ['src/runtime/comms/planted.ts', 'sim/network/planted.ts', 'scenarios/planted.ts']) {
    it.each(banned)(`flags %s in ${where}`, async (_name, code) => {
      const hits = await ruleHits(code, where);
      expect(hits.some((hit) => hit.startsWith('no-restricted'))).toBe(true);
    });
  }

  it('allows the platform implementations and type-only imports', async () => {
    expect(await ruleHits("import net from 'node:net';\nexport const n = net;\nexport const t = Date.now();", 'src/runtime/platform/real/planted.ts')).toEqual([]);
    expect(await ruleHits("import type { Socket } from 'node:net';\nexport type S = Socket;", 'src/runtime/comms/planted.ts')).toEqual([]);
    expect(await ruleHits("import { createHash } from 'node:crypto';\nexport const h = createHash;", 'sim/network/planted.ts')).toEqual([]);
  });
});
