// The simulated host disk: an in-memory POSIX-like file system for one host
// whose crash keeps only what was made durable (DESIGN.md, "The platform
// seam": files). It assumes nothing beyond strict POSIX, none of ext4's
// implicit ordering:
//
// - The volatile state is what processes see; the durable state is what a
//   crash leaves. Both are inode tables with the same ids.
// - fsync(file) makes that inode's current data and mode durable. It does not
//   make any name durable: a file whose entry was never fsyncDir'ed is gone
//   after a crash (its data returns if the entry is made durable later).
// - fsyncDir(dir) makes that directory's current entries durable. A child
//   named there with no durable record of its own gets one: an empty file (a
//   zero-length file, as ext4 shows after a crash) or an empty directory.
// - rename is atomic in the volatile state and durable once both parents are
//   fsyncDir'ed. With only the target's parent synced, a crash shows the file
//   under both names (a hard link); with only the source's, under neither.
// - crash(): the volatile state becomes the durable records reachable from
//   the root (see recoverTable for directories reachable twice).
//
// Operations are synchronous and throw PlatformError with Node's codes and
// syscall names; an async `Files` adapter (latency, promises) wraps this.
// There are no permission checks, symlinks or open file handles.
import type { FileStat } from '../../src/runtime/platform/types.js';
import {
  assert, collectDurable, copyNode, copyTable, countLinks, digestTable, placeholderOf, recoverTable, rootIno, snapshotTable,
  type DirNode, type DiskEntry, type DiskNode, type FileNode, type InodeTable,
} from './disk-inodes.js';
import { checkMode, compareNames, diskError, parsePath } from './disk-path.js';

export type { DiskEntry } from './disk-inodes.js';

export interface SimDiskOptions {
  /** Bound on the bytes of file data in the volatile state; beyond it writes fail with ENOSPC. Default 1 GiB. */
  capacityBytes?: number;
  /** Bound on files plus directories (the root included); creating more fails with ENOSPC. Default 2^20. */
  inodesMax?: number;
  /** Applied to the mode of new files and directories, as a process umask. Default 0o022. */
  umask?: number;
}

export interface SimDiskCounters {
  /** Bytes of file data written by writeFile and appendFile since construction (crashes do not reset it). */
  bytesWritten: number;
  fsyncs: number;
  fsyncDirs: number;
  crashes: number;
  /** Bytes of file data in the volatile state. */
  usedBytes: number;
  /** Inodes in the volatile state, the root included. */
  inodes: number;
  /** Durable inode records held, including some that only a future fsyncDir could make reachable. */
  durableInodes: number;
}

/** Which state a snapshot or digest looks at: what runs now, or what a crash would leave. */
export type DiskState = 'volatile' | 'durable';

const defaultCapacityBytes = 1024 ** 3;
const defaultInodesMax = 2 ** 20;
const defaultFileMode = 0o666;
const defaultDirMode = 0o777;
// Durable records of replaced files pile up between crashes; collect them
// once their number doubles since the last collection.
const collectSlack = 64;

export class SimDisk {
  readonly capacityBytes: number;
  readonly inodesMax: number;
  readonly umask: number;
  private readonly now: () => number;
  private volatile: InodeTable = new Map();
  private durable: InodeTable = new Map();
  /** Volatile link count per inode; an inode is freed when it reaches 0. The root is pinned at 1. */
  private links = new Map<number, number>();
  private inoNext = rootIno + 1;
  private usedBytesNow = 0;
  private durableLiveAfterCollect = 1;
  private readonly counts = { bytesWritten: 0, fsyncs: 0, fsyncDirs: 0, crashes: 0 };

  constructor(now: () => number, options: SimDiskOptions = {}) {
    this.now = now;
    this.capacityBytes = options.capacityBytes ?? defaultCapacityBytes;
    this.inodesMax = options.inodesMax ?? defaultInodesMax;
    this.umask = (options.umask ?? 0o022) & 0o777;
    assert(Number.isSafeInteger(this.capacityBytes) && this.capacityBytes >= 0, 'capacityBytes is a non-negative integer');
    assert(Number.isSafeInteger(this.inodesMax) && this.inodesMax >= 1, 'inodesMax is a positive integer');
    const root: DirNode = { kind: 'dir', entries: new Map(), mode: 0o755, mtimeMs: now() };
    this.volatile.set(rootIno, root);
    this.durable.set(rootIno, copyNode(root));
    this.links.set(rootIno, 1);
  }

  // ------------------------------------------------------------ reading

  readFile(path: string): Buffer {
    const node = this.lookup(path, 'open');
    if (node.kind === 'dir') throw diskError('EISDIR', 'read', path);
    return Buffer.from(node.data);
  }

  readdir(path: string): string[] {
    const node = this.lookup(path, 'scandir');
    if (node.kind !== 'dir') throw diskError('ENOTDIR', 'scandir', path);
    return [...node.entries.keys()].sort(compareNames);
  }

  /** `mode` is the permission bits only (no file-type bits); directories have size 0. */
  stat(path: string): FileStat {
    const node = this.lookup(path, 'stat');
    return {
      size: node.kind === 'file' ? node.data.length : 0,
      isFile: node.kind === 'file',
      isDirectory: node.kind === 'dir',
      mode: node.mode,
      mtimeMs: node.mtimeMs,
    };
  }

  // ------------------------------------------------------------ writing

  /**
   * Creates (with `mode`, less the umask) or truncates the file, then writes.
   * Like Node, `mode` applies only to a new file. On ENOSPC the file keeps the
   * prefix that fitted, as after a short write.
   */
  writeFile(path: string, data: Buffer | string, options: { mode?: number } = {}): void {
    const bytes = toBuffer(data);
    const file = this.openForWrite(path, options.mode ?? defaultFileMode);
    this.storeData(file, Buffer.alloc(0), bytes, path);
  }

  /** Appends, creating the file (mode 0o666 less the umask) if needed. On ENOSPC the fitting prefix is appended. */
  appendFile(path: string, data: Buffer | string): void {
    const bytes = toBuffer(data);
    const file = this.openForWrite(path, defaultFileMode);
    this.storeData(file, file.data, bytes, path);
  }

  /** rename(2): atomic; replaces a file, or an empty directory with a directory. */
  rename(fromPath: string, toPath: string): void {
    const syscall = 'rename';
    const fromParts = parsePath(fromPath, syscall);
    const toParts = parsePath(toPath, syscall);
    const sourceChain = this.resolveChain(fromParts, syscall, fromPath, toPath);
    if (fromParts.length === 0 || toParts.length === 0) {
      throw diskError('EINVAL', syscall, fromPath, toPath, 'cannot rename the root');
    }
    const sourceIno = sourceChain[sourceChain.length - 1]!;
    const sourceParent = this.dirAt(sourceChain[sourceChain.length - 2]!);
    const sourceName = fromParts[fromParts.length - 1]!;
    const source = this.node(sourceIno);
    const targetParentChain = this.resolveChain(toParts.slice(0, -1), syscall, fromPath, toPath);
    const targetParentIno = targetParentChain[targetParentChain.length - 1]!;
    const targetParent = this.node(targetParentIno);
    if (targetParent.kind !== 'dir') throw diskError('ENOTDIR', syscall, fromPath, toPath);
    const targetName = toParts[toParts.length - 1]!;
    const targetIno = targetParent.entries.get(targetName);
    // Two names of one file (or one name twice): rename(2) does nothing.
    if (targetIno === sourceIno) return;
    if (source.kind === 'dir' && targetParentChain.includes(sourceIno)) {
      throw diskError('EINVAL', syscall, fromPath, toPath, 'cannot move a directory into itself');
    }
    if (targetIno !== undefined) {
      const target = this.node(targetIno);
      if (source.kind === 'dir' && target.kind === 'file') throw diskError('ENOTDIR', syscall, fromPath, toPath);
      if (source.kind === 'file' && target.kind === 'dir') throw diskError('EISDIR', syscall, fromPath, toPath);
      if (target.kind === 'dir' && target.entries.size > 0) throw diskError('ENOTEMPTY', syscall, fromPath, toPath);
      this.unlinkEntry(targetParent, targetName);
    }
    // Link before unlinking so the inode is never momentarily free.
    this.linkEntry(targetParent, targetName, sourceIno);
    this.unlinkEntry(sourceParent, sourceName);
  }

  /** Removes a file's name; directories are EISDIR (as on Linux). */
  unlink(path: string): void {
    const parts = parsePath(path, 'unlink');
    const chain = this.resolveChain(parts, 'unlink', path);
    if (this.node(chain[chain.length - 1]!).kind === 'dir') throw diskError('EISDIR', 'unlink', path);
    this.unlinkEntry(this.dirAt(chain[chain.length - 2]!), parts[parts.length - 1]!);
  }

  /** Like Node: EEXIST if it exists, unless recursive and a directory; recursive creates missing parents. */
  mkdir(path: string, options: { recursive?: boolean; mode?: number } = {}): void {
    const syscall = 'mkdir';
    const parts = parsePath(path, syscall);
    const mode = checkMode(options.mode ?? defaultDirMode, syscall, path) & ~this.umask;
    if (options.recursive !== true) {
      if (parts.length === 0) throw diskError('EEXIST', syscall, path);
      const parent = this.parentDir(parts, syscall, path);
      if (parent.entries.has(parts[parts.length - 1]!)) throw diskError('EEXIST', syscall, path);
      this.createNode(parent, parts[parts.length - 1]!, { kind: 'dir', entries: new Map(), mode, mtimeMs: this.now() }, syscall, path);
      return;
    }
    let dir = this.dirAt(rootIno);
    for (const [index, name] of parts.entries()) {
      const childIno = dir.entries.get(name);
      if (childIno === undefined) {
        const created: DirNode = { kind: 'dir', entries: new Map(), mode, mtimeMs: this.now() };
        this.createNode(dir, name, created, syscall, path);
        dir = created;
        continue;
      }
      const child = this.node(childIno);
      if (child.kind === 'file') throw diskError(index === parts.length - 1 ? 'EEXIST' : 'ENOTDIR', syscall, path);
      dir = child;
    }
  }

  chmod(path: string, mode: number): void {
    const bits = checkMode(mode, 'chmod', path);
    this.lookup(path, 'chmod').mode = bits;
  }

  // ------------------------------------------------------------ durability

  /** Makes the file's data and mode durable (not its name). On a directory it is fsyncDir. */
  fsync(path: string): void {
    const chain = this.resolveChain(parsePath(path, 'fsync'), 'fsync', path);
    const ino = chain[chain.length - 1]!;
    const node = this.node(ino);
    if (node.kind === 'dir') {
      this.persistDir(ino, node);
      return;
    }
    this.counts.fsyncs++;
    this.durable.set(ino, copyNode(node));
    this.maybeCollect();
  }

  /** Makes the directory's entries (and its mode) durable; not its own name, nor its children's data. */
  fsyncDir(path: string): void {
    const chain = this.resolveChain(parsePath(path, 'fsync'), 'fsync', path);
    const ino = chain[chain.length - 1]!;
    const node = this.node(ino);
    if (node.kind !== 'dir') throw diskError('ENOTDIR', 'fsync', path);
    this.persistDir(ino, node);
  }

  /** Power loss: running state is replaced by what was durable. */
  crash(): void {
    this.counts.crashes++;
    this.volatile = recoverTable(this.durable);
    this.durable = copyTable(this.volatile);
    this.durableLiveAfterCollect = this.durable.size;
    ({ links: this.links, usedBytes: this.usedBytesNow } = countLinks(this.volatile));
  }

  // ------------------------------------------------------------ observation

  /** Every path with kind, mode and content, sorted; 'durable' shows what a crash now would leave. */
  snapshot(state: DiskState = 'volatile'): Map<string, DiskEntry> {
    return snapshotTable(this.table(state));
  }

  /** sha256 (hex) over sorted paths, kinds, modes and contents; mtimes do not count. */
  digest(state: DiskState = 'volatile'): string {
    return digestTable(this.table(state));
  }

  get bytesWritten(): number { return this.counts.bytesWritten; }
  get fsyncs(): number { return this.counts.fsyncs; }
  get fsyncDirs(): number { return this.counts.fsyncDirs; }
  get usedBytes(): number { return this.usedBytesNow; }

  counters(): SimDiskCounters {
    return { ...this.counts, usedBytes: this.usedBytesNow, inodes: this.volatile.size, durableInodes: this.durable.size };
  }

  /** Recomputes link counts, usage and reachability and throws if the bookkeeping disagrees. For tests. */
  assertInvariants(): void {
    const { links, usedBytes } = countLinks(this.volatile);
    assert(usedBytes === this.usedBytesNow, `usedBytes ${this.usedBytesNow} is the data held (${usedBytes})`);
    assert(links.size === this.volatile.size && links.size === this.links.size, 'every volatile inode is linked');
    for (const [ino, count] of links) {
      assert(this.links.get(ino) === count, `link count of inode ${ino}`);
      assert(this.node(ino).kind === 'file' || count === 1, `directory ${ino} has one name`);
    }
    const reachable = new Set(recoverTable(this.volatile).keys());
    assert(reachable.size === this.volatile.size, 'every volatile inode is reachable from the root, directories once');
    for (const node of this.durable.values()) {
      if (node.kind === 'dir') for (const childIno of node.entries.values()) assert(this.durable.has(childIno), 'durable entries have records');
    }
  }

  // ------------------------------------------------------------ internals

  private table(state: DiskState): InodeTable {
    return state === 'volatile' ? this.volatile : recoverTable(this.durable);
  }

  private node(ino: number): DiskNode {
    const node = this.volatile.get(ino);
    assert(node !== undefined, `inode ${ino} is live`);
    return node;
  }

  private dirAt(ino: number): DirNode {
    const node = this.node(ino);
    assert(node.kind === 'dir', `inode ${ino} is a directory`);
    return node;
  }

  /** Inode ids from the root to the path's last component: ENOENT if one is missing, ENOTDIR if one is a file. */
  private resolveChain(parts: readonly string[], syscall: string, path: string, targetPath?: string): number[] {
    const chain = [rootIno];
    let node = this.node(rootIno);
    for (const name of parts) {
      if (node.kind !== 'dir') throw diskError('ENOTDIR', syscall, path, targetPath);
      const childIno = node.entries.get(name);
      if (childIno === undefined) throw diskError('ENOENT', syscall, path, targetPath);
      chain.push(childIno);
      node = this.node(childIno);
    }
    return chain;
  }

  private lookup(path: string, syscall: string): DiskNode {
    const chain = this.resolveChain(parsePath(path, syscall), syscall, path);
    return this.node(chain[chain.length - 1]!);
  }

  private parentDir(parts: readonly string[], syscall: string, path: string): DirNode {
    const chain = this.resolveChain(parts.slice(0, -1), syscall, path);
    const parent = this.node(chain[chain.length - 1]!);
    if (parent.kind !== 'dir') throw diskError('ENOTDIR', syscall, path);
    return parent;
  }

  private openForWrite(path: string, createMode: number): FileNode {
    const parts = parsePath(path, 'open');
    if (parts.length === 0) throw diskError('EISDIR', 'open', path);
    const mode = checkMode(createMode, 'open', path) & ~this.umask;
    const parent = this.parentDir(parts, 'open', path);
    const name = parts[parts.length - 1]!;
    const existingIno = parent.entries.get(name);
    if (existingIno !== undefined) {
      const existing = this.node(existingIno);
      if (existing.kind === 'dir') throw diskError('EISDIR', 'open', path);
      return existing;
    }
    const file: FileNode = { kind: 'file', data: Buffer.alloc(0), mode, mtimeMs: this.now() };
    this.createNode(parent, name, file, 'open', path);
    return file;
  }

  /**
   * Makes the file's data `preserved` followed by `added`, or by the prefix of
   * `added` that fits before throwing ENOSPC (as after a short write).
   */
  private storeData(file: FileNode, preserved: Buffer, added: Buffer, path: string): void {
    const previousLength = file.data.length;
    const availableBytes = Math.max(0, this.capacityBytes - (this.usedBytesNow - previousLength) - preserved.length);
    const fits = added.length <= availableBytes;
    const addedKept = fits ? added : added.subarray(0, availableBytes);
    // `added` is the disk's own copy; concat copies again so a partial write holds no spare memory.
    file.data = preserved.length === 0 && fits ? added : Buffer.concat([preserved, addedKept]);
    file.mtimeMs = this.now();
    this.usedBytesNow += file.data.length - previousLength;
    this.counts.bytesWritten += addedKept.length;
    if (!fits) throw diskError('ENOSPC', 'write', path);
  }

  private createNode(parent: DirNode, name: string, node: DiskNode, syscall: string, path: string): void {
    if (this.volatile.size >= this.inodesMax) throw diskError('ENOSPC', syscall, path, undefined, `${this.inodesMax} inodes`);
    const ino = this.inoNext++;
    this.volatile.set(ino, node);
    this.linkEntry(parent, name, ino);
  }

  private linkEntry(parent: DirNode, name: string, ino: number): void {
    assert(!parent.entries.has(name), `'${name}' is free before linking`);
    parent.entries.set(name, ino);
    parent.mtimeMs = this.now();
    this.links.set(ino, (this.links.get(ino) ?? 0) + 1);
  }

  private unlinkEntry(parent: DirNode, name: string): void {
    const ino = parent.entries.get(name);
    assert(ino !== undefined && ino !== rootIno, `'${name}' is linked before unlinking`);
    parent.entries.delete(name);
    parent.mtimeMs = this.now();
    const count = (this.links.get(ino) ?? 0) - 1;
    if (count > 0) {
      this.links.set(ino, count);
      return;
    }
    const node = this.node(ino);
    assert(node.kind === 'file' || node.entries.size === 0, 'a freed directory is empty');
    if (node.kind === 'file') this.usedBytesNow -= node.data.length;
    this.links.delete(ino);
    this.volatile.delete(ino);
  }

  private persistDir(ino: number, dir: DirNode): void {
    this.counts.fsyncDirs++;
    this.durable.set(ino, copyNode(dir));
    for (const childIno of dir.entries.values()) {
      if (this.durable.has(childIno)) continue;
      this.durable.set(childIno, placeholderOf(this.node(childIno)));
    }
    this.maybeCollect();
  }

  private maybeCollect(): void {
    if (this.durable.size <= 2 * this.durableLiveAfterCollect + collectSlack) return;
    this.durableLiveAfterCollect = collectDurable(this.durable, this.volatile);
  }
}

function toBuffer(data: Buffer | string): Buffer {
  // A copy: the caller may reuse its buffer, and stored data is never mutated.
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
}
