// Binds the sans-IO Raft node to a member's platform: its clock (ticks at
// the node's next deadline), its disk (the WAL, fsynced before a Ready's
// messages go out) and the peer transport. Readies are carried out one after
// another, in the order the node returned them, while inputs keep coming: the
// node's memory runs ahead of its disk, as etcd's does.
//
// The state machine sees committed commands through `apply`; clients see
// their proposals settle when the entry with their index and term is applied
// (or lost when another term's entry takes that index).
import type { Clock, Log, TimerHandle } from '../../../src/runtime/platform/types.js';
import { RaftNode } from '../raft/node.js';
import type { RaftMessage } from '../raft/messages.js';
import type { Leadership, RaftReady, RaftRefusalCode } from '../raft/results.js';
import type { RaftStorage } from '../raft/storage.js';
import type { RaftConfigInput } from '../raft/config.js';
import type { NodeId, RaftRandom } from '../raft/types.js';

export interface RaftDriverOptions {
  config: RaftConfigInput;
  random: RaftRandom;
  clock: Clock;
  storage: RaftStorage;
  send(message: RaftMessage): void;
  /** A committed command, in log order, exactly once per incarnation (after a restart, again from index 1). */
  apply(index: number, command: string): unknown;
  onLeadership?(leadership: Leadership): void;
  log: Log;
}

export type Refusal = { ok: false; code: RaftRefusalCode | 'ERR_ETCD_PROPOSAL_LOST' | 'ERR_ETCD_STOPPED' | 'ERR_ETCD_TIMEOUT'; leaderHint?: NodeId | undefined };

/** Proposals and reads waiting at once, at most: beyond it the member answers "too many requests". */
const WAITING_MAX = 10_000;

export class RaftDriver {
  private readonly node: RaftNode;
  private timer: TimerHandle | undefined;
  private carrying: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly proposals = new Map<number, { term: number; settle: (result: { ok: true; response: unknown } | Refusal) => void }>();
  private readonly reads = new Map<string, (result: { ok: true } | Refusal) => void>();
  private nextReadId = 1;

  private constructor(private readonly options: RaftDriverOptions) {
    this.node = new RaftNode({ config: options.config, random: options.random, nowMs: options.clock.now() });
  }

  static async start(options: RaftDriverOptions): Promise<RaftDriver> {
    const driver = new RaftDriver(options);
    const persisted = await options.storage.load();
    driver.carry(driver.node.restore(persisted.hardState, persisted.entries));
    driver.arm();
    return driver;
  }

  get leadership(): { leaderId: NodeId | undefined; isLeader: boolean; term: number } {
    return { leaderId: this.node.leaderId, isLeader: this.node.role === 'leader', term: this.node.term };
  }

  receive(message: RaftMessage): void {
    if (this.stopped) return;
    this.carry(this.node.receive(this.nowMs(), message));
    this.arm();
  }

  /** Resolves with the state machine's response once the command is applied here, or with why not. */
  propose(command: string): Promise<{ ok: true; response: unknown } | Refusal> {
    if (this.stopped) return Promise.resolve({ ok: false, code: 'ERR_ETCD_STOPPED' });
    if (this.proposals.size + this.reads.size >= WAITING_MAX) return Promise.resolve({ ok: false, code: 'ERR_RAFT_PROPOSALS_FULL' });
    const { result, ready } = this.node.propose(this.nowMs(), command);
    if (!result.ok) {
      this.carry(ready);
      return Promise.resolve({ ok: false, code: result.code, leaderHint: 'leaderHint' in result ? result.leaderHint : undefined });
    }
    const settled = new Promise<{ ok: true; response: unknown } | Refusal>((settle) => this.proposals.set(result.index, { term: result.term, settle }));
    this.carry(ready);
    this.arm();
    return settled;
  }

  /** Resolves once a linearizable read may be served from this member's state (ReadIndex). */
  readBarrier(): Promise<{ ok: true } | Refusal> {
    if (this.stopped) return Promise.resolve({ ok: false, code: 'ERR_ETCD_STOPPED' });
    if (this.proposals.size + this.reads.size >= WAITING_MAX) return Promise.resolve({ ok: false, code: 'ERR_RAFT_READS_FULL' });
    const requestId = `read-${this.nextReadId++}`;
    const { result, ready } = this.node.readIndex(this.nowMs(), requestId);
    if (!result.ok) {
      this.carry(ready);
      return Promise.resolve({ ok: false, code: result.code, leaderHint: 'leaderHint' in result ? result.leaderHint : undefined });
    }
    const settled = new Promise<{ ok: true } | Refusal>((settle) => this.reads.set(requestId, settle));
    this.carry(ready);
    this.arm();
    return settled;
  }

  stop(): void {
    this.stopped = true;
    this.options.clock.clearTimer(this.timer);
    for (const waiting of this.proposals.values()) waiting.settle({ ok: false, code: 'ERR_ETCD_STOPPED' });
    for (const settle of this.reads.values()) settle({ ok: false, code: 'ERR_ETCD_STOPPED' });
    this.proposals.clear();
    this.reads.clear();
  }

  private nowMs(): number {
    return this.options.clock.now();
  }

  private arm(): void {
    if (this.stopped) return;
    this.options.clock.clearTimer(this.timer);
    const delayMs = Math.max(0, this.node.nextDeadlineMs() - this.nowMs());
    this.timer = this.options.clock.setTimeout(() => {
      this.timer = undefined;
      if (this.stopped) return;
      this.carry(this.node.tick(this.nowMs()));
      this.arm();
    }, delayMs);
  }

  /** Queues a Ready behind the ones before it. */
  private carry(ready: RaftReady): void {
    this.carrying = this.carrying.then(() => this.carryOut(ready));
  }

  private async carryOut(ready: RaftReady): Promise<void> {
    if (this.stopped) return;
    if (ready.hardState !== undefined || ready.entries.length > 0) await this.options.storage.save({ hardState: ready.hardState, entries: ready.entries });
    if (this.stopped) return;
    for (const message of ready.messages) this.options.send(message);
    for (const entry of ready.committedEntries) {
      const waiting = this.proposals.get(entry.index);
      let response: unknown;
      if (entry.kind === 'command') response = this.options.apply(entry.index, typeof entry.data === 'string' ? entry.data : Buffer.from(entry.data).toString('utf8'));
      if (waiting === undefined) continue;
      this.proposals.delete(entry.index);
      waiting.settle(waiting.term === entry.term ? { ok: true, response } : { ok: false, code: 'ERR_ETCD_PROPOSAL_LOST' });
    }
    for (const read of ready.readStates) {
      this.reads.get(read.requestId)?.({ ok: true });
      this.reads.delete(read.requestId);
    }
    for (const aborted of ready.abortedReads) {
      this.reads.get(aborted.requestId)?.({ ok: false, code: aborted.code, leaderHint: aborted.leaderHint });
      this.reads.delete(aborted.requestId);
    }
    if (ready.leadership !== undefined) {
      this.options.log.info('etcd.leadership', { role: ready.leadership.role, leader: ready.leadership.leaderId ?? null, term: ready.leadership.term });
      this.options.onLeadership?.(ready.leadership);
    }
    if (ready.committedEntries.length > 0 || ready.readStates.length > 0) {
      // Behind the Readies already queued, not before them: they may hold earlier committed entries.
      this.carry(this.node.advance(this.nowMs(), ready));
      this.arm();
    }
  }
}
