// Where a member keeps its Raft state across crashes. The core never calls
// it (it is sans-IO); the driver saves each Ready's hard state and entries
// through it before sending that Ready's messages, and loads it on restart
// for RaftNode.restore. The simulated etcd member implements it on the
// simulated disk, where a crash loses what was not fsynced.
import { RaftInvariantError } from './errors.js';
import { INITIAL_HARD_STATE, describeEntry, type HardState, type RaftEntry } from './types.js';

export interface RaftPersistedState {
  readonly hardState: HardState;
  /** The whole log, from index 1 (no snapshots). */
  readonly entries: readonly RaftEntry[];
}

/** What one Ready asks to persist. */
export interface RaftStorageUpdate {
  readonly hardState: HardState | undefined;
  /** Replace the stored log from entries[0].index on. */
  readonly entries: readonly RaftEntry[];
}

export interface RaftStorage {
  /** What was durably saved; INITIAL_HARD_STATE and no entries on a fresh disk. */
  load(): Promise<RaftPersistedState>;
  /** Resolves once the update is durable (fsynced): only then may the Ready's messages go out. */
  save(update: RaftStorageUpdate): Promise<void>;
}

/**
 * Applies an update to a stored log in place: the semantics every
 * RaftStorage shares. Throws if the update would leave a gap.
 */
export function applyStorageUpdate(log: RaftEntry[], update: RaftStorageUpdate, owner = 'storage'): void {
  const first = update.entries[0];
  if (first === undefined) return;
  if (first.index < 1 || first.index > log.length + 1) {
    throw new RaftInvariantError(owner, `stored log ends at ${log.length}, update starts at ${describeEntry(first)}`);
  }
  log.length = first.index - 1;
  for (const entry of update.entries) {
    if (entry.index !== log.length + 1) throw new RaftInvariantError(owner, `update is not contiguous at ${describeEntry(entry)}`);
    log.push(entry);
  }
}

/** A RaftStorage in memory, where everything saved is durable at once: for tests and single-process tools. */
export class MemoryRaftStorage implements RaftStorage {
  private hardState: HardState = INITIAL_HARD_STATE;
  private readonly log: RaftEntry[] = [];

  load(): Promise<RaftPersistedState> {
    return Promise.resolve(this.snapshot());
  }

  save(update: RaftStorageUpdate): Promise<void> {
    this.saveNow(update);
    return Promise.resolve();
  }

  saveNow(update: RaftStorageUpdate): void {
    applyStorageUpdate(this.log, update);
    if (update.hardState !== undefined) this.hardState = update.hardState;
  }

  snapshot(): RaftPersistedState {
    return { hardState: this.hardState, entries: [...this.log] };
  }
}
