// One Raft member as a sans-IO state machine (Raft, Ongaro's thesis, with
// etcd raft's choices where the paper leaves room): pre-vote, check-quorum
// with leader leases, fast conflict backtracking, flow-controlled
// replication, ReadIndex. It owns no socket, disk or clock: every input
// carries the time, and every input returns a RaftReady, the effects the
// driver must carry out, persistence first (see results.ts). Between inputs
// the driver calls `tick` at `nextDeadlineMs()`.
//
// Safety rules are asserted as the code runs (RaftInvariantError): a broken
// rule is a bug, and the property tests rely on it being loud.
import { resolveRaftConfig, type RaftConfig, type RaftConfigInput } from './config.js';
import { RaftInvariantError, RaftUsageError } from './errors.js';
import { RaftLog } from './log.js';
import type { AppendAccepted, AppendRejected, AppendRequest, Heartbeat, HeartbeatResponse, RaftMessage, VoteRequest, VoteResponse } from './messages.js';
import { PeerProgress } from './progress.js';
import { majorityValue, quorumSize, voteOutcome } from './quorum.js';
import { ReadIndexTracker } from './read-index.js';
import type { AbortedRead, Leadership, ProposeResult, RaftReady, ReadIndexResult, ReadState } from './results.js';
import { INITIAL_HARD_STATE, describeEntry, type HardState, type NodeId, type RaftData, type RaftEntry, type RaftRandom, type RaftRole } from './types.js';

/**
 * No input sends more than this many messages to one peer: a reply, an
 * append, a broadcast append and a heartbeat round. A bound on the outbox,
 * checked, so that a bug that loops on sending shows up as one.
 */
const MESSAGES_PER_PEER_PER_INPUT_MAX = 4;

export interface RaftNodeOptions {
  config: RaftConfigInput;
  random: RaftRandom;
  /** The time the node starts at; its first election timeout runs from here. */
  nowMs: number;
}

export class RaftNode {
  readonly id: NodeId;
  readonly config: RaftConfig;
  private readonly peers: readonly NodeId[];
  private readonly random: RaftRandom;
  private readonly log: RaftLog;

  private currentTerm = 0;
  private votedFor: NodeId | undefined;
  private currentRole: RaftRole = 'follower';
  private currentLeader: NodeId | undefined;

  private lastNowMs: number;
  private hadInput = false;
  private electionDeadlineMs: number;
  private heartbeatDeadlineMs = 0;
  private checkQuorumDeadlineMs = 0;
  /** When this node last heard from the leader of its term; its lease against (pre-)votes runs from here. */
  private leaderContactAtMs: number | undefined;

  /** Pre-candidate and candidate: who granted (true) or refused (false) in this round. */
  private votes = new Map<NodeId, boolean>();
  /** Leader only. */
  private progress = new Map<NodeId, PeerProgress>();
  /** Leader: whether an entry of its own term has committed yet (ReadIndex waits for it). */
  private committedInTerm = false;
  private readonly reads: ReadIndexTracker;

  // What the next Ready carries.
  private outbox: RaftMessage[] = [];
  private abortedReads: AbortedRead[] = [];
  private persistedHardState: HardState = INITIAL_HARD_STATE;
  private reportedLeadership: Leadership;
  /** The last committed index handed out in a Ready. */
  private handedOutIndex = 0;
  /** The last index the driver says it applied (through `advance`). */
  private appliedIdx = 0;

  constructor(options: RaftNodeOptions) {
    this.config = resolveRaftConfig(options.config);
    this.id = this.config.id;
    this.peers = this.config.members.filter((member) => member !== this.id);
    this.random = options.random;
    this.log = new RaftLog(this.id, this.config.maxLogEntries);
    this.reads = new ReadIndexTracker(this.config.maxPendingReads);
    if (!Number.isFinite(options.nowMs)) throw new RaftUsageError(this.id, `start time must be finite, got ${options.nowMs}`);
    this.lastNowMs = options.nowMs;
    this.electionDeadlineMs = this.randomElectionDeadline(options.nowMs);
    this.reportedLeadership = this.leadership();
  }

  // ------------------------------------------------------------------ inspection

  get role(): RaftRole {
    return this.currentRole;
  }

  get term(): number {
    return this.currentTerm;
  }

  get vote(): NodeId | undefined {
    return this.votedFor;
  }

  /** The leader this node knows of in its term; itself when leader. */
  get leaderId(): NodeId | undefined {
    return this.currentLeader;
  }

  get commitIndex(): number {
    return this.log.commitIndex;
  }

  get appliedIndex(): number {
    return this.appliedIdx;
  }

  get lastIndex(): number {
    return this.log.lastIndex;
  }

  termAt(index: number): number | undefined {
    return this.log.termAt(index);
  }

  entryAt(index: number): RaftEntry | undefined {
    return this.log.entryAt(index);
  }

  /** The whole log, read-only (for checkers and tests). */
  entries(): readonly RaftEntry[] {
    return this.log.view();
  }

  /** A leader's view of a follower's replication, for tests and traces. */
  peerProgress(peer: NodeId): { matchIndex: number; nextIndex: number; state: string; inflight: number } | undefined {
    const progress = this.progress.get(peer);
    return progress && { matchIndex: progress.matchIndex, nextIndex: progress.nextIndex, state: progress.state, inflight: progress.inflightCount };
  }

  /** When `tick` next has work to do. */
  nextDeadlineMs(): number {
    return this.currentRole === 'leader' ? Math.min(this.heartbeatDeadlineMs, this.checkQuorumDeadlineMs) : this.electionDeadlineMs;
  }

  // ------------------------------------------------------------------ inputs

  /**
   * A restarted member's persisted state, before any other input. The
   * returned Ready re-delivers the committed prefix for the state machine to
   * rebuild from (no snapshots): applied restarts at 0.
   */
  restore(hardState: HardState, entries: readonly RaftEntry[]): RaftReady {
    if (this.hadInput) throw new RaftUsageError(this.id, 'restore after other inputs');
    this.hadInput = true;
    const { term, vote, commitIndex } = hardState;
    this.check(Number.isSafeInteger(term) && term >= 0, `restored term ${term}`);
    this.check(vote === undefined || this.config.members.includes(vote), `restored vote for ${vote}, not a member`);
    this.check(vote === undefined || term > 0, `restored a vote in term 0`);
    this.log.restore(entries, commitIndex);
    this.check(this.log.lastTerm <= term, `restored log ends in term ${this.log.lastTerm}, after the restored term ${term}`);
    this.currentTerm = term;
    this.votedFor = vote;
    this.persistedHardState = this.hardState();
    this.reportedLeadership = this.leadership();
    return this.collectReady();
  }

  /** Fires what is due at `nowMs`: an election, a heartbeat, the check-quorum. */
  tick(nowMs: number): RaftReady {
    this.enter(nowMs, 'tick');
    if (this.currentRole === 'leader') {
      if (nowMs >= this.checkQuorumDeadlineMs) {
        this.checkQuorumDeadlineMs = nowMs + this.config.electionTimeoutMs;
        this.checkQuorum(nowMs);
      }
      if (this.currentRole === 'leader' && nowMs >= this.heartbeatDeadlineMs) {
        this.heartbeatDeadlineMs = nowMs + this.config.heartbeatIntervalMs;
        this.broadcastHeartbeat();
      }
    } else if (nowMs >= this.electionDeadlineMs) {
      this.campaign(nowMs);
    }
    return this.collectReady();
  }

  receive(nowMs: number, message: RaftMessage): RaftReady {
    this.enter(nowMs, 'receive');
    if (message.to === this.id && this.peers.includes(message.from)) this.step(nowMs, message);
    return this.collectReady();
  }

  /** Appends `data` if leader. See ProposeResult for how the client learns the outcome. */
  propose(nowMs: number, data: RaftData): { result: ProposeResult; ready: RaftReady } {
    this.enter(nowMs, 'propose');
    const result = this.appendProposal(data);
    return { result, ready: this.collectReady() };
  }

  /** A linearizable read: see read-index.ts. `requestId` comes back in a ReadState or an AbortedRead. */
  readIndex(nowMs: number, requestId: string): { result: ReadIndexResult; ready: RaftReady } {
    this.enter(nowMs, 'readIndex');
    const result = this.requestRead(requestId);
    return { result, ready: this.collectReady() };
  }

  /**
   * The driver carried out `ready` (results.ts): its entries and hard state
   * are durable, its messages sent, its committed entries applied. Readies
   * with committed entries must be advanced in the order they came.
   */
  advance(nowMs: number, ready: RaftReady): RaftReady {
    this.enter(nowMs, 'advance');
    const first = ready.committedEntries[0];
    const last = ready.committedEntries.at(-1);
    if (first !== undefined && last !== undefined) {
      if (first.index !== this.appliedIdx + 1) {
        throw new RaftUsageError(this.id, `advance applies from index ${first.index}, but ${this.appliedIdx} is the last applied: Readies advanced out of order or twice`);
      }
      this.check(last.index <= this.handedOutIndex, `advance applies up to ${last.index}, past what was handed out (${this.handedOutIndex})`);
      this.appliedIdx = last.index;
    }
    return this.collectReady();
  }

  // ------------------------------------------------------------------ message dispatch

  private step(nowMs: number, message: RaftMessage): void {
    if (message.term > this.currentTerm) {
      if (this.ignoresHigherTerm(nowMs, message)) return;
    } else if (message.term < this.currentTerm) {
      this.answerStaleTerm(message);
      return;
    }
    switch (message.type) {
      case 'pre-vote-request':
      case 'vote-request':
        return this.handleVoteRequest(nowMs, message);
      case 'pre-vote-response':
        if (this.currentRole === 'pre-candidate') this.handlePreVoteResponse(nowMs, message);
        return;
      case 'vote-response':
        if (this.currentRole === 'candidate' && message.term === this.currentTerm) this.handleVoteResponse(nowMs, message);
        return;
      case 'append':
      case 'heartbeat':
        return this.handleFromLeader(nowMs, message);
      case 'append-accepted':
      case 'append-rejected':
      case 'heartbeat-response':
        if (this.currentRole === 'leader' && message.term === this.currentTerm) this.handleFromFollower(message);
        return;
    }
  }

  /**
   * A message from a higher term. Returns true when it is to be ignored;
   * otherwise the node has moved to that term if the message requires it.
   */
  private ignoresHigherTerm(nowMs: number, message: RaftMessage): boolean {
    const isVoteRequest = message.type === 'pre-vote-request' || message.type === 'vote-request';
    // The leader lease: a member that hears from a healthy leader does not
    // let a returning member (whose term ran ahead, or who asks for a
    // pre-vote) start a new term.
    if (isVoteRequest && this.inLease(nowMs)) return true;
    // A pre-vote does not change anybody's term, and a granted pre-vote
    // carries the term the pre-candidate would campaign in.
    if (message.type === 'pre-vote-request') return false;
    if (message.type === 'pre-vote-response' && message.granted) return false;
    const fromLeader = message.type === 'append' || message.type === 'heartbeat';
    this.becomeFollower(nowMs, message.term, fromLeader ? message.from : undefined);
    return false;
  }

  private answerStaleTerm(message: RaftMessage): void {
    if ((message.type === 'append' || message.type === 'heartbeat') && (this.config.checkQuorum || this.config.preVote)) {
      // A leader of an old term that cannot be deposed by votes (pre-vote and
      // leases stop them) must learn the newer term some other way.
      this.send({ type: 'heartbeat-response', from: this.id, to: message.from, term: this.currentTerm, readRound: 0 });
    } else if (message.type === 'pre-vote-request') {
      this.send({ type: 'pre-vote-response', from: this.id, to: message.from, term: this.currentTerm, granted: false });
    }
  }

  // ------------------------------------------------------------------ elections

  private campaign(nowMs: number): void {
    if (this.config.preVote) this.becomePreCandidate(nowMs);
    else this.becomeCandidate(nowMs);
  }

  private becomePreCandidate(nowMs: number): void {
    // Neither the term nor the vote changes: nothing to persist, nothing disturbed.
    this.currentRole = 'pre-candidate';
    this.currentLeader = undefined;
    this.leaderContactAtMs = undefined;
    this.electionDeadlineMs = this.randomElectionDeadline(nowMs);
    this.startVoteRound(nowMs, 'pre-vote-request', this.currentTerm + 1);
  }

  private becomeCandidate(nowMs: number): void {
    this.check(this.currentRole !== 'leader', 'a leader campaigns');
    this.setTerm(this.currentTerm + 1);
    this.setVote(this.id);
    this.currentRole = 'candidate';
    this.currentLeader = undefined;
    this.leaderContactAtMs = undefined;
    this.electionDeadlineMs = this.randomElectionDeadline(nowMs);
    this.startVoteRound(nowMs, 'vote-request', this.currentTerm);
  }

  private startVoteRound(nowMs: number, type: VoteRequest['type'], term: number): void {
    this.votes = new Map([[this.id, true]]);
    for (const peer of this.peers) {
      this.send({ type, from: this.id, to: peer, term, lastLogIndex: this.log.lastIndex, lastLogTerm: this.log.lastTerm });
    }
    // A cluster of one wins at once.
    if (voteOutcome(this.votes, this.config.members.length) === 'won') {
      if (type === 'pre-vote-request') this.becomeCandidate(nowMs);
      else this.becomeLeader(nowMs);
    }
  }

  private handleVoteRequest(nowMs: number, request: VoteRequest): void {
    const preVote = request.type === 'pre-vote-request';
    const canVote =
      this.votedFor === request.from ||
      (this.votedFor === undefined && this.currentLeader === undefined) ||
      (preVote && request.term > this.currentTerm);
    const granted = canVote && this.log.isUpToDate(request.lastLogIndex, request.lastLogTerm);
    if (granted && !preVote) {
      this.setVote(request.from);
      // Raft §5.2: granting a vote restarts the election timer, so that the
      // candidate has time to win before we compete.
      this.electionDeadlineMs = this.randomElectionDeadline(nowMs);
    }
    this.send({
      type: preVote ? 'pre-vote-response' : 'vote-response',
      from: this.id,
      to: request.from,
      term: granted ? request.term : this.currentTerm,
      granted,
    });
  }

  private handlePreVoteResponse(nowMs: number, response: VoteResponse): void {
    // A grant must be for the round we run (our term + 1); a refusal carries
    // the voter's term, which is ours (a higher one made us a follower).
    if (response.granted && response.term !== this.currentTerm + 1) return;
    this.votes.set(response.from, response.granted);
    const outcome = voteOutcome(this.votes, this.config.members.length);
    if (outcome === 'won') this.becomeCandidate(nowMs);
    else if (outcome === 'lost') this.becomeFollower(nowMs, this.currentTerm, undefined);
  }

  private handleVoteResponse(nowMs: number, response: VoteResponse): void {
    this.votes.set(response.from, response.granted);
    const outcome = voteOutcome(this.votes, this.config.members.length);
    if (outcome === 'won') this.becomeLeader(nowMs);
    else if (outcome === 'lost') this.becomeFollower(nowMs, this.currentTerm, undefined);
  }

  private becomeFollower(nowMs: number, term: number, leader: NodeId | undefined): void {
    if (term > this.currentTerm) this.setTerm(term);
    if (this.currentRole === 'leader') this.stepDown(leader);
    this.currentRole = 'follower';
    this.currentLeader = leader;
    this.leaderContactAtMs = leader === undefined ? undefined : nowMs;
    this.votes = new Map();
    this.electionDeadlineMs = this.randomElectionDeadline(nowMs);
  }

  private becomeLeader(nowMs: number): void {
    this.check(this.currentRole === 'candidate', `becomes leader from ${this.currentRole}`);
    this.check(this.votedFor === this.id, `becomes leader of term ${this.currentTerm} having voted for ${this.votedFor}`);
    this.currentRole = 'leader';
    this.currentLeader = this.id;
    this.votes = new Map();
    this.committedInTerm = false;
    this.progress = new Map(this.peers.map((peer) => [peer, new PeerProgress(this.log.lastIndex + 1, this.config.maxInflightAppends)]));
    this.heartbeatDeadlineMs = nowMs + this.config.heartbeatIntervalMs;
    this.checkQuorumDeadlineMs = nowMs + this.config.electionTimeoutMs;
    // The no-op lets the new leader commit an entry of its own term at once,
    // and with it every earlier entry it holds (§5.4.2).
    this.log.appendAsLeader({ index: this.log.lastIndex + 1, term: this.currentTerm, kind: 'noop' });
    this.maybeCommit();
    this.broadcastAppend();
  }

  /** Leadership lost (a higher term, or check-quorum): unconfirmed reads fail. */
  private stepDown(newLeader: NodeId | undefined): void {
    for (const requestId of this.reads.abortUnconfirmed()) {
      this.abortedReads.push({ requestId, code: 'ERR_RAFT_NOT_LEADER', leaderHint: newLeader });
    }
    this.progress = new Map();
  }

  private checkQuorum(nowMs: number): void {
    if (!this.config.checkQuorum) return;
    let active = 1;
    for (const progress of this.progress.values()) {
      if (progress.recentActive) active++;
      progress.recentActive = false;
    }
    if (active < quorumSize(this.config.members.length)) this.becomeFollower(nowMs, this.currentTerm, undefined);
  }

  /** Whether this node has a live leader and so ignores requests to start a new term. */
  private inLease(nowMs: number): boolean {
    if (!this.config.checkQuorum || this.currentLeader === undefined) return false;
    if (this.currentRole === 'leader') return true;
    return this.leaderContactAtMs !== undefined && nowMs - this.leaderContactAtMs < this.config.electionTimeoutMs;
  }

  // ------------------------------------------------------------------ follower side of replication

  private handleFromLeader(nowMs: number, message: AppendRequest | Heartbeat): void {
    // Election safety, seen from here: one leader per term.
    this.check(this.currentRole !== 'leader', `leader of term ${this.currentTerm} got ${message.type} from ${message.from}, another leader of the same term`);
    this.check(
      this.currentLeader === undefined || this.currentLeader === message.from,
      `${message.type} from ${message.from} in term ${this.currentTerm}, whose leader is ${this.currentLeader}`,
    );
    if (this.currentRole !== 'follower') this.becomeFollower(nowMs, this.currentTerm, message.from);
    this.currentLeader = message.from;
    this.leaderContactAtMs = nowMs;
    this.electionDeadlineMs = this.randomElectionDeadline(nowMs);
    if (message.type === 'append') {
      this.handleAppend(message);
      return;
    }
    // The leader caps the commit index at what it knows we hold.
    this.check(message.commitIndex <= this.log.lastIndex, `heartbeat commits ${message.commitIndex}, past our last index ${this.log.lastIndex}`);
    this.log.commitTo(message.commitIndex);
    this.send({ type: 'heartbeat-response', from: this.id, to: message.from, term: this.currentTerm, readRound: message.readRound });
  }

  private handleAppend(request: AppendRequest): void {
    const reply = { from: this.id, to: request.from, term: this.currentTerm };
    if (request.prevLogIndex < this.log.commitIndex) {
      // Stale or duplicated: the committed prefix is known to match any leader's.
      this.send({ ...reply, type: 'append-accepted', matchIndex: this.log.commitIndex });
      return;
    }
    if (this.log.termAt(request.prevLogIndex) !== request.prevLogTerm) {
      this.send({ ...reply, type: 'append-rejected', rejectedIndex: request.prevLogIndex, ...this.log.conflictHint(request.prevLogIndex) });
      return;
    }
    for (const entry of request.entries) {
      this.check(entry.term <= request.term, `append in term ${request.term} carries ${describeEntry(entry)} from a later term`);
    }
    const lastNewIndex = this.log.appendFromLeader(request.prevLogIndex, request.entries);
    // Only what this message vouched for: past it our log may still differ.
    this.log.commitTo(Math.min(request.commitIndex, lastNewIndex));
    this.send({ ...reply, type: 'append-accepted', matchIndex: lastNewIndex });
  }

  // ------------------------------------------------------------------ leader side of replication

  private handleFromFollower(message: AppendAccepted | AppendRejected | HeartbeatResponse): void {
    const progress = this.progress.get(message.from);
    this.check(progress !== undefined, `no progress kept for ${message.from}`);
    progress.recentActive = true;
    switch (message.type) {
      case 'append-accepted': {
        this.check(message.matchIndex <= this.log.lastIndex, `${message.from} matches up to ${message.matchIndex}, past our last index ${this.log.lastIndex}`);
        const wasPaused = progress.isPaused();
        if (!progress.onAccepted(message.matchIndex)) return;
        if (this.maybeCommit()) this.broadcastAppend();
        // A follower that was paused missed the broadcasts of any commit
        // since: tell it now, even with nothing new to send.
        else this.sendAppend(message.from, progress, wasPaused);
        return;
      }
      case 'append-rejected': {
        if (progress.onRejected(message.rejectedIndex, this.nextIndexFromHint(message))) this.sendAppend(message.from, progress, true);
        return;
      }
      case 'heartbeat-response': {
        progress.onHeartbeatResponse();
        if (message.readRound > progress.readRoundAcked) {
          progress.readRoundAcked = message.readRound;
          this.confirmReads();
        }
        if (progress.matchIndex < this.log.lastIndex) this.sendAppend(message.from, progress, true);
        return;
      }
    }
  }

  private nextIndexFromHint(rejection: AppendRejected): number {
    if (rejection.hintTerm === undefined) return rejection.hintIndex;
    // If we hold the follower's conflicting term too, our logs agree up to
    // our last entry of it; otherwise skip the follower's whole term.
    const ours = this.log.lastIndexOfTerm(rejection.hintTerm, rejection.rejectedIndex - 1);
    return ours === undefined ? rejection.hintIndex : ours + 1;
  }

  private appendProposal(data: RaftData): ProposeResult {
    if (this.currentRole !== 'leader') return { ok: false, code: 'ERR_RAFT_NOT_LEADER', leaderHint: this.currentLeader };
    if (this.log.lastIndex >= this.config.maxLogEntries) return { ok: false, code: 'ERR_RAFT_LOG_FULL' };
    if (this.log.lastIndex - this.log.commitIndex >= this.config.maxUncommittedEntries) return { ok: false, code: 'ERR_RAFT_PROPOSALS_FULL' };
    const entry: RaftEntry = { index: this.log.lastIndex + 1, term: this.currentTerm, kind: 'command', data };
    this.log.appendAsLeader(entry);
    this.maybeCommit();
    this.broadcastAppend();
    return { ok: true, index: entry.index, term: entry.term };
  }

  private broadcastAppend(): void {
    for (const [peer, progress] of this.progress) this.sendAppend(peer, progress, true);
  }

  /**
   * One AppendEntries to `peer` from its next index, unless flow control
   * holds it back. `sendIfEmpty`: send even with no entries, to carry the
   * commit index or to probe.
   */
  private sendAppend(peer: NodeId, progress: PeerProgress, sendIfEmpty: boolean): void {
    if (progress.isPaused()) return;
    const prevLogIndex = progress.nextIndex - 1;
    const prevLogTerm = this.log.termAt(prevLogIndex);
    this.check(prevLogTerm !== undefined, `${peer}'s next index ${progress.nextIndex} is past our last index ${this.log.lastIndex} + 1`);
    const entries = this.log.slice(progress.nextIndex, progress.nextIndex + this.config.maxEntriesPerAppend - 1);
    if (entries.length === 0 && !sendIfEmpty) return;
    this.send({ type: 'append', from: this.id, to: peer, term: this.currentTerm, prevLogIndex, prevLogTerm, entries, commitIndex: this.log.commitIndex });
    progress.onSent(prevLogIndex + entries.length, entries.length);
  }

  private broadcastHeartbeat(): void {
    const readRound = this.reads.currentRound;
    for (const [peer, progress] of this.progress) {
      const commitIndex = Math.min(progress.matchIndex, this.log.commitIndex);
      this.send({ type: 'heartbeat', from: this.id, to: peer, term: this.currentTerm, commitIndex, readRound });
    }
  }

  /**
   * Raft §5.4.2: the leader commits by counting replicas only entries of its
   * own term; earlier ones commit with them (the Figure 8 scenario).
   */
  private maybeCommit(): boolean {
    const matches = [this.log.lastIndex, ...[...this.progress.values()].map((progress) => progress.matchIndex)];
    const majorityIndex = majorityValue(matches, this.config.members.length);
    if (majorityIndex <= this.log.commitIndex || this.log.termAt(majorityIndex) !== this.currentTerm) return false;
    this.log.commitTo(majorityIndex);
    if (!this.committedInTerm) {
      this.committedInTerm = true;
      const waiting = this.reads.takeAwaitingCommit();
      if (waiting.length > 0) this.startReadRound(waiting);
    }
    return true;
  }

  // ------------------------------------------------------------------ ReadIndex

  private requestRead(requestId: string): ReadIndexResult {
    if (this.currentRole !== 'leader') return { ok: false, code: 'ERR_RAFT_NOT_LEADER', leaderHint: this.currentLeader };
    if (this.reads.isFull) return { ok: false, code: 'ERR_RAFT_READS_FULL' };
    if (!this.committedInTerm) this.reads.waitForCommit(requestId);
    else this.startReadRound([requestId]);
    return { ok: true };
  }

  private startReadRound(requestIds: readonly string[]): void {
    this.reads.startRound(requestIds, this.log.commitIndex);
    // A cluster of one confirms at once; others need the heartbeat round.
    this.confirmReads();
    if (this.reads.hasUnconfirmed) this.broadcastHeartbeat();
  }

  private confirmReads(): void {
    const peerRounds = [...this.progress.values()].map((progress) => progress.readRoundAcked);
    this.reads.confirm(peerRounds, this.config.members.length);
  }

  // ------------------------------------------------------------------ state changes that must persist

  private setTerm(term: number): void {
    this.check(term > this.currentTerm, `term would go from ${this.currentTerm} to ${term}`);
    this.currentTerm = term;
    this.votedFor = undefined;
  }

  private setVote(candidate: NodeId): void {
    this.check(
      this.votedFor === undefined || this.votedFor === candidate,
      `would vote for ${candidate} in term ${this.currentTerm}, having voted for ${this.votedFor}`,
    );
    this.votedFor = candidate;
  }

  // ------------------------------------------------------------------ plumbing

  private enter(nowMs: number, input: string): void {
    if (!Number.isFinite(nowMs) || nowMs < this.lastNowMs) {
      throw new RaftUsageError(this.id, `${input} at ${nowMs} ms, before the previous input at ${this.lastNowMs} ms`);
    }
    this.lastNowMs = nowMs;
    this.hadInput = true;
  }

  private send(message: RaftMessage): void {
    this.outbox.push(message);
  }

  private collectReady(): RaftReady {
    const hardState = this.hardState();
    const hardStateChanged =
      hardState.term !== this.persistedHardState.term ||
      hardState.vote !== this.persistedHardState.vote ||
      hardState.commitIndex !== this.persistedHardState.commitIndex;
    if (hardStateChanged) {
      this.check(hardState.term >= this.persistedHardState.term, `term went from ${this.persistedHardState.term} to ${hardState.term}`);
      this.check(hardState.commitIndex >= this.persistedHardState.commitIndex, `commit index went from ${this.persistedHardState.commitIndex} to ${hardState.commitIndex}`);
      this.persistedHardState = hardState;
    }
    const leadership = this.leadership();
    const leadershipChanged = leadership.role !== this.reportedLeadership.role || leadership.leaderId !== this.reportedLeadership.leaderId;
    if (leadershipChanged) this.reportedLeadership = leadership;
    const messages = this.outbox;
    this.outbox = [];
    this.check(
      messages.length <= MESSAGES_PER_PEER_PER_INPUT_MAX * Math.max(1, this.peers.length),
      `${messages.length} messages from one input, over ${MESSAGES_PER_PEER_PER_INPUT_MAX} per peer`,
    );
    const abortedReads = this.abortedReads;
    this.abortedReads = [];
    return {
      hardState: hardStateChanged ? hardState : undefined,
      entries: this.log.takeUnstable(),
      messages,
      committedEntries: this.handOutCommitted(),
      readStates: this.takeReadStates(),
      abortedReads,
      leadership: leadershipChanged ? leadership : undefined,
    };
  }

  private handOutCommitted(): RaftEntry[] {
    const commitIndex = this.log.commitIndex;
    this.check(this.appliedIdx <= this.handedOutIndex && this.handedOutIndex <= commitIndex, `applied ${this.appliedIdx}, handed out ${this.handedOutIndex}, commit ${commitIndex}`);
    if (this.handedOutIndex === commitIndex) return [];
    const entries = this.log.slice(this.handedOutIndex + 1, Math.min(commitIndex, this.handedOutIndex + this.config.maxCommittedEntriesPerReady));
    this.handedOutIndex = entries.at(-1)!.index;
    return entries;
  }

  private takeReadStates(): ReadState[] {
    const ready = this.reads.takeReady(this.appliedIdx);
    for (const read of ready) this.check(read.index <= this.log.commitIndex, `read at ${read.index} past the commit index ${this.log.commitIndex}`);
    return ready;
  }

  private hardState(): HardState {
    return { term: this.currentTerm, vote: this.votedFor, commitIndex: this.log.commitIndex };
  }

  private leadership(): Leadership {
    return { role: this.currentRole, leaderId: this.currentLeader, term: this.currentTerm };
  }

  private randomElectionDeadline(nowMs: number): number {
    const { electionTimeoutMs } = this.config;
    return nowMs + electionTimeoutMs + this.random.int(electionTimeoutMs);
  }

  private check(condition: boolean, problem: string): asserts condition {
    if (!condition) throw new RaftInvariantError(this.id, problem);
  }
}
