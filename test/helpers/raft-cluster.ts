// A small pure harness for the Raft core (sim/etcd/raft): 3–5 RaftNodes on a
// seeded message scheduler that delays, drops, duplicates and reorders
// messages, cuts the cluster into groups and heals it, crashes members and
// restarts them from what they had persisted, and runs clients that propose
// and read. It checks Raft's safety properties after every step and throws a
// RaftSafetyViolation naming the property, with the tail of the run's trace.
//
// Persistence: each member has a disk. The driver contract (results.ts) is
// followed to the letter: a Ready's hard state and entries are written
// before its messages go out and its committed entries are applied. With
// `fsyncMsMax` > 0 each Ready waits 1..fsyncMsMax ms in a per-member disk
// queue (the node keeps taking inputs meanwhile), and a crash loses every
// Ready still queued: "persisted" is exactly what the member had asked to
// persist and the disk had completed before the crash.
//
// Safety properties checked after every step:
// - election safety: at most one leader per term (over the whole run);
// - one vote per term per member (from the vote grants actually sent);
// - log matching: two live logs with an entry of the same index and term
//   are identical up to it;
// - leader completeness: a leader holds every entry committed in its term
//   or before;
// - state machine safety: no two members apply different entries at an
//   index (across restarts too), and members apply in index order;
// - committed means committed: no two members' committed prefixes disagree;
// - reads: a ReadIndex answer is at least the index of every write
//   acknowledged before the read was asked, and is applied when served.
// Acknowledged writes never lost: `checkAckedWritesKept` (the leader holds
// them all, every live member has applied them), once the cluster settles.
import { Rng } from '../../sim/network/rng.js';
import {
  INITIAL_HARD_STATE,
  RaftNode,
  applyStorageUpdate,
  describeEntry,
  describeMessage,
  isEmptyReady,
  sameEntry,
  type HardState,
  type ProposeResult,
  type RaftConfigInput,
  type RaftEntry,
  type RaftMessage,
  type RaftReady,
  type ReadIndexResult,
} from '../../sim/etcd/raft/index.js';

export interface NetworkProfile {
  delayMsMin: number;
  delayMsMax: number;
  dropProbability: number;
  duplicateProbability: number;
}

/** No loss, no duplicates, 1–10 ms one way: what "the network is quiet" means in the liveness bound. */
export const QUIET_NETWORK: NetworkProfile = Object.freeze({ delayMsMin: 1, delayMsMax: 10, dropProbability: 0, duplicateProbability: 0 });

export type RaftSettings = Omit<RaftConfigInput, 'id' | 'members'>;

export interface RaftClusterOptions {
  /** Members m1..mN. */
  size: number;
  seed: number;
  settings?: RaftSettings;
  network?: NetworkProfile;
  /** Disk latency per Ready: 1..fsyncMsMax ms; 0 persists at once. */
  fsyncMsMax?: number;
}

export class RaftSafetyViolation extends Error {
  readonly code = 'ERR_RAFT_SAFETY';
  constructor(property: string, detail: string, trace: string) {
    super(`${property}: ${detail}\n--- last events ---\n${trace}`);
    this.name = 'RaftSafetyViolation';
  }
}

export interface AckedWrite {
  readonly entry: RaftEntry;
  readonly ackedAtMs: number;
  readonly by: string;
}

export interface ServedRead {
  readonly requestId: string;
  readonly by: string;
  readonly index: number;
  readonly askedAtMs: number;
  readonly servedAtMs: number;
}

interface Disk {
  hardState: HardState;
  entries: RaftEntry[];
}

interface Member {
  readonly id: string;
  node: RaftNode | undefined;
  /** Bumped by every crash: disk completions and client calls of an earlier life are void. */
  incarnation: number;
  readonly disk: Disk;
  /** Readies returned but not yet carried out, oldest first. */
  diskQueue: RaftReady[];
  /** A disk completion is scheduled for the head of the queue. */
  diskBusy: boolean;
  /** What this incarnation applied, in order. */
  applied: RaftEntry[];
  /** How far the committed prefix has been checked into `committed`. */
  commitScanned: number;
  /** Leader completeness: how many `committedOrder` records were checked against this leadership. */
  leaderChecked: { term: number; incarnation: number; records: number } | undefined;
  /** Its log changed since log matching last looked. */
  logDirty: boolean;
}

type SchedulerEvent =
  | { atMs: number; seq: number; kind: 'deliver'; message: RaftMessage }
  | { atMs: number; seq: number; kind: 'disk'; member: string; incarnation: number };

interface CommittedRecord {
  entry: RaftEntry;
  /** The term of the first member seen to have it committed: every leader of this term or later must hold it. */
  observedTerm: number;
}

interface PendingRead {
  by: string;
  incarnation: number;
  askedAtMs: number;
  /** The highest acknowledged write when the read was asked: the answer must cover it. */
  ackedIndexAtAsk: number;
}

/** Steps one `run*` call may take before the harness calls it a livelock of its own making. */
const STEPS_PER_RUN_MAX = 2_000_000;
const TRACE_MAX = 400;
/** Readies carried out in a row for one input (advance returns more while committed entries remain). */
const READY_CHAIN_MAX = 10_000;

export class RaftCluster {
  readonly ids: readonly string[];
  nowMs = 0;
  network: NetworkProfile;
  /** Every write a client saw applied on the member it proposed to, in ack order. */
  readonly acked: AckedWrite[] = [];
  readonly servedReads: ServedRead[] = [];
  readonly abortedReads: string[] = [];
  /** Term → the member that led it. */
  readonly leadersByTerm = new Map<number, string>();
  stepCount = 0;

  private readonly members = new Map<string, Member>();
  private readonly rng: Rng;
  private readonly networkRng: Rng;
  private readonly diskRng: Rng;
  private readonly settings: RaftSettings;
  private readonly fsyncMsMax: number;
  private readonly events = new EventHeap();
  private eventSeq = 0;
  /** Member → group number while partitioned; members in different groups hear nothing from each other. */
  private groups: Map<string, number> | undefined;
  private readonly votes = new Map<string, string>();
  private readonly committed = new Map<number, CommittedRecord>();
  private readonly committedOrder: CommittedRecord[] = [];
  private readonly appliedAt = new Map<number, RaftEntry>();
  private readonly proposals = new Map<string, { term: number; data: string }>();
  private readonly pendingReads = new Map<string, PendingRead>();
  private readonly traceRing: (string | { atMs: number; message: RaftMessage; fate: string })[] = [];
  private clientSeq = 0;

  constructor(options: RaftClusterOptions) {
    if (!Number.isInteger(options.size) || options.size < 1 || options.size > 7) throw new RangeError(`size must be 1..7, got ${options.size}`);
    this.ids = Array.from({ length: options.size }, (_, index) => `m${index + 1}`);
    this.rng = Rng.fromSeed(options.seed).fork('raft-cluster');
    this.networkRng = this.rng.fork('network');
    this.diskRng = this.rng.fork('disk');
    this.settings = options.settings ?? {};
    this.network = options.network ?? QUIET_NETWORK;
    this.fsyncMsMax = options.fsyncMsMax ?? 0;
    for (const id of this.ids) {
      const member: Member = {
        id,
        node: undefined,
        incarnation: 0,
        disk: { hardState: INITIAL_HARD_STATE, entries: [] },
        diskQueue: [],
        diskBusy: false,
        applied: [],
        commitScanned: 0,
        leaderChecked: undefined,
        logDirty: true,
      };
      this.members.set(id, member);
      this.boot(member);
    }
  }

  // ------------------------------------------------------------------ looking

  node(id: string): RaftNode | undefined {
    return this.member(id).node;
  }

  isUp(id: string): boolean {
    return this.member(id).node !== undefined;
  }

  liveIds(): string[] {
    return this.ids.filter((id) => this.isUp(id));
  }

  /** The live leader with the highest term, if any. */
  leader(): string | undefined {
    let best: RaftNode | undefined;
    for (const id of this.ids) {
      const node = this.node(id);
      if (node?.role === 'leader' && (best === undefined || node.term > best.term)) best = node;
    }
    return best?.id;
  }

  appliedBy(id: string): readonly RaftEntry[] {
    return this.member(id).applied;
  }

  persisted(id: string): { hardState: HardState; entries: readonly RaftEntry[] } {
    return this.member(id).disk;
  }

  trace(): string {
    return this.traceRing
      .map((line) => (typeof line === 'string' ? line : `${line.atMs} ${line.fate} ${describeMessage(line.message)}`))
      .join('\n');
  }

  // ------------------------------------------------------------------ faults, as verbs

  /** Cuts the cluster into these groups; a member in no group is alone. */
  partition(groups: readonly (readonly string[])[]): void {
    this.groups = new Map();
    groups.forEach((group, number) => group.forEach((id) => this.groups!.set(this.member(id).id, number)));
    this.note(`partition ${groups.map((group) => `[${group.join(',')}]`).join(' ')}`);
  }

  isolate(id: string): void {
    this.partition([[id], this.ids.filter((other) => other !== id)]);
  }

  heal(): void {
    this.groups = undefined;
    this.note('heal');
  }

  setNetwork(profile: NetworkProfile): void {
    this.network = profile;
    this.note(`network ${JSON.stringify(profile)}`);
  }

  /** Loses everything in memory and every Ready the disk had not completed. */
  crash(id: string): void {
    const member = this.member(id);
    if (member.node === undefined) return;
    member.node = undefined;
    member.diskQueue = [];
    member.diskBusy = false;
    member.incarnation++;
    member.leaderChecked = undefined;
    this.note(`crash ${id} (disk: term ${member.disk.hardState.term}, vote ${member.disk.hardState.vote}, ${member.disk.entries.length} entries)`);
  }

  /**
   * Only for tests of the checks themselves: edits a crashed member's disk,
   * as a disk that lies about fsync would, so that a restart breaks Raft.
   */
  corruptDisk(id: string, edit: (disk: { hardState: HardState; entries: RaftEntry[] }) => void): void {
    const member = this.member(id);
    if (member.node !== undefined) throw new Error(`corruptDisk(${id}): crash it first`);
    edit(member.disk);
    this.note(`disk of ${id} corrupted: term ${member.disk.hardState.term}, vote ${member.disk.hardState.vote}, ${member.disk.entries.length} entries`);
  }

  restart(id: string): void {
    const member = this.member(id);
    if (member.node !== undefined) return;
    this.boot(member);
    this.note(`restart ${id} at term ${member.node!.term} with ${member.node!.lastIndex} entries, commit ${member.node!.commitIndex}`);
    this.checkSafety();
  }

  // ------------------------------------------------------------------ clients

  /** A client proposes to `id`; `data` defaults to a unique string. */
  propose(id: string, data = `w${++this.clientSeq}`): ProposeResult | { ok: false; code: 'DOWN' } {
    const member = this.member(id);
    if (member.node === undefined) return { ok: false, code: 'DOWN' };
    const { result, ready } = member.node.propose(this.nowMs, data);
    if (result.ok) {
      this.proposals.set(`${id}/${member.incarnation}/${result.index}`, { term: result.term, data });
      this.note(`propose ${data} at ${id}: index ${result.index} term ${result.term}`);
    }
    this.handleReady(member, ready);
    this.checkSafety();
    return result;
  }

  /** A client asks `id` for a linearizable read; returns the request id when accepted. */
  read(id: string): { result: ReadIndexResult | { ok: false; code: 'DOWN' }; requestId: string } {
    const requestId = `r${++this.clientSeq}`;
    const member = this.member(id);
    if (member.node === undefined) return { result: { ok: false, code: 'DOWN' }, requestId };
    const { result, ready } = member.node.readIndex(this.nowMs, requestId);
    if (result.ok) {
      const ackedIndexAtAsk = this.acked.reduce((max, write) => Math.max(max, write.entry.index), 0);
      this.pendingReads.set(requestId, { by: id, incarnation: member.incarnation, askedAtMs: this.nowMs, ackedIndexAtAsk });
    }
    this.handleReady(member, ready);
    this.checkSafety();
    return { result, requestId };
  }

  // ------------------------------------------------------------------ running

  runFor(durationMs: number): void {
    const untilMs = this.nowMs + durationMs;
    let steps = 0;
    while (this.step(untilMs)) {
      if (++steps > STEPS_PER_RUN_MAX) throw new Error(`runFor(${durationMs}) took over ${STEPS_PER_RUN_MAX} steps at ${this.nowMs} ms`);
    }
    this.nowMs = untilMs;
  }

  /** Runs until `done()` holds (checked after every step) or `maxMs` passes; returns whether it held. */
  runUntil(done: () => boolean, maxMs: number): boolean {
    const untilMs = this.nowMs + maxMs;
    let steps = 0;
    while (!done()) {
      if (!this.step(untilMs)) {
        this.nowMs = untilMs;
        return done();
      }
      if (++steps > STEPS_PER_RUN_MAX) throw new Error(`runUntil took over ${STEPS_PER_RUN_MAX} steps at ${this.nowMs} ms`);
    }
    return true;
  }

  /** One event or one timer, whichever is due first, if due by `untilMs`. */
  private step(untilMs: number): boolean {
    let due: Member | undefined;
    let dueAtMs = Infinity;
    for (const member of this.members.values()) {
      const atMs = member.node?.nextDeadlineMs() ?? Infinity;
      if (atMs < dueAtMs) {
        due = member;
        dueAtMs = atMs;
      }
    }
    const event = this.events.peek();
    const eventAtMs = event?.atMs ?? Infinity;
    const atMs = Math.min(dueAtMs, eventAtMs);
    if (atMs > untilMs) return false;
    this.nowMs = Math.max(this.nowMs, atMs);
    this.stepCount++;
    if (due !== undefined && dueAtMs <= eventAtMs) {
      this.handleReady(due, due.node!.tick(this.nowMs));
    } else {
      this.events.pop();
      this.handleEvent(event!);
    }
    this.checkSafety();
    return true;
  }

  private handleEvent(event: SchedulerEvent): void {
    if (event.kind === 'disk') {
      const member = this.member(event.member);
      if (member.incarnation !== event.incarnation || member.node === undefined) return;
      member.diskBusy = false;
      const ready = member.diskQueue.shift();
      if (ready === undefined) throw new Error(`disk completion for ${member.id} with an empty queue`);
      this.carryOut(member, ready);
      if (member.diskQueue.length > 0 && !member.diskBusy) this.scheduleDisk(member);
      return;
    }
    const { message } = event;
    const target = this.member(message.to);
    if (this.cut(message.from, message.to)) {
      this.traceMessage(message, 'cut');
      return;
    }
    if (target.node === undefined) {
      this.traceMessage(message, 'to-down');
      return;
    }
    this.traceMessage(message, 'deliver');
    this.handleReady(target, target.node.receive(this.nowMs, message));
  }

  // ------------------------------------------------------------------ the driver contract

  private boot(member: Member): void {
    const node = new RaftNode({
      config: { ...this.settings, id: member.id, members: this.ids },
      random: this.rng.fork(`node/${member.id}/${member.incarnation}`),
      nowMs: this.nowMs,
    });
    member.node = node;
    member.applied = [];
    member.commitScanned = 0;
    member.logDirty = true;
    this.handleReady(member, node.restore(member.disk.hardState, [...member.disk.entries]));
  }

  private handleReady(member: Member, ready: RaftReady): void {
    if (isEmptyReady(ready)) return;
    if (ready.entries.length > 0) member.logDirty = true;
    if (ready.leadership !== undefined) {
      const { role, leaderId, term } = ready.leadership;
      this.note(`${member.id} ${role} term ${term} leader ${leaderId ?? '-'}`);
    }
    if (this.fsyncMsMax === 0) {
      this.carryOut(member, ready);
      return;
    }
    member.diskQueue.push(ready);
    if (!member.diskBusy) this.scheduleDisk(member);
  }

  private scheduleDisk(member: Member): void {
    member.diskBusy = true;
    this.schedule({ atMs: this.nowMs + this.diskRng.range(1, this.fsyncMsMax), seq: 0, kind: 'disk', member: member.id, incarnation: member.incarnation });
  }

  /** results.ts's steps 1–5, in order; with an instant disk, the Readies `advance` returns too. */
  private carryOut(member: Member, first: RaftReady): void {
    let ready: RaftReady | undefined = first;
    for (let chain = 0; ready !== undefined; chain++) {
      if (chain > READY_CHAIN_MAX) throw new Error(`${member.id}: over ${READY_CHAIN_MAX} Readies in a row`);
      this.persist(member, ready);
      for (const message of ready.messages) this.send(message);
      for (const entry of ready.committedEntries) this.apply(member, entry);
      for (const read of ready.readStates) this.serveRead(member, read.requestId, read.index);
      for (const read of ready.abortedReads) {
        this.pendingReads.delete(read.requestId);
        this.abortedReads.push(read.requestId);
      }
      const next = member.node!.advance(this.nowMs, ready);
      ready = undefined;
      if (isEmptyReady(next)) break;
      if (next.entries.length > 0) member.logDirty = true;
      if (this.fsyncMsMax === 0) ready = next;
      else this.handleReady(member, next);
    }
  }

  private persist(member: Member, ready: RaftReady): void {
    applyStorageUpdate(member.disk.entries, { hardState: ready.hardState, entries: ready.entries }, `${member.id}'s disk`);
    if (ready.hardState !== undefined) member.disk.hardState = ready.hardState;
  }

  private send(message: RaftMessage): void {
    if (message.type === 'vote-response' && message.granted) this.recordVote(message.from, message.term, message.to);
    if (this.cut(message.from, message.to)) {
      this.traceMessage(message, 'cut');
      return;
    }
    if (this.networkRng.chance(this.network.dropProbability)) {
      this.traceMessage(message, 'drop');
      return;
    }
    const copies = this.networkRng.chance(this.network.duplicateProbability) ? 2 : 1;
    for (let copy = 0; copy < copies; copy++) {
      const delayMs = this.networkRng.range(this.network.delayMsMin, this.network.delayMsMax);
      this.schedule({ atMs: this.nowMs + delayMs, seq: 0, kind: 'deliver', message });
    }
  }

  private apply(member: Member, entry: RaftEntry): void {
    const expected = member.applied.length + 1;
    if (entry.index !== expected) this.violation('apply order', `${member.id} applies ${describeEntry(entry)}, expected index ${expected}`);
    member.applied.push(entry);
    const first = this.appliedAt.get(entry.index);
    if (first === undefined) this.appliedAt.set(entry.index, entry);
    else if (!sameEntry(first, entry)) {
      this.violation('state machine safety', `${member.id} applies ${describeEntry(entry)} where ${describeEntry(first)} was applied`);
    }
    const key = `${member.id}/${member.incarnation}/${entry.index}`;
    const proposal = this.proposals.get(key);
    if (proposal === undefined) return;
    this.proposals.delete(key);
    if (entry.kind === 'command' && entry.term === proposal.term && entry.data === proposal.data) {
      this.acked.push({ entry, ackedAtMs: this.nowMs, by: member.id });
      this.note(`ack ${describeEntry(entry)} at ${member.id}`);
    }
  }

  private serveRead(member: Member, requestId: string, index: number): void {
    const pending = this.pendingReads.get(requestId);
    this.pendingReads.delete(requestId);
    if (pending === undefined || pending.incarnation !== member.incarnation) this.violation('reads', `${member.id} answers read ${requestId}, which it was not asked in this life`);
    if (index < pending.ackedIndexAtAsk) {
      this.violation('linearizable reads', `${member.id} answers read ${requestId} at index ${index}, but a write at ${pending.ackedIndexAtAsk} was acknowledged before it was asked`);
    }
    if (member.applied.length < index) this.violation('linearizable reads', `${member.id} answers read ${requestId} at ${index} having applied only ${member.applied.length}`);
    this.servedReads.push({ requestId, by: member.id, index, askedAtMs: pending.askedAtMs, servedAtMs: this.nowMs });
  }

  // ------------------------------------------------------------------ safety, after every step

  checkSafety(): void {
    const live = [...this.members.values()].filter((member) => member.node !== undefined);
    for (const member of live) {
      const node = member.node!;
      if (node.role === 'leader') {
        const leader = this.leadersByTerm.get(node.term);
        if (leader === undefined) this.leadersByTerm.set(node.term, node.id);
        else if (leader !== node.id) this.violation('election safety', `${node.id} and ${leader} both led term ${node.term}`);
      }
      this.scanCommitted(member);
    }
    for (const member of live) if (member.node!.role === 'leader') this.checkLeaderCompleteness(member);
    this.checkLogMatching(live);
  }

  /** After the cluster settled: the leader holds every acknowledged write and every live member applied it. */
  checkAckedWritesKept(): void {
    const leaderId = this.leader();
    if (leaderId === undefined) this.violation('acknowledged writes kept', 'no leader to check against');
    const leader = this.node(leaderId)!;
    for (const write of this.acked) {
      const held = leader.entryAt(write.entry.index);
      if (held === undefined || !sameEntry(held, write.entry)) {
        this.violation('acknowledged writes kept', `leader ${leaderId} has ${describeEntry(held)} where ${describeEntry(write.entry)} was acknowledged at ${write.ackedAtMs} ms`);
      }
      for (const id of this.liveIds()) {
        const applied = this.member(id).applied[write.entry.index - 1];
        if (applied === undefined || !sameEntry(applied, write.entry)) {
          this.violation('acknowledged writes kept', `${id} applied ${describeEntry(applied)} where ${describeEntry(write.entry)} was acknowledged`);
        }
      }
    }
  }

  private recordVote(voter: string, term: number, candidate: string): void {
    const key = `${term}/${voter}`;
    const earlier = this.votes.get(key);
    if (earlier === undefined) this.votes.set(key, candidate);
    else if (earlier !== candidate) this.violation('one vote per term', `${voter} voted for ${earlier} and for ${candidate} in term ${term}`);
  }

  private scanCommitted(member: Member): void {
    const node = member.node!;
    for (let index = member.commitScanned + 1; index <= node.commitIndex; index++) {
      const entry = node.entryAt(index)!;
      const record = this.committed.get(index);
      if (record === undefined) {
        const fresh = { entry, observedTerm: node.term };
        this.committed.set(index, fresh);
        this.committedOrder.push(fresh);
      } else if (!sameEntry(record.entry, entry)) {
        this.violation('committed entries agree', `${node.id} committed ${describeEntry(entry)} where ${describeEntry(record.entry)} was committed`);
      }
    }
    member.commitScanned = Math.max(member.commitScanned, node.commitIndex);
  }

  private checkLeaderCompleteness(member: Member): void {
    const node = member.node!;
    const checked = member.leaderChecked;
    // A leader never truncates its log: what was checked in this leadership stays checked.
    let from = checked !== undefined && checked.term === node.term && checked.incarnation === member.incarnation ? checked.records : 0;
    for (; from < this.committedOrder.length; from++) {
      const record = this.committedOrder[from]!;
      if (record.observedTerm > node.term) continue;
      const held = node.entryAt(record.entry.index);
      if (held === undefined || !sameEntry(held, record.entry)) {
        this.violation('leader completeness', `leader ${node.id} of term ${node.term} has ${describeEntry(held)} where ${describeEntry(record.entry)} was committed (seen in term ${record.observedTerm})`);
      }
    }
    member.leaderChecked = { term: node.term, incarnation: member.incarnation, records: from };
  }

  private checkLogMatching(live: readonly Member[]): void {
    for (let a = 0; a < live.length; a++) {
      for (let b = a + 1; b < live.length; b++) {
        if (!live[a]!.logDirty && !live[b]!.logDirty) continue;
        this.checkPairMatches(live[a]!.node!, live[b]!.node!);
      }
    }
    for (const member of live) member.logDirty = false;
  }

  private checkPairMatches(a: RaftNode, b: RaftNode): void {
    const length = Math.min(a.lastIndex, b.lastIndex);
    const entriesA = a.entries();
    const entriesB = b.entries();
    let diverged = false;
    for (let position = 0; position < length; position++) {
      const entryA = entriesA[position]!;
      const entryB = entriesB[position]!;
      if (entryA.term !== entryB.term) {
        diverged = true;
      } else if (diverged || !sameEntry(entryA, entryB)) {
        this.violation('log matching', `${a.id} and ${b.id} both hold term ${entryA.term} at index ${position + 1} (${describeEntry(entryA)} / ${describeEntry(entryB)}) but differ before it or there`);
      }
    }
  }

  // ------------------------------------------------------------------ plumbing

  private member(id: string): Member {
    const member = this.members.get(id);
    if (member === undefined) throw new RangeError(`no member ${id}`);
    return member;
  }

  private cut(from: string, to: string): boolean {
    if (this.groups === undefined) return false;
    const groupFrom = this.groups.get(from);
    return groupFrom === undefined || groupFrom !== this.groups.get(to);
  }

  private schedule(event: SchedulerEvent): void {
    this.events.push({ ...event, seq: this.eventSeq++ });
  }

  private note(line: string): void {
    this.pushTrace(`${this.nowMs} ${line}`);
  }

  private traceMessage(message: RaftMessage, fate: string): void {
    this.pushTrace({ atMs: this.nowMs, message, fate });
  }

  private pushTrace(line: RaftCluster['traceRing'][number]): void {
    if (this.traceRing.length >= TRACE_MAX) this.traceRing.shift();
    this.traceRing.push(line);
  }

  private violation(property: string, detail: string): never {
    throw new RaftSafetyViolation(property, `${detail} (at ${this.nowMs} ms, step ${this.stepCount})`, this.trace());
  }
}

/** A binary min-heap on (atMs, seq): earlier first, then in scheduling order. */
class EventHeap {
  private readonly items: SchedulerEvent[] = [];

  peek(): SchedulerEvent | undefined {
    return this.items[0];
  }

  push(event: SchedulerEvent): void {
    const { items } = this;
    items.push(event);
    let index = items.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!before(items[index]!, items[parent]!)) break;
      [items[index], items[parent]] = [items[parent]!, items[index]!];
      index = parent;
    }
  }

  pop(): SchedulerEvent | undefined {
    const { items } = this;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    items[0] = last;
    let index = 0;
    for (;;) {
      const left = index * 2 + 1;
      const right = left + 1;
      let smallest = index;
      if (left < items.length && before(items[left]!, items[smallest]!)) smallest = left;
      if (right < items.length && before(items[right]!, items[smallest]!)) smallest = right;
      if (smallest === index) return top;
      [items[index], items[smallest]] = [items[smallest]!, items[index]!];
      index = smallest;
    }
  }
}

function before(a: SchedulerEvent, b: SchedulerEvent): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
}
