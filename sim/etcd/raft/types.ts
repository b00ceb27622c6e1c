// The vocabulary of the Raft core: member ids, log entries, the state that
// must survive a crash, and the roles a node moves between.

/** A member's name, e.g. 'm1'. Membership is static: fixed at construction. */
export type NodeId = string;

/** What a client proposes; the core never looks inside it. */
export type RaftData = Uint8Array | string;

/**
 * One log entry. A leader appends a `noop` when it is elected, so that it can
 * commit something of its own term at once (Raft §5.4.2, §8): until it does,
 * it cannot know which earlier entries are committed, nor answer a ReadIndex.
 */
export type RaftEntry =
  | { readonly index: number; readonly term: number; readonly kind: 'noop' }
  | { readonly index: number; readonly term: number; readonly kind: 'command'; readonly data: RaftData };

/**
 * What a node must have on disk before it sends anything that depends on it:
 * the term it is in and its vote in that term (so that it never votes twice in
 * one term, even across a crash), and the commit index it knew (not needed for
 * safety, but it lets a restarted member re-apply its committed prefix at once,
 * as etcd's HardState does).
 */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId | undefined;
  readonly commitIndex: number;
}

export const INITIAL_HARD_STATE: HardState = Object.freeze({ term: 0, vote: undefined, commitIndex: 0 });

/**
 * `pre-candidate` runs the pre-vote round (Raft thesis §9.6): it asks whether
 * it could win before it bumps its term, so a member that was cut off cannot
 * force a healthy cluster into a new term when it comes back.
 */
export type RaftRole = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

/** Where election timeouts come from; sim/network/rng.ts's Rng satisfies it. */
export interface RaftRandom {
  /** A uniform integer in [0, maxExclusive). */
  int(maxExclusive: number): number;
}

export function sameEntry(a: RaftEntry, b: RaftEntry): boolean {
  if (a.index !== b.index || a.term !== b.term || a.kind !== b.kind) return false;
  if (a.kind === 'noop' || b.kind === 'noop') return true;
  return sameData(a.data, b.data);
}

export function sameData(a: RaftData, b: RaftData): boolean {
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function describeEntry(entry: RaftEntry | undefined): string {
  if (entry === undefined) return 'none';
  if (entry.kind === 'noop') return `${entry.index}@${entry.term}:noop`;
  const data = typeof entry.data === 'string' ? JSON.stringify(entry.data) : `<${entry.data.length} bytes>`;
  return `${entry.index}@${entry.term}:${data}`;
}
