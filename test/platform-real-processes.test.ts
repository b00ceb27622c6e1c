// The real platform's processes: tiny service modules in a temporary distDir.
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRealPlatform } from '../src/runtime/platform/real/index.js';
import type { Platform, ProcessStatus } from '../src/runtime/platform/types.js';
import { LogCapture } from './helpers/real-net.js';

let distDir = '';
let platform: Platform;

beforeAll(async () => {
  distDir = await mkdtemp(path.join(os.tmpdir(), 'pf9lab-dist-'));
  await writeFile(path.join(distDir, 'ok.mjs'), 'process.exit(0);\n');
  await writeFile(path.join(distDir, 'fail.mjs'), 'process.exit(3);\n');
  // Sleeps far longer than any test; ignores SIGTERM when asked to, so SIGKILL is needed.
  await writeFile(
    path.join(distDir, 'sleeper.mjs'),
    [
      "import { writeFileSync } from 'node:fs';",
      "if (process.argv[2] === 'stubborn') {",
      "  process.on('SIGTERM', () => {});",
      '  writeFileSync(process.argv[3], "ready");',
      '}',
      'setTimeout(() => {}, 600_000);',
      '',
    ].join('\n'),
  );
  platform = createRealPlatform({ hostName: 'test-processes', distDir, logStream: new LogCapture() });
});

afterAll(async () => {
  for (const status of platform.processes.list()) {
    if (status.state === 'running' || status.state === 'stopping') await platform.processes.stop(status.name, { timeoutMs: 500 });
  }
  await rm(distDir, { recursive: true, force: true });
});

/** Resolves with the first status of `name` in one of `states`. */
function nextStatus(name: string, states: readonly string[]): Promise<ProcessStatus> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`no ${states.join('/')} for ${name} within 10 s`));
    }, 10_000);
    const unsubscribe = platform.processes.watch((status) => {
      if (status.name !== name || !states.includes(status.state)) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(status);
    });
  });
}

describe('real processes', () => {
  it('reports exit code 0 as exited', async () => {
    const done = nextStatus('svc-ok', ['exited', 'failed']);
    await platform.processes.start({ name: 'svc-ok', module: 'ok' });
    const status = await done;
    expect(status).toMatchObject({ name: 'svc-ok', module: 'ok', state: 'exited', exitCode: 0 });
    expect(platform.processes.status('svc-ok')?.state).toBe('exited');
  });

  it('reports a non-zero exit as failed with a reason', async () => {
    const done = nextStatus('svc-fail', ['exited', 'failed']);
    await platform.processes.start({ name: 'svc-fail', module: 'fail' });
    expect(await done).toMatchObject({ state: 'failed', exitCode: 3, reason: 'exit code 3' });
  });

  it('stops a running process, and refuses to start it twice', async () => {
    await platform.processes.start({ name: 'svc-sleep', module: 'sleeper' });
    expect(platform.processes.status('svc-sleep')).toMatchObject({ state: 'running' });
    expect(platform.processes.status('svc-sleep')?.startedAtMs).toBeGreaterThan(0);
    await expect(platform.processes.start({ name: 'svc-sleep', module: 'sleeper' })).rejects.toMatchObject({
      code: 'ERR_PROCESS_RUNNING',
    });
    const seen: string[] = [];
    const unsubscribe = platform.processes.watch((status) => seen.push(`${status.name}:${status.state}`));
    await platform.processes.stop('svc-sleep');
    unsubscribe();
    expect(platform.processes.status('svc-sleep')?.state).toBe('stopped');
    expect(seen).toEqual(['svc-sleep:stopping', 'svc-sleep:stopped']);
    await platform.processes.stop('svc-sleep'); // stopping a stopped process is a no-op
  });

  it('kills a process that ignores SIGTERM after the stop timeout', async () => {
    const readyFile = path.join(distDir, 'stubborn.ready');
    await platform.processes.start({ name: 'svc-stubborn', module: 'sleeper', args: ['stubborn', readyFile] });
    // The child says when its SIGTERM handler is in place.
    await expect.poll(() => access(readyFile).then(() => true, () => false), { timeout: 5_000 }).toBe(true);
    const startedMs = Date.now();
    await platform.processes.stop('svc-stubborn', { timeoutMs: 200 });
    expect(Date.now() - startedMs).toBeGreaterThanOrEqual(150);
    expect(platform.processes.status('svc-stubborn')?.state).toBe('stopped');
  });

  it('can restart a process that has ended', async () => {
    const first = nextStatus('svc-again', ['exited']);
    await platform.processes.start({ name: 'svc-again', module: 'ok' });
    await first;
    const second = nextStatus('svc-again', ['exited']);
    await platform.processes.start({ name: 'svc-again', module: 'ok' });
    await second;
  });

  it('rejects unknown modules and unknown names', async () => {
    await expect(platform.processes.start({ name: 'x', module: 'nope' })).rejects.toMatchObject({ code: 'ERR_PROCESS_UNKNOWN_MODULE' });
    await expect(platform.processes.start({ name: 'x', module: '../etc/passwd' })).rejects.toMatchObject({
      code: 'ERR_PROCESS_UNKNOWN_MODULE',
    });
    await expect(platform.processes.stop('never-started')).rejects.toMatchObject({ code: 'ERR_PROCESS_NOT_FOUND' });
    expect(platform.processes.status('x')).toBeUndefined();
  });
});
