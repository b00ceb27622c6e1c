// Path parsing and error construction for the simulated disk (disk.ts).
// Kept apart so the disk itself reads as file-system semantics only.
import { PlatformError } from '../../src/runtime/platform/errors.js';

/** The codes a SimDisk operation can fail with. */
export type DiskErrorCode = 'ENOENT' | 'EEXIST' | 'EISDIR' | 'ENOTDIR' | 'ENOTEMPTY' | 'EINVAL' | 'ENOSPC';

/** Linux's PATH_MAX and NAME_MAX: a bound on every path the disk accepts. */
export const pathLengthMax = 4096;
export const nameLengthMax = 255;

// Node's wording, so messages read like the real platform's.
const descriptions: Readonly<Record<DiskErrorCode, string>> = {
  ENOENT: 'no such file or directory',
  EEXIST: 'file already exists',
  EISDIR: 'illegal operation on a directory',
  ENOTDIR: 'not a directory',
  ENOTEMPTY: 'directory not empty',
  EINVAL: 'invalid argument',
  ENOSPC: 'no space left on device',
};

/**
 * A Node-like system error: "ENOENT: no such file or directory, open '/a'".
 * `path` is the path as the caller spelled it; `targetPath` names the second
 * path of a rename.
 */
export function diskError(
  code: DiskErrorCode,
  syscall: string,
  path: string,
  targetPath?: string,
  detail?: string,
): PlatformError {
  const paths = targetPath === undefined ? `'${path}'` : `'${path}' -> '${targetPath}'`;
  const suffix = detail === undefined ? '' : ` (${detail})`;
  return new PlatformError(code, `${descriptions[code]}, ${syscall} ${paths}${suffix}`, { syscall, path });
}

/**
 * Splits an absolute POSIX path into its components, normalising '.', '..'
 * and repeated slashes lexically ('/a/../b' is '/b' whether or not '/a'
 * exists: there are no symlinks, so only that corner differs from the kernel).
 * The root is the empty list.
 */
export function parsePath(path: string, syscall: string): string[] {
  if (!path.startsWith('/')) throw diskError('EINVAL', syscall, path, undefined, 'path must be absolute');
  if (path.includes('\0')) throw diskError('EINVAL', syscall, path, undefined, 'path contains a NUL byte');
  if (path.length > pathLengthMax) {
    throw diskError('EINVAL', syscall, path.slice(0, 64) + '…', undefined, `path longer than ${pathLengthMax}`);
  }
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      parts.pop();
      continue;
    }
    if (part.length > nameLengthMax) {
      throw diskError('EINVAL', syscall, path, undefined, `name longer than ${nameLengthMax}`);
    }
    parts.push(part);
  }
  return parts;
}

/** Permission bits from a caller's mode; anything but a non-negative integer is EINVAL. */
export function checkMode(mode: number, syscall: string, path: string): number {
  if (!Number.isInteger(mode) || mode < 0 || mode > 0xffff_ffff) {
    throw diskError('EINVAL', syscall, path, undefined, `bad mode ${String(mode)}`);
  }
  return mode & 0o7777;
}

/** Code-unit order: the one order every host and run agrees on. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
