// The simulated disk (sim/network/disk.ts) and writeFileAtomic: error codes,
// crash semantics, and a model-based property against a reference model.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SimDisk, type DiskEntry } from '../sim/network/disk.js';
import { PlatformError } from '../src/runtime/platform/errors.js';
import { writeFileAtomic } from '../src/runtime/platform/files-atomic.js';
import type { Files } from '../src/runtime/platform/types.js';

function newDisk(options: ConstructorParameters<typeof SimDisk>[1] = {}): SimDisk {
  let nowMs = 1_700_000_000_000;
  return new SimDisk(() => (nowMs += 1), options);
}

function caught(action: () => unknown): PlatformError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(PlatformError);
    return error as PlatformError;
  }
  throw new Error('expected the operation to throw');
}

/** The operation throws `code`, with `syscall` set and both named in the message along with `path`. */
function expectError(action: () => unknown, code: string, syscall: string, path: string): void {
  const error = caught(action);
  expect(error.code).toBe(code);
  expect(error.syscall).toBe(syscall);
  expect(error.message).toContain(syscall);
  expect(error.message).toContain(`'${path}'`);
}

function text(disk: SimDisk, path: string): string {
  return disk.readFile(path).toString('utf8');
}

/** A disk with /d (durable) holding /d/f = 'old' (durable). */
function diskWithDurableFile(): SimDisk {
  const disk = newDisk();
  disk.mkdir('/d');
  disk.fsyncDir('/');
  disk.writeFile('/d/f', 'old');
  disk.fsync('/d/f');
  disk.fsyncDir('/d');
  return disk;
}

// ------------------------------------------------------------------ paths

describe('SimDisk paths', () => {
  it("normalises '.', '..' and repeated slashes", () => {
    const disk = newDisk();
    disk.mkdir('/a/b', { recursive: true });
    disk.writeFile('/a//b/./x/../f', 'data');
    expect(text(disk, '/a/b/f')).toBe('data');
    expect(disk.readdir('/../a/')).toEqual(['b']);
    expect(disk.readdir('/..')).toEqual(['a']);
  });

  it('rejects relative, empty and NUL-containing paths and over-long names with EINVAL', () => {
    const disk = newDisk();
    expectError(() => disk.readFile('a/b'), 'EINVAL', 'open', 'a/b');
    expectError(() => disk.writeFile('', 'x'), 'EINVAL', 'open', '');
    expectError(() => disk.mkdir('./d'), 'EINVAL', 'mkdir', './d');
    expectError(() => disk.rename('x', '/y'), 'EINVAL', 'rename', 'x');
    expectError(() => disk.stat('/a\0b'), 'EINVAL', 'stat', '/a\0b');
    const longName = '/' + 'n'.repeat(256);
    expectError(() => disk.writeFile(longName, 'x'), 'EINVAL', 'open', longName);
  });
});

// ------------------------------------------------------------------ error codes

describe('SimDisk error codes', () => {
  it('ENOENT for a missing file, parent or source', () => {
    const disk = newDisk();
    disk.mkdir('/d');
    expectError(() => disk.readFile('/d/none'), 'ENOENT', 'open', '/d/none');
    expectError(() => disk.writeFile('/none/f', 'x'), 'ENOENT', 'open', '/none/f');
    expectError(() => disk.appendFile('/none/f', 'x'), 'ENOENT', 'open', '/none/f');
    expectError(() => disk.readdir('/none'), 'ENOENT', 'scandir', '/none');
    expectError(() => disk.stat('/none'), 'ENOENT', 'stat', '/none');
    expectError(() => disk.unlink('/none'), 'ENOENT', 'unlink', '/none');
    expectError(() => disk.chmod('/none', 0o600), 'ENOENT', 'chmod', '/none');
    expectError(() => disk.fsync('/none'), 'ENOENT', 'fsync', '/none');
    expectError(() => disk.fsyncDir('/none'), 'ENOENT', 'fsync', '/none');
    expectError(() => disk.mkdir('/none/sub'), 'ENOENT', 'mkdir', '/none/sub');
    expectError(() => disk.rename('/none', '/d/x'), 'ENOENT', 'rename', '/none');
    disk.writeFile('/f', 'x');
    const error = caught(() => disk.rename('/f', '/none/f'));
    expect(error.code).toBe('ENOENT');
    expect(error.message).toContain("rename '/f' -> '/none/f'");
    expect(error.path).toBe('/f');
  });

  it('EEXIST for mkdir over anything, and recursive mkdir over a file', () => {
    const disk = newDisk();
    disk.mkdir('/d');
    disk.writeFile('/f', 'x');
    expectError(() => disk.mkdir('/d'), 'EEXIST', 'mkdir', '/d');
    expectError(() => disk.mkdir('/f'), 'EEXIST', 'mkdir', '/f');
    expectError(() => disk.mkdir('/'), 'EEXIST', 'mkdir', '/');
    expectError(() => disk.mkdir('/f', { recursive: true }), 'EEXIST', 'mkdir', '/f');
    disk.mkdir('/d', { recursive: true });
    disk.mkdir('/', { recursive: true });
  });

  it('EISDIR for file operations on a directory', () => {
    const disk = newDisk();
    disk.mkdir('/d');
    disk.writeFile('/f', 'x');
    expectError(() => disk.readFile('/d'), 'EISDIR', 'read', '/d');
    expectError(() => disk.writeFile('/d', 'x'), 'EISDIR', 'open', '/d');
    expectError(() => disk.writeFile('/', 'x'), 'EISDIR', 'open', '/');
    expectError(() => disk.appendFile('/d', 'x'), 'EISDIR', 'open', '/d');
    expectError(() => disk.unlink('/d'), 'EISDIR', 'unlink', '/d');
    expectError(() => disk.unlink('/'), 'EISDIR', 'unlink', '/');
    expectError(() => disk.rename('/f', '/d'), 'EISDIR', 'rename', '/f');
  });

  it('ENOTDIR for a file used as a directory', () => {
    const disk = newDisk();
    disk.mkdir('/d');
    disk.writeFile('/f', 'x');
    expectError(() => disk.readdir('/f'), 'ENOTDIR', 'scandir', '/f');
    expectError(() => disk.fsyncDir('/f'), 'ENOTDIR', 'fsync', '/f');
    expectError(() => disk.readFile('/f/x'), 'ENOTDIR', 'open', '/f/x');
    expectError(() => disk.writeFile('/f/x', 'y'), 'ENOTDIR', 'open', '/f/x');
    expectError(() => disk.stat('/f/x/y'), 'ENOTDIR', 'stat', '/f/x/y');
    expectError(() => disk.mkdir('/f/x'), 'ENOTDIR', 'mkdir', '/f/x');
    expectError(() => disk.mkdir('/f/x/y', { recursive: true }), 'ENOTDIR', 'mkdir', '/f/x/y');
    expectError(() => disk.rename('/d', '/f'), 'ENOTDIR', 'rename', '/d');
    expectError(() => disk.rename('/f', '/f/x'), 'ENOTDIR', 'rename', '/f');
  });

  it('ENOTEMPTY for a directory renamed over a non-empty directory', () => {
    const disk = newDisk();
    disk.mkdir('/a');
    disk.mkdir('/b');
    disk.writeFile('/b/f', 'x');
    expectError(() => disk.rename('/a', '/b'), 'ENOTEMPTY', 'rename', '/a');
    disk.unlink('/b/f');
    disk.rename('/a', '/b');
    expect(disk.readdir('/')).toEqual(['b']);
  });

  it('EINVAL for a directory moved into its own subtree, the root, and bad modes', () => {
    const disk = newDisk();
    disk.mkdir('/a/b/c', { recursive: true });
    expectError(() => disk.rename('/a', '/a/b/c/a'), 'EINVAL', 'rename', '/a');
    expectError(() => disk.rename('/a', '/a/x'), 'EINVAL', 'rename', '/a');
    expectError(() => disk.rename('/', '/x'), 'EINVAL', 'rename', '/');
    expectError(() => disk.rename('/a', '/'), 'EINVAL', 'rename', '/a');
    expectError(() => disk.chmod('/a', -1), 'EINVAL', 'chmod', '/a');
    expectError(() => disk.chmod('/a', 1.5), 'EINVAL', 'chmod', '/a');
    expectError(() => disk.writeFile('/f', 'x', { mode: Number.NaN }), 'EINVAL', 'open', '/f');
    expect(disk.readdir('/a/b/c')).toEqual([]);
    disk.assertInvariants();
  });

  it('ENOSPC past the capacity, keeping the prefix that fitted', () => {
    const disk = newDisk({ capacityBytes: 10 });
    disk.writeFile('/a', '123456');
    expectError(() => disk.writeFile('/b', 'abcdef'), 'ENOSPC', 'write', '/b');
    expect(text(disk, '/b')).toBe('abcd');
    expect(disk.usedBytes).toBe(10);
    expectError(() => disk.appendFile('/a', 'x'), 'ENOSPC', 'write', '/a');
    expect(text(disk, '/a')).toBe('123456');
    disk.writeFile('/a', 'zzzzzz'); // same size, fits
    disk.unlink('/b');
    expectError(() => disk.appendFile('/a', 'wxyz!'), 'ENOSPC', 'write', '/a');
    expect(text(disk, '/a')).toBe('zzzzzzwxyz');
    expectError(() => disk.writeFile('/a', 'this is too long'), 'ENOSPC', 'write', '/a');
    expect(text(disk, '/a')).toBe('this is to');
    disk.assertInvariants();
  });

  it('ENOSPC past the inode bound', () => {
    const disk = newDisk({ inodesMax: 3 });
    disk.mkdir('/d');
    disk.writeFile('/d/f', 'x');
    expectError(() => disk.writeFile('/g', 'x'), 'ENOSPC', 'open', '/g');
    expectError(() => disk.mkdir('/e'), 'ENOSPC', 'mkdir', '/e');
    expect(disk.readdir('/')).toEqual(['d']);
    disk.unlink('/d/f');
    disk.writeFile('/g', 'x');
    disk.assertInvariants();
  });
});

// ------------------------------------------------------------------ running semantics

describe('SimDisk operations', () => {
  it('reads what was written, and owns its buffers', () => {
    const disk = newDisk();
    const input = Buffer.from('abc');
    disk.writeFile('/f', input);
    input[0] = 0x7a;
    const output = disk.readFile('/f');
    output[1] = 0x7a;
    expect(text(disk, '/f')).toBe('abc');
    disk.appendFile('/f', 'def');
    disk.appendFile('/g', 'new');
    expect(text(disk, '/f')).toBe('abcdef');
    expect(text(disk, '/g')).toBe('new');
  });

  it('applies the umask and mode on creation only; chmod sets the mode exactly', () => {
    const disk = newDisk();
    disk.writeFile('/default', 'x');
    disk.writeFile('/key', 'x', { mode: 0o600 });
    disk.writeFile('/wide', 'x', { mode: 0o777 });
    disk.mkdir('/d');
    expect(disk.stat('/default').mode).toBe(0o644);
    expect(disk.stat('/key').mode).toBe(0o600);
    expect(disk.stat('/wide').mode).toBe(0o755);
    expect(disk.stat('/d').mode).toBe(0o755);
    disk.writeFile('/key', 'y', { mode: 0o644 });
    expect(disk.stat('/key').mode).toBe(0o600);
    disk.chmod('/key', 0o666);
    expect(disk.stat('/key').mode).toBe(0o666);
    expect(newDisk({ umask: 0o077 }).stat('/').mode).toBe(0o755);
  });

  it('stats size, kind and mtime from the injected clock', () => {
    const disk = new SimDisk(() => 42);
    disk.writeFile('/f', 'hello');
    expect(disk.stat('/f')).toEqual({ size: 5, isFile: true, isDirectory: false, mode: 0o644, mtimeMs: 42 });
    expect(disk.stat('/')).toEqual({ size: 0, isFile: false, isDirectory: true, mode: 0o755, mtimeMs: 42 });
  });

  it('lists directories in sorted order', () => {
    const disk = newDisk();
    for (const name of ['b', 'a', 'C', 'aa']) disk.writeFile(`/${name}`, name);
    expect(disk.readdir('/')).toEqual(['C', 'a', 'aa', 'b']);
  });

  it('renames files and whole directories, replacing a file or an empty directory', () => {
    const disk = newDisk();
    disk.mkdir('/a/b', { recursive: true });
    disk.writeFile('/a/b/f', 'f');
    disk.writeFile('/g', 'g');
    disk.rename('/a/b/f', '/g');
    expect(text(disk, '/g')).toBe('f');
    expect(disk.readdir('/a/b')).toEqual([]);
    disk.writeFile('/a/b/h', 'h');
    disk.mkdir('/empty');
    disk.rename('/a', '/empty');
    expect(text(disk, '/empty/b/h')).toBe('h');
    disk.rename('/g', '/g');
    disk.rename('/empty/b', '/empty/../b');
    expect(disk.readdir('/')).toEqual(['b', 'empty', 'g']);
    disk.assertInvariants();
  });
});

// ------------------------------------------------------------------ crashes

describe('SimDisk crash', () => {
  it('loses a new file whose entry was never made durable, even if its data was fsynced', () => {
    const disk = newDisk();
    disk.writeFile('/unsynced', 'x');
    disk.writeFile('/fsynced', 'y');
    disk.fsync('/fsynced');
    disk.crash();
    expect(disk.readdir('/')).toEqual([]);
  });

  it('shows an empty file when only the entry was made durable', () => {
    const disk = newDisk();
    disk.writeFile('/f', 'data', { mode: 0o600 });
    disk.fsyncDir('/');
    disk.crash();
    expect(text(disk, '/f')).toBe('');
    expect(disk.stat('/f').mode).toBe(0o600);
  });

  it('keeps fsynced data and loses what was written after it', () => {
    const disk = diskWithDurableFile();
    disk.writeFile('/d/f', 'new but not synced');
    disk.appendFile('/d/f', '!');
    disk.chmod('/d/f', 0o600);
    disk.crash();
    expect(text(disk, '/d/f')).toBe('old');
    expect(disk.stat('/d/f').mode).toBe(0o644);
    disk.appendFile('/d/f', '+more');
    disk.fsync('/d/f');
    disk.crash();
    expect(text(disk, '/d/f')).toBe('old+more');
  });

  it('brings back an fsynced file once its entry is made durable later', () => {
    const disk = newDisk();
    disk.writeFile('/f', 'synced');
    disk.fsync('/f');
    disk.writeFile('/f', 'synced, then changed');
    disk.fsyncDir('/');
    disk.crash();
    expect(text(disk, '/f')).toBe('synced');
  });

  it('makes a new directory durable by its parent, and its entries by itself', () => {
    const disk = newDisk();
    disk.mkdir('/d');
    disk.writeFile('/d/f', 'x');
    disk.fsync('/d/f');
    disk.fsyncDir('/d');
    disk.crash();
    expect(disk.readdir('/')).toEqual([]);

    disk.mkdir('/d');
    disk.writeFile('/d/f', 'x');
    disk.fsync('/d/f');
    disk.fsyncDir('/');
    disk.crash();
    expect(disk.readdir('/d')).toEqual([]);

    disk.writeFile('/d/f', 'x');
    disk.fsync('/d/f');
    disk.fsyncDir('/d');
    disk.crash();
    expect(text(disk, '/d/f')).toBe('x');
  });

  it('undoes an unlink that was not made durable', () => {
    const disk = diskWithDurableFile();
    disk.unlink('/d/f');
    disk.crash();
    expect(text(disk, '/d/f')).toBe('old');
    disk.unlink('/d/f');
    disk.fsyncDir('/d');
    disk.crash();
    expect(disk.readdir('/d')).toEqual([]);
  });

  it('renames atomically: before a crash, after a crash, with and without fsyncDir', () => {
    const disk = diskWithDurableFile();
    disk.writeFile('/d/g', 'new');
    disk.fsync('/d/g');
    disk.rename('/d/g', '/d/f');
    expect(disk.readdir('/d')).toEqual(['f']);
    expect(text(disk, '/d/f')).toBe('new');
    disk.crash();
    expect(disk.readdir('/d')).toEqual(['f']);
    expect(text(disk, '/d/f')).toBe('old');

    disk.writeFile('/d/g', 'new');
    disk.fsync('/d/g');
    disk.rename('/d/g', '/d/f');
    disk.fsyncDir('/d');
    disk.crash();
    expect(disk.readdir('/d')).toEqual(['f']);
    expect(text(disk, '/d/f')).toBe('new');
  });

  it('needs both parents fsyncDir-ed for a rename across directories', () => {
    const setUp = (): SimDisk => {
      const disk = diskWithDurableFile();
      disk.mkdir('/e');
      disk.fsyncDir('/');
      disk.rename('/d/f', '/e/f');
      return disk;
    };
    const both = setUp();
    both.fsyncDir('/d');
    both.fsyncDir('/e');
    both.crash();
    expect([both.readdir('/d'), both.readdir('/e')]).toEqual([[], ['f']]);

    // Only the target's parent: the file has both names, as hard links.
    const targetOnly = setUp();
    targetOnly.fsyncDir('/e');
    targetOnly.crash();
    expect([targetOnly.readdir('/d'), targetOnly.readdir('/e')]).toEqual([['f'], ['f']]);
    targetOnly.appendFile('/d/f', '!');
    expect(text(targetOnly, '/e/f')).toBe('old!');
    targetOnly.unlink('/d/f');
    expect(text(targetOnly, '/e/f')).toBe('old!');
    targetOnly.assertInvariants();

    // Only the source's parent: the file is lost.
    const sourceOnly = setUp();
    sourceOnly.fsyncDir('/d');
    sourceOnly.crash();
    expect([sourceOnly.readdir('/d'), sourceOnly.readdir('/e')]).toEqual([[], []]);
  });

  it('keeps a directory found under two durable parents at its first entry only, as fsck would', () => {
    const disk = newDisk();
    disk.mkdir('/a');
    disk.mkdir('/b');
    disk.fsyncDir('/');
    disk.mkdir('/b/d');
    disk.writeFile('/b/d/f', 'x');
    disk.fsyncDir('/b/d');
    disk.fsyncDir('/b');
    disk.rename('/b/d', '/a/d');
    disk.fsyncDir('/a');
    disk.crash();
    expect(disk.readdir('/a')).toEqual(['d']);
    expect(disk.readdir('/b')).toEqual([]);
    expect(disk.readdir('/a/d')).toEqual(['f']);
    disk.assertInvariants();
  });

  it('recovers no cycle from directories that were each inside the other', () => {
    const disk = newDisk();
    disk.mkdir('/a');
    disk.mkdir('/b');
    disk.fsyncDir('/');
    disk.rename('/b', '/a/b');
    disk.fsyncDir('/a'); // durable: a ∋ b
    disk.rename('/a/b', '/b');
    disk.rename('/a', '/b/a');
    disk.fsyncDir('/b'); // durable: b ∋ a
    disk.crash();
    expect([disk.readdir('/'), disk.readdir('/a'), disk.readdir('/b')]).toEqual([['a', 'b'], [], []]);
    disk.assertInvariants();
  });

  it("predicts the crash with snapshot('durable'), and a second crash changes nothing", () => {
    const disk = diskWithDurableFile();
    disk.writeFile('/d/g', 'g');
    disk.fsyncDir('/d');
    disk.writeFile('/d/f', 'lost');
    const predicted = disk.snapshot('durable');
    const predictedDigest = disk.digest('durable');
    disk.crash();
    expect(disk.snapshot()).toEqual(predicted);
    expect(disk.digest()).toBe(predictedDigest);
    disk.crash();
    expect(disk.digest()).toBe(predictedDigest);
    expect([...predicted.keys()]).toEqual(['/', '/d', '/d/f', '/d/g']);
  });
});

// ------------------------------------------------------------------ observation

describe('SimDisk digest and counters', () => {
  const script = (disk: SimDisk): void => {
    disk.mkdir('/etc/pf9', { recursive: true });
    disk.writeFile('/etc/pf9/host.conf', 'id=1\n', { mode: 0o600 });
    disk.appendFile('/etc/pf9/host.conf', 'role=master\n');
    disk.fsync('/etc/pf9/host.conf');
    disk.fsyncDir('/etc/pf9');
  };

  it('gives the same digest for the same operations whatever the clock', () => {
    const first = new SimDisk(() => 1);
    const second = new SimDisk(() => 999);
    script(first);
    script(second);
    expect(first.digest()).toBe(second.digest());
    expect(first.digest()).toMatch(/^[0-9a-f]{64}$/);
    second.chmod('/etc/pf9/host.conf', 0o644);
    expect(first.digest()).not.toBe(second.digest());
    second.chmod('/etc/pf9/host.conf', 0o600);
    second.writeFile('/etc/pf9/host.conf', 'id=2\nrole=master\n');
    expect(first.digest()).not.toBe(second.digest());
  });

  it('counts bytes written, fsyncs and crashes', () => {
    const disk = newDisk();
    script(disk);
    disk.crash();
    expect(disk.counters()).toEqual({
      bytesWritten: 17, fsyncs: 1, fsyncDirs: 1, crashes: 1, usedBytes: 0, inodes: 1, durableInodes: 1,
    });
  });

  it('keeps a bounded number of durable records across many replaced files', () => {
    const disk = newDisk();
    disk.mkdir('/d');
    disk.fsyncDir('/');
    for (let round = 0; round < 2000; round++) {
      disk.writeFile('/d/.f.tmp', `round ${round}`);
      disk.fsync('/d/.f.tmp');
      disk.rename('/d/.f.tmp', '/d/f');
      disk.fsyncDir('/d');
    }
    expect(disk.counters().durableInodes).toBeLessThan(200);
    disk.assertInvariants();
    disk.crash();
    expect(text(disk, '/d/f')).toBe('round 1999');
  });
});

// ------------------------------------------------------------------ writeFileAtomic

class Crashed extends Error {}

/**
 * An async Files over a SimDisk that records each operation and, after the
 * `crashAfterOps`-th one (failed or not), crashes the disk; the interrupted
 * writer then sees only Crashed errors, as a dead process would do nothing.
 */
function crashingFiles(disk: SimDisk, crashAfterOps = Number.POSITIVE_INFINITY): { files: Files; ops: string[] } {
  const ops: string[] = [];
  let crashed = false;
  const call = async <T>(op: string, action: () => T): Promise<T> => {
    if (crashed) throw new Crashed(`${op} after the crash`);
    ops.push(op);
    let outcome: { value: T } | { error: unknown };
    try {
      outcome = { value: action() };
    } catch (error) {
      outcome = { error };
    }
    if (ops.length >= crashAfterOps) {
      crashed = true;
      disk.crash();
      throw new Crashed(`crash after ${op}`);
    }
    if ('error' in outcome) throw outcome.error;
    return outcome.value;
  };
  const files: Files = {
    readFile: (path) => call('readFile', () => disk.readFile(path)),
    writeFile: (path, data, options) => call('writeFile', () => disk.writeFile(path, data, options)),
    appendFile: (path, data) => call('appendFile', () => disk.appendFile(path, data)),
    rename: (fromPath, toPath) => call('rename', () => disk.rename(fromPath, toPath)),
    unlink: (path) => call('unlink', () => disk.unlink(path)),
    mkdir: (path, options) => call('mkdir', () => disk.mkdir(path, options)),
    readdir: (path) => call('readdir', () => disk.readdir(path)),
    stat: (path) => call('stat', () => disk.stat(path)),
    chmod: (path, mode) => call('chmod', () => disk.chmod(path, mode)),
    fsync: (path) => call('fsync', () => disk.fsync(path)),
    fsyncDir: (path) => call('fsyncDir', () => disk.fsyncDir(path)),
  };
  return { files, ops };
}

// With a mode there is nothing to stat: the mode is set with chmod.
const atomicOps = ['unlink', 'writeFile', 'chmod', 'fsync', 'rename', 'fsyncDir'];

describe('writeFileAtomic', () => {
  it('replaces the file durably through a temp file, leaving no temp behind', async () => {
    const disk = diskWithDurableFile();
    const { files, ops } = crashingFiles(disk);
    await writeFileAtomic(files, '/d/f', 'new', { mode: 0o600 });
    expect(ops).toEqual(atomicOps);
    disk.crash();
    expect(disk.readdir('/d')).toEqual(['f']);
    expect(text(disk, '/d/f')).toBe('new');
    expect(disk.stat('/d/f').mode).toBe(0o600);
  });

  it("keeps an existing file's mode when none is given", async () => {
    const disk = diskWithDurableFile();
    disk.chmod('/d/f', 0o640);
    await writeFileAtomic(crashingFiles(disk).files, '/d/f', Buffer.from('new'));
    expect(disk.stat('/d/f').mode).toBe(0o640);
    await writeFileAtomic(crashingFiles(disk).files, '/d/fresh', 'x');
    expect(disk.stat('/d/fresh').mode).toBe(0o644);
  });

  it('replaces a stale temp file left by an earlier crash, mode included', async () => {
    const disk = diskWithDurableFile();
    disk.writeFile('/d/.f.tmp', 'a much longer stale content', { mode: 0o644 });
    disk.fsyncDir('/d');
    await writeFileAtomic(crashingFiles(disk).files, '/d/f', 'key', { mode: 0o600 });
    expect(disk.readdir('/d')).toEqual(['f']);
    expect(text(disk, '/d/f')).toBe('key');
    expect(disk.stat('/d/f').mode).toBe(0o600);
  });

  it('removes its temp file when the write or the rename fails', async () => {
    const full = diskWithDurableFile();
    const small = new SimDisk(() => 0, { capacityBytes: 8 });
    small.writeFile('/f', 'old');
    await expect(writeFileAtomic(crashingFiles(small).files, '/f', 'too long for it')).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(small.readdir('/')).toEqual(['f']);
    expect(text(small, '/f')).toBe('old');
    full.mkdir('/d/sub');
    await expect(writeFileAtomic(crashingFiles(full).files, '/d/sub', 'x')).rejects.toMatchObject({ code: 'EISDIR' });
    expect(full.readdir('/d')).toEqual(['f', 'sub']);
  });

  it('rejects paths that name no file', async () => {
    const { files } = crashingFiles(newDisk());
    await expect(writeFileAtomic(files, '/', 'x')).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(writeFileAtomic(files, '/d/', 'x')).rejects.toMatchObject({ code: 'EINVAL' });
  });

  it('leaves the complete old or the complete new content after a crash at every step', async () => {
    for (let crashAfterOps = 1; crashAfterOps <= atomicOps.length; crashAfterOps++) {
      const disk = diskWithDurableFile();
      const { files, ops } = crashingFiles(disk, crashAfterOps);
      await expect(writeFileAtomic(files, '/d/f', 'new content', { mode: 0o600 })).rejects.toBeInstanceOf(Crashed);
      const step = `crash after ${ops.join(', ')}`;
      expect(disk.readdir('/d'), step).toEqual(['f']);
      const content = text(disk, '/d/f');
      const expected = crashAfterOps === atomicOps.length ? 'new content' : 'old';
      expect(content, step).toBe(expected);
      expect(disk.stat('/d/f').mode, step).toBe(content === 'old' ? 0o644 : 0o600);
      disk.assertInvariants();
    }
  });

  it('leaves nothing or the complete new content for a new file after a crash at every step', async () => {
    for (let crashAfterOps = 1; crashAfterOps <= atomicOps.length; crashAfterOps++) {
      const disk = newDisk();
      disk.mkdir('/d');
      disk.fsyncDir('/');
      const { files, ops } = crashingFiles(disk, crashAfterOps);
      await expect(writeFileAtomic(files, '/d/key', 'secret', { mode: 0o600 })).rejects.toBeInstanceOf(Crashed);
      const step = `crash after ${ops.join(', ')}`;
      if (crashAfterOps < atomicOps.length) {
        expect(disk.readdir('/d'), step).toEqual([]);
      } else {
        expect(disk.readdir('/d'), step).toEqual(['key']);
        expect(text(disk, '/d/key'), step).toBe('secret');
        expect(disk.stat('/d/key').mode, step).toBe(0o600);
      }
    }
  });

  it('never leaves a partial file, for any contents and crash point (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.option(fc.uint8Array({ maxLength: 64 }), { nil: undefined }),
        fc.uint8Array({ maxLength: 64 }),
        fc.integer({ min: 1, max: 8 }),
        async (oldBytes, newBytes, crashAfterOps) => {
          const setUp = (): SimDisk => {
            const disk = newDisk();
            disk.mkdir('/d');
            disk.fsyncDir('/');
            if (oldBytes !== undefined) {
              disk.writeFile('/d/f', Buffer.from(oldBytes));
              disk.fsync('/d/f');
              disk.fsyncDir('/d');
            }
            return disk;
          };
          const dryRun = crashingFiles(setUp());
          await writeFileAtomic(dryRun.files, '/d/f', Buffer.from(newBytes));
          const completed = crashAfterOps >= dryRun.ops.length;
          const disk = setUp();
          const { files } = crashingFiles(disk, crashAfterOps);
          await writeFileAtomic(files, '/d/f', Buffer.from(newBytes)).catch((error: unknown) => {
            if (!(error instanceof Crashed)) throw error;
          });
          disk.crash();
          const allowed = [Buffer.from(newBytes).toString('hex')];
          if (oldBytes !== undefined) allowed.push(Buffer.from(oldBytes).toString('hex'));
          const names = disk.readdir('/d');
          if (oldBytes !== undefined || completed) expect(names).toEqual(['f']);
          if (names.length > 0) expect(allowed).toContain(disk.readFile('/d/f').toString('hex'));
          if (completed) expect(disk.readFile('/d/f')).toEqual(Buffer.from(newBytes));
        },
      ),
      { numRuns: 300 },
    );
  });
});

// ------------------------------------------------------------------ model-based property

/**
 * The reference model: a flat map from canonical path to inode number, with
 * per-inode volatile content and an optional durable record. It shares no code
 * with SimDisk: paths are strings, a directory's entries are the paths one
 * level below it, and a rename re-keys every path under the source.
 */
interface ModelInode {
  kind: 'file' | 'dir';
  data: Buffer;
  mode: number;
  durable?: { data: Buffer; mode: number; entries: Map<string, number> };
}

type Outcome = { code: string } | { value: unknown };

const empty = Buffer.alloc(0);
const umask = 0o022;

function parentOf(path: string): string {
  const cut = path.lastIndexOf('/');
  return cut === 0 ? '/' : path.slice(0, cut);
}

function nameOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function childPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

function byString(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

class ReferenceModel {
  private paths = new Map<string, number>([['/', 0]]);
  private readonly inodes = new Map<number, ModelInode>([
    [0, { kind: 'dir', data: empty, mode: 0o755, durable: { data: empty, mode: 0o755, entries: new Map() } }],
  ]);
  private inoNext = 1;

  readFile(path: string): Outcome {
    const code = this.walkError(path) ?? (this.kind(path) === 'dir' ? 'EISDIR' : undefined);
    return code !== undefined ? { code } : { value: this.inode(path).data.toString('utf8') };
  }

  readdir(path: string): Outcome {
    const code = this.walkError(path) ?? (this.kind(path) === 'file' ? 'ENOTDIR' : undefined);
    return code !== undefined ? { code } : { value: [...this.children(path).keys()].sort(byString) };
  }

  stat(path: string): Outcome {
    const code = this.walkError(path);
    if (code !== undefined) return { code };
    const node = this.inode(path);
    return { value: { kind: node.kind, mode: node.mode, size: node.kind === 'file' ? node.data.length : 0 } };
  }

  write(path: string, data: Buffer, mode: number | undefined, append: boolean): string | undefined {
    if (path === '/') return 'EISDIR';
    const code = this.parentError(path);
    if (code !== undefined) return code;
    const ino = this.paths.get(path);
    if (ino === undefined) {
      this.create(path, { kind: 'file', data, mode: (mode ?? 0o666) & ~umask });
      return undefined;
    }
    const node = this.inodes.get(ino)!;
    if (node.kind === 'dir') return 'EISDIR';
    node.data = append ? Buffer.concat([node.data, data]) : data;
    return undefined;
  }

  mkdir(path: string, recursive: boolean): string | undefined {
    if (!recursive) {
      if (path === '/') return 'EEXIST';
      const code = this.parentError(path);
      if (code !== undefined) return code;
      if (this.paths.has(path)) return 'EEXIST';
      this.create(path, { kind: 'dir', data: empty, mode: 0o755 });
      return undefined;
    }
    const prefixes = this.prefixes(path);
    for (const [index, prefix] of prefixes.entries()) {
      if (!this.paths.has(prefix)) {
        this.create(prefix, { kind: 'dir', data: empty, mode: 0o755 });
      } else if (this.kind(prefix) === 'file') {
        return index === prefixes.length - 1 ? 'EEXIST' : 'ENOTDIR';
      }
    }
    return undefined;
  }

  unlink(path: string): string | undefined {
    const code = this.walkError(path) ?? (this.kind(path) === 'dir' ? 'EISDIR' : undefined);
    if (code === undefined) this.paths.delete(path);
    return code;
  }

  rename(from: string, to: string): string | undefined {
    const code = this.walkError(from)
      ?? (from === '/' || to === '/' ? 'EINVAL' : undefined)
      ?? this.parentError(to);
    if (code !== undefined) return code;
    const source = this.inodes.get(this.paths.get(from)!)!;
    const targetIno = this.paths.get(to);
    if (targetIno === this.paths.get(from)) return undefined;
    const toParent = parentOf(to);
    if (source.kind === 'dir' && (toParent === from || toParent.startsWith(from + '/'))) return 'EINVAL';
    if (targetIno !== undefined) {
      const target = this.inodes.get(targetIno)!;
      if (source.kind === 'dir' && target.kind === 'file') return 'ENOTDIR';
      if (source.kind === 'file' && target.kind === 'dir') return 'EISDIR';
      if (target.kind === 'dir' && this.children(to).size > 0) return 'ENOTEMPTY';
      this.paths.delete(to);
    }
    const moved = new Map<string, number>();
    for (const [path, ino] of this.paths) {
      if (path === from || path.startsWith(from + '/')) moved.set(to + path.slice(from.length), ino);
      else moved.set(path, ino);
    }
    this.paths = moved;
    return undefined;
  }

  chmod(path: string, mode: number): string | undefined {
    const code = this.walkError(path);
    if (code === undefined) this.inode(path).mode = mode;
    return code;
  }

  fsync(path: string): string | undefined {
    const code = this.walkError(path);
    if (code !== undefined) return code;
    const node = this.inode(path);
    if (node.kind === 'dir') return this.fsyncDir(path);
    node.durable = { data: node.data, mode: node.mode, entries: new Map() };
    return undefined;
  }

  fsyncDir(path: string): string | undefined {
    const code = this.walkError(path) ?? (this.kind(path) === 'file' ? 'ENOTDIR' : undefined);
    if (code !== undefined) return code;
    const node = this.inode(path);
    const entries = this.children(path);
    node.durable = { data: empty, mode: node.mode, entries };
    for (const childIno of entries.values()) {
      const child = this.inodes.get(childIno)!;
      child.durable ??= { data: empty, mode: child.mode, entries: new Map() };
    }
    return undefined;
  }

  crash(): void {
    const { paths, keptEntries } = this.recover();
    this.paths = paths;
    for (const ino of new Set(paths.values())) {
      const node = this.inodes.get(ino)!;
      node.data = node.durable!.data;
      node.mode = node.durable!.mode;
    }
    for (const [ino, entries] of keptEntries) this.inodes.get(ino)!.durable!.entries = entries;
  }

  /** Every path with what it holds now, sorted. */
  view(): [string, DiskEntry][] {
    return this.entriesOf(this.paths, (node) => ({ data: node.data, mode: node.mode }));
  }

  /** What a crash now would leave. */
  crashView(): [string, DiskEntry][] {
    return this.entriesOf(this.recover().paths, (node) => ({ data: node.durable!.data, mode: node.durable!.mode }));
  }

  /** Breadth-first from the root over durable entries in sorted order; a directory only where first found. */
  private recover(): { paths: Map<string, number>; keptEntries: Map<number, Map<string, number>> } {
    const paths = new Map<string, number>([['/', 0]]);
    const keptEntries = new Map<number, Map<string, number>>();
    const claimed = new Set<number>([0]);
    const queue: [string, number][] = [['/', 0]];
    for (let head = 0; head < queue.length; head++) {
      const [dirPath, dirIno] = queue[head]!;
      const kept = new Map<string, number>();
      const durableEntries = [...this.inodes.get(dirIno)!.durable!.entries].sort(([a], [b]) => byString(a, b));
      for (const [name, childIno] of durableEntries) {
        const child = this.inodes.get(childIno)!;
        expect(child.durable, 'a durable entry has a durable record').toBeDefined();
        if (child.kind === 'dir') {
          if (claimed.has(childIno)) continue;
          claimed.add(childIno);
          queue.push([childPath(dirPath, name), childIno]);
        }
        kept.set(name, childIno);
        paths.set(childPath(dirPath, name), childIno);
      }
      keptEntries.set(dirIno, kept);
    }
    return { paths, keptEntries };
  }

  private entriesOf(paths: Map<string, number>, content: (node: ModelInode) => { data: Buffer; mode: number }): [string, DiskEntry][] {
    return [...paths]
      .sort(([a], [b]) => byString(a, b))
      .map(([path, ino]) => {
        const node = this.inodes.get(ino)!;
        const { data, mode } = content(node);
        return [path, node.kind === 'file' ? { kind: 'file', data, mode } : { kind: 'dir', mode }];
      });
  }

  private create(path: string, node: ModelInode): void {
    const ino = this.inoNext++;
    this.inodes.set(ino, node);
    this.paths.set(path, ino);
  }

  private inode(path: string): ModelInode {
    return this.inodes.get(this.paths.get(path)!)!;
  }

  private kind(path: string): 'file' | 'dir' {
    return this.inode(path).kind;
  }

  private children(dir: string): Map<string, number> {
    const children = new Map<string, number>();
    for (const [path, ino] of this.paths) if (path !== '/' && parentOf(path) === dir) children.set(nameOf(path), ino);
    return children;
  }

  private prefixes(path: string): string[] {
    const names = path.split('/').filter((name) => name !== '');
    return names.map((_, index) => '/' + names.slice(0, index + 1).join('/'));
  }

  /** Walking to `path`: ENOTDIR when passing through a file, ENOENT at the first missing component. */
  private walkError(path: string): string | undefined {
    let current = '/';
    for (const prefix of this.prefixes(path)) {
      if (this.kind(current) !== 'dir') return 'ENOTDIR';
      if (!this.paths.has(prefix)) return 'ENOENT';
      current = prefix;
    }
    return undefined;
  }

  private parentError(path: string): string | undefined {
    const parent = parentOf(path);
    return this.walkError(parent) ?? (this.kind(parent) === 'file' ? 'ENOTDIR' : undefined);
  }
}

type Op =
  | { op: 'write'; path: string; data: string; mode: number | undefined }
  | { op: 'append'; path: string; data: string }
  | { op: 'rename'; from: string; to: string }
  | { op: 'unlink'; path: string }
  | { op: 'mkdir'; path: string; recursive: boolean }
  | { op: 'chmod'; path: string; mode: number }
  | { op: 'fsync'; path: string }
  | { op: 'fsyncDir'; path: string }
  | { op: 'crash' };

/** '/', and every path of up to three components over {a, b}: the alphabet both sides are probed on. */
const probePaths = ['/', ...['a', 'b'].flatMap((x) => [`/${x}`, ...['a', 'b'].flatMap((y) => [`/${x}/${y}`, `/${x}/${y}/a`, `/${x}/${y}/b`])])];

// Shallow paths weigh more, so that directories exist and deeper operations succeed often.
const pathOfDepth = (depth: number): fc.Arbitrary<string> =>
  fc.array(fc.constantFrom('a', 'b'), { minLength: depth, maxLength: depth }).map((names) => '/' + names.join('/'));
const canonicalPath = fc.oneof(
  { arbitrary: fc.constant('/'), weight: 1 },
  { arbitrary: pathOfDepth(1), weight: 6 },
  { arbitrary: pathOfDepth(2), weight: 5 },
  { arbitrary: pathOfDepth(3), weight: 2 },
);

/** The same path spelled differently, so normalisation is exercised on every operation. */
function spelled(path: string, style: number): string {
  if (style === 1) return path.replaceAll('/', '//');
  if (style === 2) return path === '/' ? '/.' : path.replace(/\/([^/]*)$/, '/./$1');
  return path;
}

const pathArb = fc.tuple(canonicalPath, fc.integer({ min: 0, max: 5 })).map(([path, style]) => ({ path, spelling: spelled(path, style) }));
const modeArb = fc.constantFrom(0o600, 0o640, 0o644, 0o755);
const dataArb = fc.string({ maxLength: 4 });

type SpelledOp = { model: Op; disk: Op };

const opArb: fc.Arbitrary<SpelledOp> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ p: pathArb, data: dataArb, mode: fc.option(modeArb, { nil: undefined }) })
    .map(({ p, data, mode }) => pair({ op: 'write', path: p.path, data, mode }, { op: 'write', path: p.spelling, data, mode })) },
  { weight: 1, arbitrary: fc.record({ p: pathArb, data: dataArb })
    .map(({ p, data }) => pair({ op: 'append', path: p.path, data }, { op: 'append', path: p.spelling, data })) },
  { weight: 4, arbitrary: fc.record({ from: pathArb, to: pathArb })
    .map(({ from, to }) => pair({ op: 'rename', from: from.path, to: to.path }, { op: 'rename', from: from.spelling, to: to.spelling })) },
  { weight: 2, arbitrary: pathArb.map((p) => pair({ op: 'unlink', path: p.path }, { op: 'unlink', path: p.spelling })) },
  { weight: 4, arbitrary: fc.record({ p: pathArb, recursive: fc.boolean() })
    .map(({ p, recursive }) => pair({ op: 'mkdir', path: p.path, recursive }, { op: 'mkdir', path: p.spelling, recursive })) },
  { weight: 1, arbitrary: fc.record({ p: pathArb, mode: modeArb })
    .map(({ p, mode }) => pair({ op: 'chmod', path: p.path, mode }, { op: 'chmod', path: p.spelling, mode })) },
  { weight: 3, arbitrary: pathArb.map((p) => pair({ op: 'fsync', path: p.path }, { op: 'fsync', path: p.spelling })) },
  { weight: 3, arbitrary: pathArb.map((p) => pair({ op: 'fsyncDir', path: p.path }, { op: 'fsyncDir', path: p.spelling })) },
  { weight: 1, arbitrary: fc.constant(pair({ op: 'crash' }, { op: 'crash' })) },
);

function pair(model: Op, disk: Op): SpelledOp {
  return { model, disk };
}

function applyToModel(model: ReferenceModel, op: Op): string | undefined {
  switch (op.op) {
    case 'write': return model.write(op.path, Buffer.from(op.data, 'utf8'), op.mode, false);
    case 'append': return model.write(op.path, Buffer.from(op.data, 'utf8'), undefined, true);
    case 'rename': return model.rename(op.from, op.to);
    case 'unlink': return model.unlink(op.path);
    case 'mkdir': return model.mkdir(op.path, op.recursive);
    case 'chmod': return model.chmod(op.path, op.mode);
    case 'fsync': return model.fsync(op.path);
    case 'fsyncDir': return model.fsyncDir(op.path);
    case 'crash': model.crash(); return undefined;
  }
}

function applyToDisk(disk: SimDisk, op: Op): string | undefined {
  return codeOf(() => {
    switch (op.op) {
      case 'write': return disk.writeFile(op.path, op.data, op.mode === undefined ? {} : { mode: op.mode });
      case 'append': return disk.appendFile(op.path, op.data);
      case 'rename': return disk.rename(op.from, op.to);
      case 'unlink': return disk.unlink(op.path);
      case 'mkdir': return disk.mkdir(op.path, { recursive: op.recursive });
      case 'chmod': return disk.chmod(op.path, op.mode);
      case 'fsync': return disk.fsync(op.path);
      case 'fsyncDir': return disk.fsyncDir(op.path);
      case 'crash': return disk.crash();
    }
  });
}

function codeOf(action: () => void): string | undefined {
  try {
    action();
    return undefined;
  } catch (error) {
    if (error instanceof PlatformError) return error.code;
    throw error;
  }
}

function observe(action: () => unknown): Outcome {
  try {
    return { value: action() };
  } catch (error) {
    if (error instanceof PlatformError) return { code: error.code };
    throw error;
  }
}

function compare(disk: SimDisk, model: ReferenceModel, where: string): void {
  for (const path of probePaths) {
    expect(observe(() => disk.readFile(path).toString('utf8')), `${where}: readFile ${path}`).toEqual(model.readFile(path));
    expect(observe(() => disk.readdir(path)), `${where}: readdir ${path}`).toEqual(model.readdir(path));
    const stat = observe(() => disk.stat(path));
    const shown = 'value' in stat
      ? { value: (({ isDirectory, mode, size }) => ({ kind: isDirectory ? 'dir' : 'file', mode, size }))(stat.value as ReturnType<SimDisk['stat']>) }
      : stat;
    expect(shown, `${where}: stat ${path}`).toEqual(model.stat(path));
  }
  expect([...disk.snapshot('volatile')], `${where}: volatile snapshot`).toEqual(model.view());
  expect([...disk.snapshot('durable')], `${where}: durable snapshot`).toEqual(model.crashView());
  disk.assertInvariants();
}

/**
 * A durable tree to start from in half the runs, so that short sequences
 * reach moves between durable directories (and the recovery of a directory
 * found under two parents).
 */
const populatedStart: Op[] = [
  { op: 'mkdir', path: '/a/a', recursive: true },
  { op: 'mkdir', path: '/b/b', recursive: true },
  { op: 'write', path: '/a/b', data: 'ab', mode: undefined },
  { op: 'write', path: '/b/a', data: 'ba', mode: 0o600 },
  { op: 'write', path: '/a/a/a', data: 'aaa', mode: undefined },
  ...['/a/b', '/b/a', '/a/a/a'].map((path): Op => ({ op: 'fsync', path })),
  ...['/', '/a', '/b', '/a/a', '/b/b'].map((path): Op => ({ op: 'fsyncDir', path })),
];

describe('SimDisk against a reference model (property)', () => {
  it('matches the model after every operation, crashes included', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.array(opArb, { minLength: 1, maxLength: 60 }), (populated, ops) => {
        const disk = newDisk();
        const twin = new SimDisk(() => 0);
        const model = new ReferenceModel();
        for (const op of populated ? populatedStart : []) {
          expect(applyToDisk(disk, op)).toBe(applyToModel(model, op));
          applyToDisk(twin, op);
        }
        for (const [index, { model: modelOp, disk: diskOp }] of ops.entries()) {
          const where = `step ${index} ${JSON.stringify(diskOp)}`;
          const expected = applyToModel(model, modelOp);
          expect(applyToDisk(disk, diskOp), where).toBe(expected);
          applyToDisk(twin, diskOp);
          compare(disk, model, where);
        }
        // Same operations, another clock: the same bytes on disk.
        expect(twin.digest()).toBe(disk.digest());
        expect(twin.digest('durable')).toBe(disk.digest('durable'));
      }),
      { numRuns: 1000 },
    );
  });
});
