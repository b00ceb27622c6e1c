// ReadIndex (Raft thesis §6.4), kept by a leader: a read is served at the
// commit index the leader had when the read arrived, once (1) the leader has
// committed an entry of its own term, so that commit index is really the
// cluster's; (2) a majority has answered a heartbeat sent after the read
// arrived, so no newer leader had been elected by then; and (3) the state
// machine has applied up to that index.
//
// Rounds number the heartbeat broadcasts that carry reads: a follower's
// heartbeat response echoes the latest round it was sent, and acknowledges
// every round up to it.
import { majorityValue } from './quorum.js';
import type { ReadState } from './results.js';

interface PendingRead {
  readonly requestId: string;
  readonly index: number;
  readonly round: number;
}

export class ReadIndexTracker {
  /** Arrived before the leader committed an entry of its term. */
  private awaitingCommit: string[] = [];
  /** Waiting for a majority to echo their round, in round order. */
  private awaitingQuorum: PendingRead[] = [];
  /** Confirmed; waiting for apply to reach their index, in index order. */
  private awaitingApply: ReadState[] = [];
  private latestRound = 0;

  constructor(private readonly maxPending: number) {}

  get pendingCount(): number {
    return this.awaitingCommit.length + this.awaitingQuorum.length + this.awaitingApply.length;
  }

  get isFull(): boolean {
    return this.pendingCount >= this.maxPending;
  }

  /** The round the next heartbeat carries. */
  get currentRound(): number {
    return this.latestRound;
  }

  get hasUnconfirmed(): boolean {
    return this.awaitingQuorum.length > 0;
  }

  waitForCommit(requestId: string): void {
    this.awaitingCommit.push(requestId);
  }

  /** Takes the reads that waited for the leader's first commit in its term. */
  takeAwaitingCommit(): string[] {
    const ids = this.awaitingCommit;
    this.awaitingCommit = [];
    return ids;
  }

  /** Starts a round for these reads at `index`; the caller broadcasts a heartbeat carrying it. */
  startRound(requestIds: readonly string[], index: number): number {
    this.latestRound++;
    for (const requestId of requestIds) this.awaitingQuorum.push({ requestId, index, round: this.latestRound });
    return this.latestRound;
  }

  /**
   * Moves every read whose round a majority has reached to awaiting apply.
   * `peerRounds` are the rounds the followers echoed; the leader itself is at
   * its latest round.
   */
  confirm(peerRounds: readonly number[], memberCount: number): void {
    const confirmedRound = majorityValue([this.latestRound, ...peerRounds], memberCount);
    let confirmed = 0;
    while (confirmed < this.awaitingQuorum.length && this.awaitingQuorum[confirmed]!.round <= confirmedRound) confirmed++;
    if (confirmed === 0) return;
    for (const read of this.awaitingQuorum.splice(0, confirmed)) this.awaitingApply.push({ requestId: read.requestId, index: read.index });
  }

  /** The confirmed reads whose index the state machine has applied. */
  takeReady(appliedIndex: number): ReadState[] {
    let ready = 0;
    while (ready < this.awaitingApply.length && this.awaitingApply[ready]!.index <= appliedIndex) ready++;
    return ready === 0 ? [] : this.awaitingApply.splice(0, ready);
  }

  /**
   * Leadership lost: unconfirmed reads fail. Confirmed ones stay; they were
   * linearizable when confirmed and still are once applied.
   */
  abortUnconfirmed(): string[] {
    const aborted = [...this.awaitingCommit, ...this.awaitingQuorum.map((read) => read.requestId)];
    this.awaitingCommit = [];
    this.awaitingQuorum = [];
    this.latestRound = 0;
    return aborted;
  }
}
