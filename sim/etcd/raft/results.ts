// What the core hands back: a Ready after every input, and the immediate
// answers to propose and readIndex.
import type { RaftMessage } from './messages.js';
import type { HardState, NodeId, RaftEntry, RaftRole } from './types.js';

/** A linearizable read the driver may now serve from its state machine, which has applied `index`. */
export interface ReadState {
  readonly requestId: string;
  readonly index: number;
}

/** A read that will not be confirmed: the leader lost its leadership first. */
export interface AbortedRead {
  readonly requestId: string;
  readonly code: 'ERR_RAFT_NOT_LEADER';
  readonly leaderHint: NodeId | undefined;
}

export interface Leadership {
  readonly role: RaftRole;
  readonly leaderId: NodeId | undefined;
  readonly term: number;
}

/**
 * The effects of one input, which the driver carries out in this order
 * (etcd raft's Ready):
 *
 *  1. persist `hardState` (when present) and `entries` durably (fsync): the
 *     stored log loses every entry at index ≥ entries[0].index, then gains
 *     `entries` (RaftStorage.save);
 *  2. only then send `messages`: a vote, an acknowledgement or an append may
 *     promise what step 1 wrote;
 *  3. apply `committedEntries` to the state machine, in order (they may
 *     include entries from step 1);
 *  4. serve `readStates` (their index is already applied); fail
 *     `abortedReads`;
 *  5. call `advance(nowMs, ready)`: it records the entries of step 3 as
 *     applied, and returns the next Ready (committed entries past
 *     maxCommittedEntriesPerReady, reads that were waiting for apply).
 *
 * Readies must be carried out in the order they were returned. A driver with
 * an asynchronous disk may take further inputs while a Ready is being
 * persisted (the node's memory runs ahead of its disk), as long as it
 * completes the steps of each Ready in order. `advance` is needed only for
 * Readies with committed entries, and may be called for any.
 */
export interface RaftReady {
  readonly hardState: HardState | undefined;
  readonly entries: readonly RaftEntry[];
  readonly messages: readonly RaftMessage[];
  readonly committedEntries: readonly RaftEntry[];
  readonly readStates: readonly ReadState[];
  readonly abortedReads: readonly AbortedRead[];
  /** Present when the role or the known leader changed (the new values). */
  readonly leadership: Leadership | undefined;
}

export function isEmptyReady(ready: RaftReady): boolean {
  return (
    ready.hardState === undefined &&
    ready.entries.length === 0 &&
    ready.messages.length === 0 &&
    ready.committedEntries.length === 0 &&
    ready.readStates.length === 0 &&
    ready.abortedReads.length === 0 &&
    ready.leadership === undefined
  );
}

/** Why a proposal or read was refused at once. Not exceptions: a client must expect them. */
export type RaftRefusalCode =
  /** Only the leader accepts proposals and reads; `leaderHint` names the leader this node knows of. */
  | 'ERR_RAFT_NOT_LEADER'
  /** maxUncommittedEntries entries are appended but uncommitted: back off. */
  | 'ERR_RAFT_PROPOSALS_FULL'
  /** The log reached maxLogEntries (no snapshots in this model). */
  | 'ERR_RAFT_LOG_FULL'
  /** maxPendingReads reads are pending. */
  | 'ERR_RAFT_READS_FULL';

export type ProposeResult =
  /**
   * Appended at `index` in `term`. It is committed when an entry with this
   * index *and term* comes out in `committedEntries`; a different term there
   * means it was lost to a leader change (its outcome is then known: not
   * applied). If the node crashes or steps down first, the outcome is unknown.
   */
  | { readonly ok: true; readonly index: number; readonly term: number }
  | { readonly ok: false; readonly code: 'ERR_RAFT_NOT_LEADER'; readonly leaderHint: NodeId | undefined }
  | { readonly ok: false; readonly code: 'ERR_RAFT_PROPOSALS_FULL' | 'ERR_RAFT_LOG_FULL' };

export type ReadIndexResult =
  /** Pending: a later Ready carries its ReadState, or its AbortedRead. */
  | { readonly ok: true }
  | { readonly ok: false; readonly code: 'ERR_RAFT_NOT_LEADER'; readonly leaderHint: NodeId | undefined }
  | { readonly ok: false; readonly code: 'ERR_RAFT_READS_FULL' };
