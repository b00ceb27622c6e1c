// The Raft core (sim/etcd/raft), scenario by scenario. Most tests drive
// nodes by hand on a Bench: messages wait in a queue until a test delivers
// them, so each scenario decides exactly who hears what. A few use the
// seeded harness (test/helpers/raft-cluster.ts) where timing is the point.
import { describe, expect, it } from 'vitest';
import {
  INITIAL_HARD_STATE,
  MemoryRaftStorage,
  RAFT_DEFAULTS,
  RaftConfigError,
  RaftInvariantError,
  RaftLogFullError,
  RaftNode,
  RaftUsageError,
  applyStorageUpdate,
  resolveRaftConfig,
  type HardState,
  type RaftEntry,
  type RaftMessage,
  type RaftRandom,
  type RaftReady,
} from '../sim/etcd/raft/index.js';
import { Rng } from '../sim/network/rng.js';
import { RaftCluster } from './helpers/raft-cluster.js';

const ELECTION_MS = 1_000;

/** Always the same draw: every election timeout is exactly electionTimeoutMs + draw. */
function fixedRandom(draw = 0): RaftRandom & { calls: number[] } {
  const calls: number[] = [];
  return {
    calls,
    int(maxExclusive: number): number {
      calls.push(maxExclusive);
      return Math.min(draw, maxExclusive - 1);
    },
  };
}

type Settings = Omit<Parameters<typeof resolveRaftConfig>[0], 'id' | 'members'>;

/**
 * Nodes driven by hand. Every Ready is carried out as results.ts says:
 * persisted to the member's MemoryRaftStorage, messages queued, committed
 * entries applied, then advanced. Messages wait in `queue` until delivered.
 */
class Bench {
  nowMs = 0;
  readonly nodes = new Map<string, RaftNode>();
  readonly disks = new Map<string, MemoryRaftStorage>();
  readonly applied = new Map<string, RaftEntry[]>();
  readonly readies = new Map<string, RaftReady[]>();
  queue: RaftMessage[] = [];

  constructor(
    readonly ids: readonly string[],
    private readonly settings: Settings = {},
  ) {
    for (const id of ids) {
      this.disks.set(id, new MemoryRaftStorage());
      this.boot(id);
    }
  }

  node(id: string): RaftNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`${id} is down`);
    return node;
  }

  /** Carries out a Ready (and what advance returns) for `id`. */
  handle(id: string, ready: RaftReady): RaftReady {
    const node = this.node(id);
    this.readies.get(id)!.push(ready);
    let current: RaftReady | undefined = ready;
    for (let chain = 0; current !== undefined && chain < 100; chain++) {
      this.disks.get(id)!.saveNow(current);
      this.queue.push(...current.messages);
      this.applied.get(id)!.push(...current.committedEntries);
      const next = node.advance(this.nowMs, current);
      current = next.committedEntries.length > 0 || next.readStates.length > 0 || next.messages.length > 0 ? next : undefined;
      if (current !== undefined) this.readies.get(id)!.push(current);
    }
    return ready;
  }

  /** Time passes to `atMs` and `id` fires what is due. */
  tick(id: string, atMs = this.nowMs): RaftReady {
    this.nowMs = Math.max(this.nowMs, atMs);
    return this.handle(id, this.node(id).tick(this.nowMs));
  }

  /** Makes `id` campaign now: its election timer has run out. */
  campaign(id: string): RaftReady {
    return this.tick(id, Math.max(this.nowMs, this.node(id).nextDeadlineMs()));
  }

  propose(id: string, data: string) {
    const { result, ready } = this.node(id).propose(this.nowMs, data);
    this.handle(id, ready);
    return result;
  }

  /**
   * Delivers queued messages that pass `allow` (and those they cause, if they
   * pass too) until none is left; the others stay queued. Returns what was
   * delivered. Messages to a member that is down are lost.
   */
  deliver(allow: (message: RaftMessage) => boolean = () => true, maxMessages = 10_000): RaftMessage[] {
    const delivered: RaftMessage[] = [];
    for (;;) {
      const position = this.queue.findIndex(allow);
      if (position < 0) return delivered;
      if (delivered.length >= maxMessages) throw new Error('deliver: too many messages');
      const [message] = this.queue.splice(position, 1);
      if (!this.nodes.has(message!.to)) continue;
      delivered.push(message!);
      this.handle(message!.to, this.node(message!.to).receive(this.nowMs, message!));
    }
  }

  /** As if the others were cut off: delivers among `ids`, and every other message is lost. */
  deliverAmong(ids: readonly string[]): RaftMessage[] {
    const delivered = this.deliver((message) => ids.includes(message.from) && ids.includes(message.to));
    this.queue = [];
    return delivered;
  }

  /** `id` campaigns and the election runs among `ids` (its voters); time first passes beyond every lease. */
  elect(id: string, among: readonly string[] = this.ids): void {
    this.nowMs += 2 * ELECTION_MS;
    this.campaign(id);
    this.deliverAmong(among);
    expect(this.node(id).role).toBe('leader');
  }

  crash(id: string): void {
    this.nodes.delete(id);
    this.queue = this.queue.filter((message) => message.from !== id);
  }

  restart(id: string): RaftReady {
    return this.boot(id);
  }

  private boot(id: string): RaftReady {
    const node = new RaftNode({ config: { ...this.settings, id, members: this.ids }, random: fixedRandom(), nowMs: this.nowMs });
    this.nodes.set(id, node);
    this.applied.set(id, []);
    this.readies.set(id, []);
    const { hardState, entries } = this.disks.get(id)!.snapshot();
    return this.handle(id, node.restore(hardState, entries));
  }
}

const THREE = ['m1', 'm2', 'm3'];
const FIVE = ['m1', 'm2', 'm3', 'm4', 'm5'];

function terms(node: RaftNode): number[] {
  return node.entries().map((entry) => entry.term);
}

function ofType<T extends RaftMessage['type']>(messages: readonly RaftMessage[], type: T): (RaftMessage & { type: T })[] {
  return messages.filter((message): message is RaftMessage & { type: T } => message.type === type);
}

// ------------------------------------------------------------------ settings

describe('settings', () => {
  it("defaults to the product's: heartbeat 100 ms, election timeout 1,000 ms, pre-vote and check-quorum on", () => {
    const config = resolveRaftConfig({ id: 'm1', members: THREE });
    expect(config).toMatchObject({ heartbeatIntervalMs: 100, electionTimeoutMs: 1_000, preVote: true, checkQuorum: true });
    expect(RAFT_DEFAULTS.maxEntriesPerAppend).toBeGreaterThan(0);
  });

  it.each([
    [{ heartbeatIntervalMs: 1_000 }, 'heartbeatIntervalMs'],
    [{ electionTimeoutMs: 0 }, 'electionTimeoutMs'],
    [{ maxInflightAppends: 1.5 }, 'maxInflightAppends'],
    [{ maxLogEntries: -1 }, 'maxLogEntries'],
  ])('refuses %j with ERR_RAFT_CONFIG naming %s', (settings, field) => {
    expect(() => resolveRaftConfig({ id: 'm1', members: THREE, ...settings })).toThrow(expect.objectContaining({ code: 'ERR_RAFT_CONFIG', field }));
  });

  it('refuses memberships without this member, with a duplicate, or with a bad id', () => {
    expect(() => resolveRaftConfig({ id: 'm4', members: THREE })).toThrow(RaftConfigError);
    expect(() => resolveRaftConfig({ id: 'm1', members: ['m1', 'm2', 'm2'] })).toThrow(/m2 listed twice/);
    expect(() => resolveRaftConfig({ id: 'm1', members: ['m1', 'bad id'] })).toThrow(/not a usable member id/);
  });
});

// ------------------------------------------------------------------ elections

describe('leader election', () => {
  it('draws each election timeout uniformly from [electionTimeoutMs, 2 × electionTimeoutMs) with the injected random source', () => {
    const low = new RaftNode({ config: { id: 'm1', members: THREE }, random: fixedRandom(0), nowMs: 500 });
    const high = fixedRandom(10_000);
    const late = new RaftNode({ config: { id: 'm1', members: THREE }, random: high, nowMs: 500 });
    expect(low.nextDeadlineMs()).toBe(1_500);
    expect(late.nextDeadlineMs()).toBe(500 + 1_999);
    expect(high.calls).toEqual([1_000]);
    // With a real seeded source the draws cover the range.
    const rng = Rng.fromSeed(7);
    const draws = Array.from({ length: 500 }, () => new RaftNode({ config: { id: 'm1', members: THREE }, random: rng, nowMs: 0 }).nextDeadlineMs());
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(1_000);
    expect(Math.max(...draws)).toBeLessThan(2_000);
    expect(Math.max(...draws) - Math.min(...draws)).toBeGreaterThan(900);
  });

  it('a single member elects itself after one timeout, commits its no-op and then each proposal at once', () => {
    const bench = new Bench(['solo']);
    const ready = bench.campaign('solo');
    expect(bench.node('solo').role).toBe('leader');
    expect(ready.hardState).toEqual({ term: 1, vote: 'solo', commitIndex: 1 });
    expect(ready.entries).toEqual([{ index: 1, term: 1, kind: 'noop' }]);
    expect(bench.propose('solo', 'x')).toEqual({ ok: true, index: 2, term: 1 });
    expect(bench.applied.get('solo')!.map((entry) => entry.index)).toEqual([1, 2]);
  });

  it('runs a pre-vote round first, without changing term or vote, then a real election; the vote is persisted in the Ready that sends it', () => {
    const bench = new Bench(THREE);
    const preVote = bench.campaign('m1');
    expect(bench.node('m1').role).toBe('pre-candidate');
    expect(preVote.hardState).toBeUndefined();
    expect(ofType(preVote.messages, 'pre-vote-request').map((message) => [message.to, message.term])).toEqual([
      ['m2', 1],
      ['m3', 1],
    ]);
    expect(bench.node('m1').term).toBe(0);

    // m2 grants the pre-vote without moving to term 1.
    bench.deliver((message) => message.to === 'm2');
    expect(bench.node('m2').term).toBe(0);
    expect(ofType(bench.queue, 'pre-vote-response')).toEqual([expect.objectContaining({ from: 'm2', term: 1, granted: true })]);

    // m1 now campaigns for real: term 1, vote for itself, persisted with the vote requests.
    bench.deliver((message) => message.type === 'pre-vote-response');
    expect(bench.node('m1').role).toBe('candidate');
    const campaign = bench.readies.get('m1')!.at(-1)!;
    expect(campaign.hardState).toEqual({ term: 1, vote: 'm1', commitIndex: 0 });
    expect(ofType(campaign.messages, 'vote-request')).toHaveLength(2);

    // m2's grant is in the same Ready as its persisted vote.
    bench.deliver((message) => message.type === 'vote-request' && message.to === 'm2');
    const voterReady = bench.readies.get('m2')!.at(-1)!;
    expect(voterReady.hardState).toEqual({ term: 1, vote: 'm1', commitIndex: 0 });
    expect(voterReady.messages).toEqual([expect.objectContaining({ type: 'vote-response', granted: true })]);
    expect(bench.disks.get('m2')!.snapshot().hardState.vote).toBe('m1');

    bench.deliver();
    expect(bench.node('m1').role).toBe('leader');
    expect(bench.node('m1').entries()).toEqual([{ index: 1, term: 1, kind: 'noop' }]);
    expect(THREE.map((id) => bench.node(id).commitIndex)).toEqual([1, 1, 1]);
    expect(THREE.map((id) => bench.node(id).leaderId)).toEqual(['m1', 'm1', 'm1']);
  });

  it('grants one vote per term, and only to a candidate whose log is at least as up to date (§5.4.1)', () => {
    const bench = new Bench(THREE, { preVote: false });
    bench.elect('m1');
    bench.propose('m1', 'a');
    bench.deliver();
    // m3 misses the next entry: its log is now behind m2's.
    bench.propose('m1', 'b');
    bench.deliver((message) => message.to !== 'm3' && message.from !== 'm3');
    bench.crash('m1');

    // m3, behind, campaigns in term 2: m2 refuses (log), and m2 has not voted in term 2 yet.
    bench.nowMs += 2 * ELECTION_MS;
    bench.campaign('m3');
    bench.deliver((message) => message.to === 'm2');
    expect(ofType(bench.queue, 'vote-response')).toEqual([expect.objectContaining({ from: 'm2', term: 2, granted: false })]);
    expect(bench.node('m2').vote).toBeUndefined();
    bench.deliver();
    // One refusal, and m1 is down: undecided.
    expect(bench.node('m3').role).toBe('candidate');

    // m2 campaigns in term 3 and wins m3's vote; a rival in the same term is refused.
    bench.campaign('m2');
    const requests = [...bench.queue];
    bench.deliver((message) => message.to === 'm3');
    expect(bench.node('m3').vote).toBe('m2');
    const rival: RaftMessage = { type: 'vote-request', from: 'm1', to: 'm3', term: bench.node('m3').term, lastLogIndex: 99, lastLogTerm: 99 };
    const answer = bench.handle('m3', bench.node('m3').receive(bench.nowMs, rival));
    expect(answer.messages).toEqual([expect.objectContaining({ type: 'vote-response', to: 'm1', granted: false })]);
    expect(requests).toHaveLength(2);
  });

  it('on the seeded harness, 3 and 5 members elect exactly one leader, known to all, within two election timeouts plus a few round trips', () => {
    for (const size of [3, 5]) {
      for (let seed = 1; seed <= 10; seed++) {
        const cluster = new RaftCluster({ size, seed });
        const elected = cluster.runUntil(() => {
          const leader = cluster.leader();
          return leader !== undefined && cluster.ids.every((id) => cluster.node(id)!.leaderId === leader);
        }, 2 * ELECTION_MS + 100);
        expect(elected, `size ${size} seed ${seed}`).toBe(true);
        expect(cluster.ids.filter((id) => cluster.node(id)!.role === 'leader')).toHaveLength(1);
      }
    }
  });
});

// ------------------------------------------------------------------ pre-vote and check-quorum

describe('pre-vote and check-quorum', () => {
  it('a member cut off for 10 s does not raise its term (its pre-votes fail), and rejoining does not disturb the leader', () => {
    const cluster = new RaftCluster({ size: 3, seed: 3 });
    cluster.runUntil(() => cluster.leader() !== undefined, 5_000);
    cluster.runFor(500);
    const leader = cluster.leader()!;
    const term = cluster.node(leader)!.term;
    const loner = cluster.ids.find((id) => id !== leader)!;
    cluster.isolate(loner);
    cluster.runFor(10_000);
    expect(cluster.node(loner)!.term).toBe(term);
    expect(cluster.node(loner)!.role).toBe('pre-candidate');
    cluster.heal();
    cluster.runFor(3_000);
    expect(cluster.leader()).toBe(leader);
    expect(cluster.node(leader)!.term).toBe(term);
    expect(cluster.node(loner)!.leaderId).toBe(leader);
  });

  it('without pre-vote and check-quorum, the same rejoining member deposes the leader (what the two prevent)', () => {
    const cluster = new RaftCluster({ size: 3, seed: 3, settings: { preVote: false, checkQuorum: false } });
    cluster.runUntil(() => cluster.leader() !== undefined, 5_000);
    cluster.runFor(500);
    const leader = cluster.leader()!;
    const term = cluster.node(leader)!.term;
    const loner = cluster.ids.find((id) => id !== leader)!;
    cluster.isolate(loner);
    cluster.runFor(10_000);
    expect(cluster.node(loner)!.term).toBeGreaterThan(term + 3);
    cluster.heal();
    cluster.runFor(3_000);
    expect(cluster.node(cluster.leader()!)!.term).toBeGreaterThan(term + 3);
  });

  it('a follower in its leader lease ignores a vote request from a higher term: no answer, no term change', () => {
    const bench = new Bench(THREE);
    bench.elect('m1');
    bench.nowMs += 500;
    bench.tick('m1', bench.nowMs + 100); // a heartbeat renews the lease
    bench.deliver();
    const intruder: RaftMessage = { type: 'vote-request', from: 'm3', to: 'm2', term: 9, lastLogIndex: 50, lastLogTerm: 9 };
    const ready = bench.handle('m2', bench.node('m2').receive(bench.nowMs, intruder));
    expect(ready.messages).toEqual([]);
    expect(bench.node('m2').term).toBe(1);
    // Once the lease has run out (no leader for an election timeout) the same request is heard.
    bench.nowMs += ELECTION_MS;
    const later = bench.handle('m2', bench.node('m2').receive(bench.nowMs, intruder));
    expect(bench.node('m2').term).toBe(9);
    expect(later.messages).toEqual([expect.objectContaining({ type: 'vote-response', granted: true, term: 9 })]);
  });

  it('a leader cut off from the majority steps down within two election timeouts (check-quorum), and its pending reads fail', () => {
    const cluster = new RaftCluster({ size: 3, seed: 5 });
    cluster.runUntil(() => cluster.leader() !== undefined, 5_000);
    cluster.runFor(300);
    const leader = cluster.leader()!;
    cluster.isolate(leader);
    const { requestId } = cluster.read(leader);
    const cutAtMs = cluster.nowMs;
    cluster.runUntil(() => cluster.node(leader)!.role !== 'leader', 2 * ELECTION_MS);
    expect(cluster.node(leader)!.role).toBe('follower');
    expect(cluster.nowMs - cutAtMs).toBeLessThanOrEqual(2 * ELECTION_MS);
    expect(cluster.abortedReads).toContain(requestId);
    // Meanwhile the majority elected its own leader in a later term.
    cluster.runFor(3_000);
    const successor = cluster.leader()!;
    expect(successor).not.toBe(leader);
    expect(cluster.node(successor)!.term).toBeGreaterThan(cluster.node(leader)!.term);
  });

  it('without check-quorum an isolated leader stays leader (a stale one: why ReadIndex needs its heartbeat round)', () => {
    const cluster = new RaftCluster({ size: 3, seed: 5, settings: { checkQuorum: false } });
    cluster.runUntil(() => cluster.leader() !== undefined, 5_000);
    const leader = cluster.leader()!;
    cluster.isolate(leader);
    cluster.runFor(5_000);
    expect(cluster.node(leader)!.role).toBe('leader');
    // It cannot confirm a read, though: no majority answers its heartbeats.
    const { result, requestId } = cluster.read(leader);
    expect(result.ok).toBe(true);
    cluster.runFor(2_000);
    expect(cluster.servedReads.map((read) => read.requestId)).not.toContain(requestId);
  });
});

// ------------------------------------------------------------------ replication

describe('log replication', () => {
  it('a follower appends what the leader sends and reports the match in the same Ready as the entries to persist', () => {
    const bench = new Bench(THREE);
    bench.elect('m1');
    bench.propose('m1', 'x');
    bench.deliver((message) => message.to === 'm2');
    const followerReady = bench.readies.get('m2')!.at(-1)!;
    expect(followerReady.entries).toEqual([{ index: 2, term: 1, kind: 'command', data: 'x' }]);
    expect(followerReady.messages).toEqual([expect.objectContaining({ type: 'append-accepted', matchIndex: 2 })]);
    bench.deliver();
    expect(THREE.map((id) => bench.node(id).commitIndex)).toEqual([2, 2, 2]);
    expect(bench.applied.get('m3')!.map((entry) => entry.index)).toEqual([1, 2]);
  });

  it('replaces a diverging uncommitted suffix, skipping a whole conflicting term per round trip (fast backtracking)', () => {
    const bench = new Bench(THREE, { preVote: false });
    // Term 1: everyone holds 1..10.
    bench.elect('m1');
    for (let i = 0; i < 9; i++) bench.propose('m1', `shared${i}`);
    bench.deliver();
    // m1 then appends 30 entries of term 1 that only it holds (11..40).
    for (let i = 0; i < 30; i++) bench.propose('m1', `lost${i}`);
    bench.queue = [];
    bench.crash('m1');
    // m2 leads term 2 with m3 and appends 11..31 of term 2; then leads term 3 too.
    bench.elect('m2', ['m2', 'm3']);
    for (let i = 0; i < 20; i++) bench.propose('m2', `kept${i}`);
    bench.deliverAmong(['m2', 'm3']);
    bench.crash('m2');
    bench.restart('m2');
    bench.elect('m2', ['m2', 'm3']);
    expect(terms(bench.node('m2')).slice(9)).toEqual([1, ...Array<number>(21).fill(2), 3]);
    // m1 comes back. Entry by entry, m2 would need 21 rejections to find where m1 diverges (index 11).
    bench.restart('m1');
    bench.tick('m2', bench.nowMs + 100);
    const delivered = bench.deliver();
    expect(ofType(delivered, 'append-rejected')).toHaveLength(1);
    expect(bench.node('m1').entries()).toEqual(bench.node('m2').entries());
    expect(bench.node('m1').commitIndex).toBe(32);
  });

  it('votes by the up-to-date rule (§5.4.1): a later last term wins over a longer log', () => {
    const voter = new RaftNode({ config: { id: 'm2', members: THREE }, random: fixedRandom(), nowMs: 0 });
    voter.restore({ term: 2, vote: undefined, commitIndex: 0 }, [
      { index: 1, term: 1, kind: 'noop' },
      { index: 2, term: 2, kind: 'noop' },
    ]);
    const ask = (from: string, term: number, lastLogIndex: number, lastLogTerm: number) =>
      voter.receive(10_000, { type: 'vote-request', from, to: 'm2', term, lastLogIndex, lastLogTerm }).messages[0];
    expect(ask('m1', 3, 9, 1)).toMatchObject({ granted: false });
    expect(ask('m3', 4, 1, 2)).toMatchObject({ granted: false });
    expect(ask('m3', 5, 1, 3)).toMatchObject({ granted: true });
  });

  it('a follower commits only up to the last entry the message vouched for, never its own stale suffix', () => {
    const follower = new RaftNode({ config: { id: 'm2', members: THREE }, random: fixedRandom(), nowMs: 0 });
    // m2 holds 1@1, 2@2, 3@2: the last from a leader of term 2 that lost it.
    follower.restore({ term: 2, vote: undefined, commitIndex: 1 }, [
      { index: 1, term: 1, kind: 'noop' },
      { index: 2, term: 2, kind: 'noop' },
      { index: 3, term: 2, kind: 'command', data: 'stale' },
    ]);
    // The leader of term 3 has 3@3 committed, and sends only up to index 2.
    const ready = follower.receive(10, {
      type: 'append',
      from: 'm1',
      to: 'm2',
      term: 3,
      prevLogIndex: 1,
      prevLogTerm: 1,
      entries: [{ index: 2, term: 2, kind: 'noop' }],
      commitIndex: 3,
    });
    expect(follower.commitIndex).toBe(2);
    // (Index 1 was handed out by restore.)
    expect(ready.committedEntries.map((entry) => entry.index)).toEqual([2]);
    expect(follower.lastIndex).toBe(3);
  });

  it('a delayed, shorter copy of an append does not cut off entries a later one added', () => {
    const bench = new Bench(THREE);
    bench.elect('m1');
    bench.propose('m1', 'a');
    const early = bench.queue.find((message) => message.type === 'append' && message.to === 'm2')!;
    bench.deliver((message) => message !== early);
    bench.propose('m1', 'b');
    bench.deliver();
    expect(bench.node('m2').lastIndex).toBe(3);
    const answer = bench.handle('m2', bench.node('m2').receive(bench.nowMs, early));
    expect(bench.node('m2').lastIndex).toBe(3);
    expect(answer.entries).toEqual([]);
    expect(answer.messages).toEqual([expect.objectContaining({ type: 'append-accepted' })]);
  });

  it('throws ERR_RAFT_INVARIANT rather than overwrite a committed entry', () => {
    const follower = new RaftNode({ config: { id: 'm2', members: THREE }, random: fixedRandom(), nowMs: 0 });
    follower.restore({ term: 2, vote: undefined, commitIndex: 2 }, [
      { index: 1, term: 1, kind: 'noop' },
      { index: 2, term: 2, kind: 'noop' },
    ]);
    // A (broken) leader claims index 2 is a term-3 entry; the consistency check at index 1 passes.
    const bad: RaftMessage = { type: 'append', from: 'm1', to: 'm2', term: 3, prevLogIndex: 1, prevLogTerm: 1, entries: [{ index: 2, term: 3, kind: 'noop' }], commitIndex: 2 };
    // At or below the commit index the append is answered, not applied (it is known to match)...
    expect(follower.receive(1, bad).messages).toEqual([expect.objectContaining({ type: 'append-accepted', matchIndex: 2 })]);
    // ...and past it, a log that disagrees with a committed entry is a broken invariant.
    const worse: RaftMessage = { ...bad, prevLogIndex: 2, prevLogTerm: 3, entries: [] };
    expect(follower.receive(2, worse).messages).toEqual([expect.objectContaining({ type: 'append-rejected', rejectedIndex: 2 })]);
    const twoLeaders: RaftMessage = { type: 'heartbeat', from: 'm3', to: 'm2', term: 3, commitIndex: 0, readRound: 0 };
    expect(() => follower.receive(3, twoLeaders)).toThrow(RaftInvariantError);
    expect(() => follower.receive(4, twoLeaders)).toThrow(expect.objectContaining({ code: 'ERR_RAFT_INVARIANT' }));
  });

  it('sends at most maxEntriesPerAppend entries per message and keeps at most maxInflightAppends in flight to a follower', () => {
    const bench = new Bench(THREE, { maxEntriesPerAppend: 3, maxInflightAppends: 2 });
    bench.elect('m1');
    for (let i = 0; i < 20; i++) bench.propose('m1', `e${i}`);
    const toM2 = ofType(bench.queue, 'append').filter((message) => message.to === 'm2');
    expect(toM2.length).toBeLessThanOrEqual(2);
    for (const message of toM2) expect(message.entries.length).toBeLessThanOrEqual(3);
    expect(bench.node('m1').peerProgress('m2')).toMatchObject({ state: 'replicate', inflight: 2 });
    bench.deliver();
    expect(THREE.map((id) => bench.node(id).commitIndex)).toEqual([21, 21, 21]);
    for (const ready of bench.readies.get('m2')!) expect(ready.entries.length).toBeLessThanOrEqual(3);
  });

  it('refuses proposals with typed results: not leader (with a hint), too many uncommitted, log full', () => {
    const bench = new Bench(THREE, { maxUncommittedEntries: 3, maxLogEntries: 6 });
    bench.elect('m1');
    expect(bench.propose('m2', 'x')).toEqual({ ok: false, code: 'ERR_RAFT_NOT_LEADER', leaderHint: 'm1' });
    // Followers unreachable: entries pile up uncommitted.
    bench.queue = [];
    expect([1, 2, 3].map((i) => bench.propose('m1', `u${i}`).ok)).toEqual([true, true, true]);
    expect(bench.propose('m1', 'u4')).toEqual({ ok: false, code: 'ERR_RAFT_PROPOSALS_FULL' });
    // Reachable again: they commit, and the log fills up to maxLogEntries.
    bench.tick('m1', bench.nowMs + 100);
    bench.deliver();
    expect(bench.node('m1').commitIndex).toBe(4);
    expect([5, 6].map((i) => bench.propose('m1', `v${i}`).ok)).toEqual([true, true]);
    expect(bench.propose('m1', 'v7')).toEqual({ ok: false, code: 'ERR_RAFT_LOG_FULL' });
  });

  it('a leader elected with a full log cannot append its no-op: RaftLogFullError, since the model keeps the whole log', () => {
    const bench = new Bench(['solo'], { maxLogEntries: 2 });
    bench.campaign('solo');
    bench.propose('solo', 'fills');
    bench.crash('solo');
    bench.restart('solo');
    expect(() => bench.campaign('solo')).toThrow(RaftLogFullError);
  });
});

// ------------------------------------------------------------------ the commit rule

describe('commit rule (§5.4.2, Figure 8)', () => {
  it('a leader does not commit an entry of an earlier term by counting replicas: a later leader could still overwrite it', () => {
    // Raft's Figure 8, with each leader's no-op as the figure's entries.
    const bench = new Bench(FIVE, { preVote: false, maxEntriesPerAppend: 1 });
    const isVote = (message: RaftMessage) => message.type === 'vote-request' || message.type === 'vote-response';
    /** `id` campaigns (again, while it loses) with only votes delivered; appends stay queued. */
    const winVotes = (id: string): void => {
      for (let round = 0; round < 5 && bench.node(id).role !== 'leader'; round++) {
        bench.nowMs += 2 * ELECTION_MS;
        bench.campaign(id);
        bench.deliver(isVote);
      }
      expect(bench.node(id).role).toBe('leader');
    };
    // Term 1: everyone holds 1@1.
    bench.elect('m1');
    // (a) m1 leads term 2; its entry 2@2 reaches m2 only.
    bench.crash('m1');
    bench.restart('m1');
    winVotes('m1');
    bench.deliverAmong(['m1', 'm2']);
    expect(FIVE.map((id) => terms(bench.node(id)).join(''))).toEqual(['12', '12', '1', '1', '1']);
    // (b) m1 crashes; m5 leads term 3 (votes of m3, m4) with its entry 2@3, which no one else gets.
    bench.crash('m1');
    winVotes('m5');
    expect(bench.node('m5').term).toBe(3);
    bench.queue = [];
    bench.crash('m5');
    // (c) m1 restarts and leads term 4 (m2, m3, m4); it gets 2@2 to m3 and m4, not its own 3@4 to anyone.
    bench.restart('m1');
    winVotes('m1');
    expect(bench.node('m1').term).toBe(4);
    expect(terms(bench.node('m1'))).toEqual([1, 2, 4]);
    bench.queue = [];
    // Appends carrying index 3 are held back, unless bound to be rejected (the follower lacks their previous entry).
    const holdsBackIndex3 = (message: RaftMessage): boolean => {
      if (['m3', 'm4'].includes(message.from)) return true;
      if (!['m3', 'm4'].includes(message.to)) return false;
      if (message.type !== 'append') return true;
      return message.entries.every((entry) => entry.index <= 2) || message.prevLogIndex > bench.node(message.to).lastIndex;
    };
    for (let round = 0; round < 10; round++) {
      bench.tick('m1', bench.nowMs + 100);
      bench.deliver(holdsBackIndex3);
      bench.queue = [];
    }
    expect(['m1', 'm2', 'm3', 'm4'].map((id) => bench.node(id).termAt(2))).toEqual([2, 2, 2, 2]);
    expect(['m3', 'm4'].map((id) => bench.node(id).lastIndex)).toEqual([2, 2]);
    // m1 knows that m3 and m4 match it up to 2@2: with itself, a majority. Yet 2@2 is not committed, for it is not of term 4.
    expect(['m3', 'm4'].map((id) => bench.node('m1').peerProgress(id)!.matchIndex)).toEqual([2, 2]);
    expect(bench.node('m1').commitIndex).toBe(1);
    expect(bench.applied.get('m1')!.map((entry) => entry.index)).toEqual([1]);
    // (d) Rightly so: m1 crashes; m5 restarts and wins term 5 (its last term, 3, beats the others' 2)...
    bench.crash('m1');
    bench.restart('m5');
    winVotes('m5');
    expect(bench.node('m5').term).toBe(5);
    // ...and replaces 2@2 everywhere.
    bench.tick('m5', bench.nowMs + 100);
    for (let round = 0; round < 5; round++) {
      bench.deliver();
      bench.tick('m5', bench.nowMs + 100);
    }
    expect(['m2', 'm3', 'm4'].map((id) => terms(bench.node(id)).join(''))).toEqual(['135', '135', '135']);
    expect(bench.node('m3').commitIndex).toBe(3);
  });

  it('(e) once the leader of term 4 replicates its own entry to a majority, the earlier-term entry commits with it', () => {
    const bench = new Bench(THREE, { preVote: false, maxEntriesPerAppend: 1 });
    bench.elect('m1');
    bench.queue = [];
    bench.propose('m1', 'old');
    bench.crash('m1');
    bench.restart('m1');
    bench.elect('m1', ['m1', 'm3']);
    // m1's log: 1@1, 2@1 (uncommitted, old term), 3@2 (its no-op), and it reaches m3 with both.
    expect(terms(bench.node('m1'))).toEqual([1, 1, 2]);
    bench.tick('m1', bench.nowMs + 100);
    for (let round = 0; round < 10; round++) {
      bench.deliverAmong(['m1', 'm3']);
      bench.tick('m1', bench.nowMs + 100);
    }
    expect(bench.node('m1').commitIndex).toBe(3);
    expect(bench.applied.get('m1')!.map((entry) => entry.kind === 'command' && entry.data)).toEqual([false, 'old', false]);
  });
});

// ------------------------------------------------------------------ ReadIndex

describe('ReadIndex', () => {
  it('answers at the commit index once a majority has answered a heartbeat sent after the read, and the index is applied', () => {
    const bench = new Bench(THREE);
    bench.elect('m1');
    bench.propose('m1', 'x');
    bench.deliver();
    const { result, ready } = bench.node('m1').readIndex(bench.nowMs, 'q1');
    expect(result).toEqual({ ok: true });
    expect(ready.readStates).toEqual([]);
    expect(ofType(ready.messages, 'heartbeat').map((message) => message.readRound)).toEqual([1, 1]);
    bench.handle('m1', ready);
    // One follower's answer makes a majority with the leader.
    bench.deliver((message) => message.from === 'm2' || message.to === 'm2');
    const answered = bench.readies.get('m1')!.flatMap((each) => each.readStates);
    expect(answered).toEqual([{ requestId: 'q1', index: 2 }]);
  });

  it('a new leader holds reads until it has committed an entry of its own term', () => {
    const bench = new Bench(THREE);
    bench.nowMs += 2 * ELECTION_MS;
    bench.campaign('m1');
    bench.deliver((message) => message.type !== 'append' && message.type !== 'append-accepted');
    expect(bench.node('m1').role).toBe('leader');
    bench.queue = bench.queue.filter((message) => message.type === 'append');
    const { ready } = bench.node('m1').readIndex(bench.nowMs, 'early');
    expect(ready.messages).toEqual([]);
    bench.handle('m1', ready);
    bench.deliver();
    expect(bench.readies.get('m1')!.flatMap((each) => each.readStates)).toEqual([{ requestId: 'early', index: 1 }]);
  });

  it('followers refuse with a leader hint; a full read queue refuses with ERR_RAFT_READS_FULL', () => {
    const bench = new Bench(THREE, { maxPendingReads: 2 });
    bench.elect('m1');
    expect(bench.node('m2').readIndex(bench.nowMs, 'f').result).toEqual({ ok: false, code: 'ERR_RAFT_NOT_LEADER', leaderHint: 'm1' });
    bench.queue = [];
    expect(bench.node('m1').readIndex(bench.nowMs, 'a').result.ok).toBe(true);
    expect(bench.node('m1').readIndex(bench.nowMs, 'b').result.ok).toBe(true);
    expect(bench.node('m1').readIndex(bench.nowMs, 'c').result).toEqual({ ok: false, code: 'ERR_RAFT_READS_FULL' });
  });

  it('a deposed leader that learns of a newer term aborts its unconfirmed reads, naming the new leader', () => {
    const bench = new Bench(THREE);
    bench.elect('m1');
    bench.queue = [];
    bench.handle('m1', bench.node('m1').readIndex(bench.nowMs, 'stale').ready);
    bench.queue = [];
    const newer: RaftMessage = { type: 'append', from: 'm2', to: 'm1', term: 7, prevLogIndex: 0, prevLogTerm: 0, entries: [], commitIndex: 0 };
    const ready = bench.handle('m1', bench.node('m1').receive(bench.nowMs, newer));
    expect(ready.abortedReads).toEqual([{ requestId: 'stale', code: 'ERR_RAFT_NOT_LEADER', leaderHint: 'm2' }]);
    expect(ready.leadership).toEqual({ role: 'follower', leaderId: 'm2', term: 7 });
  });
});

// ------------------------------------------------------------------ restart and the call contract

describe('restart from storage, and the call contract', () => {
  it('a restarted member resumes its term, vote and log, re-delivers its committed prefix, and will not vote again in that term', () => {
    const bench = new Bench(THREE);
    bench.elect('m1');
    bench.propose('m1', 'a');
    bench.propose('m1', 'b');
    bench.deliver();
    const before = bench.node('m2');
    const { term, vote, entries } = { term: before.term, vote: before.vote, entries: [...before.entries()] };
    bench.crash('m2');
    const ready = bench.restart('m2');
    const after = bench.node('m2');
    expect([after.term, after.vote, after.entries()]).toEqual([term, vote, entries]);
    expect(ready.committedEntries.map((entry) => entry.index)).toEqual([1, 2, 3]);
    expect(ready.hardState).toBeUndefined();
    const rival: RaftMessage = { type: 'vote-request', from: 'm3', to: 'm2', term, lastLogIndex: 10, lastLogTerm: term };
    expect(after.receive(bench.nowMs + 5_000, rival).messages).toEqual([expect.objectContaining({ type: 'vote-response', granted: false })]);
  });

  it('restore refuses a log with a gap, a commit index past the log, a log from a later term than the hard state, or a late call', () => {
    const fresh = () => new RaftNode({ config: { id: 'm1', members: THREE }, random: fixedRandom(), nowMs: 0 });
    const state = (commitIndex: number, term = 2): HardState => ({ term, vote: undefined, commitIndex });
    expect(() => fresh().restore(state(0), [{ index: 2, term: 1, kind: 'noop' }])).toThrow(RaftInvariantError);
    expect(() => fresh().restore(state(3), [{ index: 1, term: 1, kind: 'noop' }])).toThrow(/commit index 3 past/);
    expect(() => fresh().restore(state(0, 1), [{ index: 1, term: 2, kind: 'noop' }])).toThrow(/after the restored term/);
    const late = fresh();
    late.tick(1);
    expect(() => late.restore(INITIAL_HARD_STATE, [])).toThrow(RaftUsageError);
  });

  it('refuses time going backwards, and a Ready advanced twice or out of order (ERR_RAFT_USAGE)', () => {
    const bench = new Bench(['solo']);
    bench.campaign('solo');
    const node = bench.node('solo');
    expect(() => node.tick(bench.nowMs - 1)).toThrow(expect.objectContaining({ code: 'ERR_RAFT_USAGE' }));
    const first = node.propose(bench.nowMs, 'a').ready;
    const second = node.propose(bench.nowMs, 'b').ready;
    expect(() => node.advance(bench.nowMs, second)).toThrow(/out of order or twice/);
    node.advance(bench.nowMs, first);
    node.advance(bench.nowMs, second);
    expect(() => node.advance(bench.nowMs, second)).toThrow(RaftUsageError);
    expect(node.appliedIndex).toBe(3);
  });

  it('hands out at most maxCommittedEntriesPerReady committed entries at a time; advance returns the rest', () => {
    const bench = new Bench(['solo'], { maxCommittedEntriesPerReady: 4 });
    bench.campaign('solo');
    for (let i = 0; i < 10; i++) bench.propose('solo', `e${i}`);
    bench.crash('solo');
    const node = new RaftNode({ config: { id: 'solo', members: ['solo'], maxCommittedEntriesPerReady: 4 }, random: fixedRandom(), nowMs: bench.nowMs });
    const { hardState, entries } = bench.disks.get('solo')!.snapshot();
    let ready = node.restore(hardState, entries);
    const batches: number[] = [];
    while (ready.committedEntries.length > 0) {
      batches.push(ready.committedEntries.length);
      ready = node.advance(bench.nowMs, ready);
    }
    expect(batches).toEqual([4, 4, 3]);
  });

  it('storage replaces the stored log from the first new entry on, and refuses an update that would leave a gap', () => {
    const log: RaftEntry[] = [];
    const entry = (index: number, term: number): RaftEntry => ({ index, term, kind: 'noop' });
    applyStorageUpdate(log, { hardState: undefined, entries: [entry(1, 1), entry(2, 1), entry(3, 1)] });
    applyStorageUpdate(log, { hardState: undefined, entries: [entry(2, 2)] });
    expect(log.map((each) => each.term)).toEqual([1, 2]);
    expect(() => applyStorageUpdate(log, { hardState: undefined, entries: [entry(4, 2)] })).toThrow(RaftInvariantError);
  });
});
