// The Raft core of the etcd model: a sans-IO node (node.ts), its messages,
// its effects (results.ts), and the storage contract its driver implements.
// No snapshots: the log keeps every entry, up to maxLogEntries.
export { RaftNode, type RaftNodeOptions } from './node.js';
export { RAFT_DEFAULTS, resolveRaftConfig, type RaftConfig, type RaftConfigInput } from './config.js';
export { RaftConfigError, RaftInvariantError, RaftLogFullError, RaftUsageError } from './errors.js';
export { describeMessage, type RaftMessage, type RaftMessageType } from './messages.js';
export type * from './messages.js';
export { isEmptyReady, type AbortedRead, type Leadership, type ProposeResult, type RaftReady, type RaftRefusalCode, type ReadIndexResult, type ReadState } from './results.js';
export { MemoryRaftStorage, applyStorageUpdate, type RaftPersistedState, type RaftStorage, type RaftStorageUpdate } from './storage.js';
export { INITIAL_HARD_STATE, describeEntry, sameData, sameEntry, type HardState, type NodeId, type RaftData, type RaftEntry, type RaftRandom, type RaftRole } from './types.js';
export { quorumSize } from './quorum.js';
