// A member's Raft state on its (simulated) disk: one append-only write-ahead
// log of JSON lines, fsynced before a Ready's messages go out, replayed on
// restart. Like etcd's WAL, a record is either the hard state or an entry,
// and an entry at an index already on disk replaces the tail from there (a
// new leader overwrote an uncommitted suffix).
//
// A crash loses what was not fsynced. A last line cut short by the crash is
// the torn write of an unfinished save: it is dropped. A bad line anywhere
// else is corruption, and the member refuses to start on it.
import type { Files } from '../../../src/runtime/platform/types.js';
import { errorCode } from '../../../src/runtime/platform/errors.js';
import { isPlanted } from '../../../src/runtime/testing/planted-bugs.js';
import { applyStorageUpdate, type RaftPersistedState, type RaftStorage, type RaftStorageUpdate } from '../raft/storage.js';
import { INITIAL_HARD_STATE, type HardState, type RaftEntry } from '../raft/types.js';

export class WalError extends Error {
  readonly code = 'ERR_ETCD_WAL_CORRUPT';
}

type WalRecord =
  | { t: 'hs'; term: number; vote: string | null; commit: number }
  | { t: 'noop'; i: number; term: number }
  | { t: 'cmd'; i: number; term: number; s: string }
  | { t: 'cmd'; i: number; term: number; b64: string };

/** A log line longer than this is not one this code wrote. */
const RECORD_CHARS_MAX = 4 * 1024 * 1024;

export class WalRaftStorage implements RaftStorage {
  /** The log file's name (and its directories') survive a crash: fsyncDir'ed since this incarnation started. */
  private nameDurable = false;

  constructor(
    private readonly files: Files,
    private readonly dir: string,
  ) {}

  get path(): string {
    return `${this.dir}/wal.jsonl`;
  }

  async load(): Promise<RaftPersistedState> {
    let text: string;
    try {
      text = (await this.files.readFile(this.path)).toString('utf8');
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return { hardState: INITIAL_HARD_STATE, entries: [] };
      throw error;
    }
    // Every record ends in a newline: what follows the last one is either
    // nothing or a torn write, and is dropped alike.
    const complete = text.split('\n').slice(0, -1);
    // Found is not durable: a process that stopped between its first fsync and
    // its fsyncDir left the name in memory only. Make it durable before anything else relies on it.
    await this.makeNameDurable();
    let hardState: HardState = INITIAL_HARD_STATE;
    const log: RaftEntry[] = [];
    complete.forEach((line, index) => {
      const record = parseRecord(line, `${this.path}:${index + 1}`);
      if (record.t === 'hs') hardState = { term: record.term, vote: record.vote ?? undefined, commitIndex: record.commit };
      else applyStorageUpdate(log, { hardState: undefined, entries: [entryOf(record)] }, this.path);
    });
    return { hardState, entries: log };
  }

  async save(update: RaftStorageUpdate): Promise<void> {
    const records: WalRecord[] = [];
    if (update.hardState !== undefined) {
      const { term, vote, commitIndex } = update.hardState;
      records.push({ t: 'hs', term, vote: vote ?? null, commit: commitIndex });
    }
    for (const entry of update.entries) records.push(recordOf(entry));
    if (records.length === 0) return;
    if (!this.nameDurable) await this.files.mkdir(this.dir, { recursive: true });
    await this.files.appendFile(this.path, records.map((record) => JSON.stringify(record) + '\n').join(''));
    if (!isPlanted('etcd-ack-before-fsync')) await this.files.fsync(this.path);
    await this.makeNameDurable();
  }

  /** A new file is lost in a crash until its name, and every new directory above it, is in a directory that was fsynced (strict POSIX). */
  private async makeNameDurable(): Promise<void> {
    if (this.nameDurable) return;
    for (const dir of ancestorsOf(this.path)) await this.files.fsyncDir(dir);
    this.nameDurable = true;
  }
}

/** '/a/b/c.log' → ['/', '/a', '/a/b']: the directories whose entries name the path. */
function ancestorsOf(path: string): string[] {
  const parts = path.split('/').filter((part) => part !== '');
  return parts.slice(0, -1).reduce<string[]>((dirs, part) => [...dirs, `${dirs.length === 1 ? '' : dirs.at(-1)}/${part}`], ['/']);
}

function recordOf(entry: RaftEntry): WalRecord {
  if (entry.kind === 'noop') return { t: 'noop', i: entry.index, term: entry.term };
  return typeof entry.data === 'string'
    ? { t: 'cmd', i: entry.index, term: entry.term, s: entry.data }
    : { t: 'cmd', i: entry.index, term: entry.term, b64: Buffer.from(entry.data).toString('base64') };
}

function entryOf(record: Exclude<WalRecord, { t: 'hs' }>): RaftEntry {
  if (record.t === 'noop') return { index: record.i, term: record.term, kind: 'noop' };
  const data = 's' in record ? record.s : new Uint8Array(Buffer.from(record.b64, 'base64'));
  return { index: record.i, term: record.term, kind: 'command', data };
}

function parseRecord(line: string, where: string): WalRecord {
  if (line.length > RECORD_CHARS_MAX) throw new WalError(`${where}: record of ${line.length} characters`);
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new WalError(`${where}: not a JSON record`);
  }
  const record = value as Partial<Record<string, unknown>>;
  const count = (field: string): number => {
    const number = record[field];
    if (typeof number !== 'number' || !Number.isSafeInteger(number) || number < 0) throw new WalError(`${where}: "${field}" must be a non-negative integer`);
    return number;
  };
  switch (record['t']) {
    case 'hs': {
      const vote = record['vote'];
      if (vote !== null && typeof vote !== 'string') throw new WalError(`${where}: "vote" must be a member id or null`);
      return { t: 'hs', term: count('term'), vote, commit: count('commit') };
    }
    case 'noop':
      return { t: 'noop', i: count('i'), term: count('term') };
    case 'cmd': {
      if (typeof record['s'] === 'string') return { t: 'cmd', i: count('i'), term: count('term'), s: record['s'] };
      if (typeof record['b64'] === 'string') return { t: 'cmd', i: count('i'), term: count('term'), b64: record['b64'] };
      throw new WalError(`${where}: a command needs "s" or "b64"`);
    }
    default:
      throw new WalError(`${where}: unknown record type ${JSON.stringify(record['t'])}`);
  }
}
