// The real platform's files in a temporary directory.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRealPlatform } from '../src/runtime/platform/real/index.js';
import { LogCapture } from './helpers/real-net.js';

const { files } = createRealPlatform({ hostName: 'test-files', logStream: new LogCapture() });
let dir = '';

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'pf9lab-files-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('real files', () => {
  it('writes atomically with a temp file, fsync and rename', async () => {
    const target = path.join(dir, 'state.json');
    const temp = `${target}.tmp`;
    await files.writeFile(temp, '{"version":1}');
    await files.fsync(temp);
    await files.rename(temp, target);
    await files.fsyncDir(dir);
    expect((await files.readFile(target)).toString()).toBe('{"version":1}');
    expect(await files.readdir(dir)).toEqual(['state.json']);
  });

  it('stats files and directories', async () => {
    await files.mkdir(path.join(dir, 'a', 'b'), { recursive: true });
    await files.writeFile(path.join(dir, 'a', 'f'), Buffer.from([1, 2, 3]));
    await files.appendFile(path.join(dir, 'a', 'f'), Buffer.from([4]));
    const fileStat = await files.stat(path.join(dir, 'a', 'f'));
    expect(fileStat).toMatchObject({ size: 4, isFile: true, isDirectory: false });
    expect((await files.stat(path.join(dir, 'a', 'b'))).isDirectory).toBe(true);
    expect((await files.readdir(path.join(dir, 'a'))).sort()).toEqual(['b', 'f']);
  });

  it('honours the mode on create and on overwrite', async () => {
    const key = path.join(dir, 'host.key');
    await files.writeFile(key, 'secret', { mode: 0o600 });
    expect((await files.stat(key)).mode).toBe(0o600);
    await files.chmod(key, 0o644);
    await files.writeFile(key, 'secret2', { mode: 0o600 });
    expect((await files.stat(key)).mode).toBe(0o600);
    expect((await files.readFile(key)).toString()).toBe('secret2');
  });

  it('reports ENOENT with a code', async () => {
    const missing = path.join(dir, 'missing');
    await expect(files.readFile(missing)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(files.stat(missing)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(files.fsync(missing)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(files.unlink(missing)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(files.rename(missing, path.join(dir, 'x'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('unlinks', async () => {
    const file = path.join(dir, 'f');
    await files.writeFile(file, 'x');
    await files.unlink(file);
    expect(await files.readdir(dir)).toEqual([]);
  });
});
