// A leader's view of one follower's log (etcd's tracker.Progress): how far it
// is known to match, what to send next, and the flow control that bounds
// what is in flight to it.
//
// `probe`: the leader does not know where the follower's log diverges; it
// sends one AppendEntries and waits for the answer (or a heartbeat response)
// before sending another. `replicate`: the follower is known to match up to
// `matchIndex`, so the leader streams entries optimistically, up to
// maxInflightAppends unacknowledged messages.

export type ProgressState = 'probe' | 'replicate';

export class PeerProgress {
  matchIndex = 0;
  nextIndex: number;
  state: ProgressState = 'probe';
  /** Probe: an AppendEntries is out and unanswered. */
  probeSent = false;
  /** Heard from in the current check-quorum period. */
  recentActive = false;
  /** The latest ReadIndex round this follower has echoed in the current term. */
  readRoundAcked = 0;
  /** Replicate: the last index of each AppendEntries in flight, oldest first. */
  private readonly inflight: number[] = [];

  constructor(
    nextIndex: number,
    private readonly maxInflight: number,
  ) {
    this.nextIndex = nextIndex;
  }

  get inflightCount(): number {
    return this.inflight.length;
  }

  isPaused(): boolean {
    return this.state === 'probe' ? this.probeSent : this.inflight.length >= this.maxInflight;
  }

  /** An AppendEntries went out whose last entry is `lastIndex` (`count` entries). */
  onSent(lastIndex: number, count: number): void {
    if (this.state === 'probe') {
      this.probeSent = true;
      return;
    }
    if (count === 0) return;
    this.inflight.push(lastIndex);
    this.nextIndex = lastIndex + 1;
  }

  /** Returns false for a stale acknowledgement that tells nothing new. */
  onAccepted(matchIndex: number): boolean {
    this.freeUpTo(matchIndex);
    if (matchIndex <= this.matchIndex) return false;
    this.matchIndex = matchIndex;
    this.nextIndex = Math.max(this.nextIndex, matchIndex + 1);
    if (this.state === 'probe') this.becomeReplicate();
    return true;
  }

  /**
   * A rejection of the consistency check at `rejectedIndex`; `nextIndex` is
   * the leader's guess from the hint. Returns false for a stale rejection: one
   * answering a message sent before the leader changed course.
   */
  onRejected(rejectedIndex: number, nextIndex: number): boolean {
    if (this.state === 'replicate') {
      if (rejectedIndex <= this.matchIndex) return false;
    } else if (rejectedIndex !== this.nextIndex - 1) {
      return false;
    }
    // Strictly below the rejected index, never at or below what is known to match.
    this.nextIndex = Math.max(this.matchIndex + 1, Math.min(nextIndex, rejectedIndex));
    this.becomeProbe();
    return true;
  }

  onHeartbeatResponse(): void {
    this.recentActive = true;
    // A lost AppendEntries would otherwise stall the follower for good: in
    // probe the answer never comes; in replicate the window stays full.
    this.probeSent = false;
    if (this.state === 'replicate' && this.inflight.length >= this.maxInflight) this.inflight.shift();
  }

  private becomeReplicate(): void {
    this.state = 'replicate';
    this.probeSent = false;
    this.nextIndex = this.matchIndex + 1;
    this.inflight.length = 0;
  }

  private becomeProbe(): void {
    this.state = 'probe';
    this.probeSent = false;
    this.inflight.length = 0;
  }

  private freeUpTo(index: number): void {
    while (this.inflight.length > 0 && this.inflight[0]! <= index) this.inflight.shift();
  }
}
