// Files through node:fs/promises. Errors are Node's own (with `code`s like
// ENOENT), which is what the simulated disk imitates.
import fs from 'node:fs/promises';
import type { FileStat, Files } from '../types.js';

export function createRealFiles(): Files {
  return {
    readFile: (path) => fs.readFile(path),

    async writeFile(path, data, options) {
      const mode = options?.mode;
      // open(…, mode) applies the mode only when creating the file, and
      // through the umask; chmod makes the result exact either way. It runs
      // before any data is written, so a secret never sits under a wider mode.
      const handle = await fs.open(path, 'w', mode);
      try {
        if (mode !== undefined) await handle.chmod(mode);
        await handle.writeFile(data);
      } finally {
        await handle.close();
      }
    },

    appendFile: (path, data) => fs.appendFile(path, data),
    rename: (fromPath, toPath) => fs.rename(fromPath, toPath),
    unlink: (path) => fs.unlink(path),

    async mkdir(path, options) {
      await fs.mkdir(path, { recursive: options?.recursive ?? false, mode: options?.mode });
    },

    readdir: (path) => fs.readdir(path),

    async stat(path): Promise<FileStat> {
      const stats = await fs.stat(path);
      return {
        size: stats.size,
        isFile: stats.isFile(),
        isDirectory: stats.isDirectory(),
        // Permission bits only; the file type is in isFile/isDirectory.
        mode: stats.mode & 0o7777,
        mtimeMs: stats.mtimeMs,
      };
    },

    chmod: (path, mode) => fs.chmod(path, mode),

    async fsync(path) {
      await syncPath(path);
    },

    async fsyncDir(path) {
      // fsync on a directory descriptor makes its entries (creations,
      // renames, removals) durable; Linux allows it on a read-only open.
      await syncPath(path);
    },
  };
}

async function syncPath(path: string): Promise<void> {
  const handle = await fs.open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
