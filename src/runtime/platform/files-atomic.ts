// Crash-safe replacement of a whole file (keys, certificates, configuration)
// through the platform's `Files`: after a crash at any point the path holds
// either its complete old content or its complete new content — never a
// partial or empty file, and never nothing when something was there before.
import { posix } from 'node:path';
import { PlatformError, errorCode } from './errors.js';
import type { Files } from './types.js';

/**
 * Writes `data` to a sibling temp file `.<name>.tmp`, fsyncs it, renames it
 * over `path` and fsyncs the parent directory (without that last step the
 * rename itself may be undone by a crash).
 *
 * `mode` (0o600 for keys) is set with chmod, so neither the umask nor a stale
 * temp file left by an earlier crash can loosen it; without `mode` an existing
 * file keeps its mode. The parent directory must already exist durably.
 * Concurrent writers of the same path must be serialised by the caller: they
 * share the temp name.
 */
export async function writeFileAtomic(
  files: Files,
  path: string,
  data: Buffer | string,
  options: { mode?: number } = {},
): Promise<void> {
  const { dirPath, tempPath } = atomicPaths(path);
  const mode = options.mode ?? (await modeIfExists(files, path));
  // A temp file from an interrupted earlier write may hold a stale mode or a larger content.
  await unlinkIfExists(files, tempPath);
  try {
    await files.writeFile(tempPath, data, mode === undefined ? {} : { mode });
    if (mode !== undefined) await files.chmod(tempPath, mode);
    await files.fsync(tempPath);
    await files.rename(tempPath, path);
  } catch (error) {
    // Leave no temp file behind (after ENOSPC it is what holds the space); the first error is the one to report.
    await unlinkIfExists(files, tempPath).catch(() => undefined);
    throw error;
  }
  await files.fsyncDir(dirPath);
}

/** The parent directory and the temp file writeFileAtomic uses for `path`. */
export function atomicPaths(path: string): { dirPath: string; tempPath: string } {
  const name = posix.basename(path);
  if (path.endsWith('/') || name === '' || name === '.' || name === '..') {
    throw new PlatformError('EINVAL', `not a file path, writeFileAtomic '${path}'`, { syscall: 'open', path });
  }
  const dirPath = posix.dirname(path);
  return { dirPath, tempPath: posix.join(dirPath, `.${name}.tmp`) };
}

async function modeIfExists(files: Files, path: string): Promise<number | undefined> {
  try {
    return (await files.stat(path)).mode & 0o7777;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

async function unlinkIfExists(files: Files, path: string): Promise<void> {
  try {
    await files.unlink(path);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
  }
}
