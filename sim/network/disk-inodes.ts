// Inode tables of the simulated disk (disk.ts): the node types, recovery
// after a crash, the walk behind snapshots and digests, and the collection of
// durable records no path can ever reach again. Pure functions over tables.
import { createHash } from 'node:crypto';
import { compareNames } from './disk-path.js';

export interface FileNode {
  kind: 'file';
  /** Never mutated in place: writes install a new Buffer, so tables may share one. */
  data: Buffer;
  mode: number;
  mtimeMs: number;
}

export interface DirNode {
  kind: 'dir';
  /** Name → inode id. */
  entries: Map<string, number>;
  mode: number;
  mtimeMs: number;
}

export type DiskNode = FileNode | DirNode;

/** Inode id → node. The volatile and the durable state are one table each. */
export type InodeTable = Map<number, DiskNode>;

export const rootIno = 1;

/** What a snapshot shows for one path. */
export type DiskEntry =
  | { readonly kind: 'file'; readonly data: Buffer; readonly mode: number }
  | { readonly kind: 'dir'; readonly mode: number };

export function copyNode(node: DiskNode): DiskNode {
  return node.kind === 'file'
    ? { kind: 'file', data: node.data, mode: node.mode, mtimeMs: node.mtimeMs }
    : { kind: 'dir', entries: new Map(node.entries), mode: node.mode, mtimeMs: node.mtimeMs };
}

export function copyTable(table: InodeTable): InodeTable {
  const copy: InodeTable = new Map();
  for (const [ino, node] of table) copy.set(ino, copyNode(node));
  return copy;
}

/**
 * The durable record of a child whose entry became durable before its
 * content did: an empty file (what ext4 shows after a crash) or an empty
 * directory, with the mode it has now.
 */
export function placeholderOf(node: DiskNode): DiskNode {
  return node.kind === 'file'
    ? { kind: 'file', data: Buffer.alloc(0), mode: node.mode, mtimeMs: node.mtimeMs }
    : { kind: 'dir', entries: new Map(), mode: node.mode, mtimeMs: node.mtimeMs };
}

/** Names per inode (the root pinned at 1) and the bytes of file data, recounted from the entries. */
export function countLinks(table: InodeTable): { links: Map<number, number>; usedBytes: number } {
  const links = new Map<number, number>([[rootIno, 1]]);
  let usedBytes = 0;
  for (const node of table.values()) {
    if (node.kind === 'file') usedBytes += node.data.length;
    else for (const childIno of node.entries.values()) links.set(childIno, (links.get(childIno) ?? 0) + 1);
  }
  return { links, usedBytes };
}

export function sortedEntries(dir: DirNode): [string, number][] {
  return [...dir.entries].sort(([a], [b]) => compareNames(a, b));
}

/**
 * What a restart finds on the disk: the durable records reachable from the
 * root. Durable directories are snapshots taken at different times, so after
 * a directory moved between two directories and only one was fsyncDir'ed, it
 * can appear under both, or even inside itself. As fsck would, a directory is
 * kept at its first entry in breadth-first order (entries of a directory in
 * sorted name order) and its other entries are dropped; files may keep
 * several names (hard links). Unreachable records are gone.
 */
export function recoverTable(durable: InodeTable): InodeTable {
  const recovered: InodeTable = new Map();
  const root = durable.get(rootIno);
  assert(root?.kind === 'dir', 'durable root is a directory');
  recovered.set(rootIno, { kind: 'dir', entries: new Map(), mode: root.mode, mtimeMs: root.mtimeMs });
  const queue: number[] = [rootIno];
  for (let head = 0; head < queue.length; head++) {
    const dirIno = queue[head]!;
    const source = durable.get(dirIno);
    const target = recovered.get(dirIno);
    assert(source?.kind === 'dir' && target?.kind === 'dir', 'queued inodes are directories');
    for (const [name, childIno] of sortedEntries(source)) {
      const child = durable.get(childIno);
      assert(child !== undefined, `durable entry '${name}' points to a durable record`);
      if (child.kind === 'dir') {
        if (recovered.has(childIno)) continue;
        recovered.set(childIno, { kind: 'dir', entries: new Map(), mode: child.mode, mtimeMs: child.mtimeMs });
        queue.push(childIno);
      } else if (!recovered.has(childIno)) {
        recovered.set(childIno, copyNode(child));
      }
      target.entries.set(name, childIno);
    }
  }
  return recovered;
}

/** Every path of a tree with its node, sorted by path. A directory is walked once. */
export function walkTable(table: InodeTable): [string, DiskNode][] {
  const out: [string, DiskNode][] = [];
  const seenDirs = new Set<number>();
  const stack: [string, number][] = [['/', rootIno]];
  while (stack.length > 0) {
    const [path, ino] = stack.pop()!;
    const node = table.get(ino);
    assert(node !== undefined, `'${path}' points to an inode`);
    out.push([path, node]);
    if (node.kind !== 'dir') continue;
    assert(!seenDirs.has(ino), `directory '${path}' is reachable once`);
    seenDirs.add(ino);
    const prefix = path === '/' ? '/' : path + '/';
    for (const [name, childIno] of node.entries) stack.push([prefix + name, childIno]);
  }
  return out.sort(([a], [b]) => compareNames(a, b));
}

export function snapshotTable(table: InodeTable): Map<string, DiskEntry> {
  const snapshot = new Map<string, DiskEntry>();
  for (const [path, node] of walkTable(table)) {
    snapshot.set(path, node.kind === 'file'
      ? { kind: 'file', data: Buffer.from(node.data), mode: node.mode }
      : { kind: 'dir', mode: node.mode });
  }
  return snapshot;
}

/** sha256 over the sorted paths with kind, mode and content; mtimes are left out. */
export function digestTable(table: InodeTable): string {
  const hash = createHash('sha256');
  for (const [path, node] of walkTable(table)) {
    const size = node.kind === 'file' ? node.data.length : 0;
    hash.update(`${node.kind}\0${path}\0${node.mode.toString(8)}\0${size}\0`);
    if (node.kind === 'file') hash.update(node.data);
  }
  return hash.digest('hex');
}

/**
 * Drops durable records that no future fsyncDir or crash can reach: those not
 * reachable from the durable root nor from any inode that is still live in
 * the volatile state (a live inode may yet be linked durably). Returns how
 * many records are left.
 */
export function collectDurable(durable: InodeTable, volatile: InodeTable): number {
  const marked = new Set<number>();
  const stack: number[] = [rootIno];
  for (const ino of volatile.keys()) if (durable.has(ino)) stack.push(ino);
  while (stack.length > 0) {
    const ino = stack.pop()!;
    if (marked.has(ino)) continue;
    marked.add(ino);
    const node = durable.get(ino);
    if (node?.kind === 'dir') for (const childIno of node.entries.values()) stack.push(childIno);
  }
  for (const ino of [...durable.keys()]) if (!marked.has(ino)) durable.delete(ino);
  return durable.size;
}

export function assert(condition: boolean, invariant: string): asserts condition {
  if (!condition) throw new Error(`SimDisk invariant violated: ${invariant}`);
}
