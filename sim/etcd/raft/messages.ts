// The messages Raft members exchange. Plain data: the driver carries them
// over whatever transport it has (the simulated network's peer port 2380)
// and hands them back to `RaftNode.receive`.
import type { NodeId, RaftEntry } from './types.js';

interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  /** The sender's term, except in a granted pre-vote (see below). */
  readonly term: number;
}

/** Asks for a vote. A pre-vote carries the term the sender would campaign in (its term + 1). */
export interface VoteRequest extends Envelope {
  readonly type: 'pre-vote-request' | 'vote-request';
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
}

/** A granted pre-vote echoes the request's term; a refusal carries the voter's own term. */
export interface VoteResponse extends Envelope {
  readonly type: 'pre-vote-response' | 'vote-response';
  readonly granted: boolean;
}

/** AppendEntries (Raft §5.3). `entries` may be empty: then it only carries the commit index. */
export interface AppendRequest extends Envelope {
  readonly type: 'append';
  readonly prevLogIndex: number;
  readonly prevLogTerm: number;
  readonly entries: readonly RaftEntry[];
  readonly commitIndex: number;
}

/** The follower's log matches the leader's up to `matchIndex`. */
export interface AppendAccepted extends Envelope {
  readonly type: 'append-accepted';
  readonly matchIndex: number;
}

/**
 * The consistency check at `rejectedIndex` failed. The hint lets the leader
 * skip a whole term at a time instead of one entry per round trip: the
 * follower's log is shorter (`hintTerm` undefined, `hintIndex` = its last
 * index + 1), or holds `hintTerm` at `rejectedIndex`, a term that starts at
 * `hintIndex` in the follower's log.
 */
export interface AppendRejected extends Envelope {
  readonly type: 'append-rejected';
  readonly rejectedIndex: number;
  readonly hintIndex: number;
  readonly hintTerm: number | undefined;
}

/**
 * Keeps followers from campaigning and confirms leadership for ReadIndex.
 * `commitIndex` is capped at what the follower is known to hold, so it never
 * commits an entry it has not got. `readRound` names the latest ReadIndex
 * round the leader had started when it sent this.
 */
export interface Heartbeat extends Envelope {
  readonly type: 'heartbeat';
  readonly commitIndex: number;
  readonly readRound: number;
}

/**
 * Echoes `readRound`. Also the reply to any append or heartbeat from a stale
 * term, so that a deposed leader learns the newer term (readRound 0 then).
 */
export interface HeartbeatResponse extends Envelope {
  readonly type: 'heartbeat-response';
  readonly readRound: number;
}

export type RaftMessage = VoteRequest | VoteResponse | AppendRequest | AppendAccepted | AppendRejected | Heartbeat | HeartbeatResponse;

export type RaftMessageType = RaftMessage['type'];

export function describeMessage(message: RaftMessage): string {
  const head = `${message.type} ${message.from}→${message.to} t${message.term}`;
  switch (message.type) {
    case 'pre-vote-request':
    case 'vote-request':
      return `${head} last=${message.lastLogIndex}@${message.lastLogTerm}`;
    case 'pre-vote-response':
    case 'vote-response':
      return `${head} ${message.granted ? 'granted' : 'refused'}`;
    case 'append':
      return `${head} prev=${message.prevLogIndex}@${message.prevLogTerm} n=${message.entries.length} commit=${message.commitIndex}`;
    case 'append-accepted':
      return `${head} match=${message.matchIndex}`;
    case 'append-rejected':
      return `${head} rejected=${message.rejectedIndex} hint=${message.hintIndex}@${message.hintTerm ?? '-'}`;
    case 'heartbeat':
      return `${head} commit=${message.commitIndex} round=${message.readRound}`;
    case 'heartbeat-response':
      return `${head} round=${message.readRound}`;
  }
}
