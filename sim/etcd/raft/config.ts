// Settings of a Raft node, with the product's defaults (etcd's heartbeat
// 100 ms and election timeout 1,000 ms), and the limits that bound every
// queue the node keeps.
import { RaftConfigError } from './errors.js';
import type { NodeId } from './types.js';

export interface RaftConfig {
  /** This member. */
  readonly id: NodeId;
  /** Every member of the cluster, this one included. Static: no reconfiguration. */
  readonly members: readonly NodeId[];
  /** A leader sends heartbeats this often. */
  readonly heartbeatIntervalMs: number;
  /**
   * A follower that hears no leader campaigns after a timeout drawn uniformly
   * from [electionTimeoutMs, 2 × electionTimeoutMs), as etcd does. It is also
   * the leader lease: a leader steps down when a majority has been silent for
   * this long (check-quorum), and a member that heard a leader within it
   * ignores (pre-)vote requests.
   */
  readonly electionTimeoutMs: number;
  /** Pre-vote round before a real election (Raft thesis §9.6). */
  readonly preVote: boolean;
  /** Leader steps down without a majority; followers in a leader lease ignore vote requests. */
  readonly checkQuorum: boolean;
  /** Entries per AppendEntries message. */
  readonly maxEntriesPerAppend: number;
  /** AppendEntries messages with entries in flight to one follower before the leader waits for acks. */
  readonly maxInflightAppends: number;
  /** Proposals are refused while this many entries are appended but uncommitted. */
  readonly maxUncommittedEntries: number;
  /** Hard bound on the log's length: no snapshots, so the log only grows. */
  readonly maxLogEntries: number;
  /** ReadIndex requests a leader holds at once (waiting for its heartbeat round or for apply). */
  readonly maxPendingReads: number;
  /** Committed entries handed out per Ready; the rest follow in later ones. */
  readonly maxCommittedEntriesPerReady: number;
}

export type RaftConfigInput = Pick<RaftConfig, 'id' | 'members'> & Partial<Omit<RaftConfig, 'id' | 'members'>>;

export const RAFT_DEFAULTS: Omit<RaftConfig, 'id' | 'members'> = Object.freeze({
  heartbeatIntervalMs: 100,
  electionTimeoutMs: 1_000,
  preVote: true,
  checkQuorum: true,
  maxEntriesPerAppend: 64,
  maxInflightAppends: 64,
  maxUncommittedEntries: 1_024,
  maxLogEntries: 100_000,
  maxPendingReads: 1_024,
  maxCommittedEntriesPerReady: 1_024,
});

/** Sane limits for a simulation; anything larger is surely a typo. */
const MEMBERS_MAX = 9;
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export function resolveRaftConfig(input: RaftConfigInput): RaftConfig {
  const config: RaftConfig = { ...RAFT_DEFAULTS, ...definedOnly(input), id: input.id, members: [...input.members] };
  checkMembers(config);
  for (const field of ['heartbeatIntervalMs', 'electionTimeoutMs', 'maxEntriesPerAppend', 'maxInflightAppends', 'maxUncommittedEntries', 'maxLogEntries', 'maxPendingReads', 'maxCommittedEntriesPerReady'] as const) {
    const value = config[field];
    if (!Number.isSafeInteger(value) || value < 1) throw new RaftConfigError(field, `must be a positive integer, got ${value}`);
  }
  if (config.heartbeatIntervalMs >= config.electionTimeoutMs) {
    throw new RaftConfigError('heartbeatIntervalMs', `must be below electionTimeoutMs (${config.electionTimeoutMs}), got ${config.heartbeatIntervalMs}`);
  }
  return Object.freeze(config);
}

function checkMembers(config: RaftConfig): void {
  if (!ID_PATTERN.test(config.id)) throw new RaftConfigError('id', `not a usable member id: ${JSON.stringify(config.id)}`);
  if (config.members.length < 1 || config.members.length > MEMBERS_MAX) {
    throw new RaftConfigError('members', `needs 1..${MEMBERS_MAX} members, got ${config.members.length}`);
  }
  const seen = new Set<NodeId>();
  for (const member of config.members) {
    if (!ID_PATTERN.test(member)) throw new RaftConfigError('members', `not a usable member id: ${JSON.stringify(member)}`);
    if (seen.has(member)) throw new RaftConfigError('members', `${member} listed twice`);
    seen.add(member);
  }
  if (!seen.has(config.id)) throw new RaftConfigError('members', `must include this member, ${config.id}`);
}

function definedOnly<T extends object>(input: T): Partial<T> {
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined)) as Partial<T>;
}
