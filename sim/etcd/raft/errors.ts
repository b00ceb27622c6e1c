// Errors the Raft core throws. Each one is a bug or a misuse, never a network
// event: lost, late, duplicated and reordered messages are normal inputs and
// never throw. Refusals a client must handle (not leader, too many
// proposals) are results, not exceptions: see results.ts.

/** Raft's safety rules broke inside this node: a bug, loud on purpose so that the fuzzer finds it. */
export class RaftInvariantError extends Error {
  readonly code = 'ERR_RAFT_INVARIANT';
  constructor(nodeId: string, problem: string) {
    super(`ERR_RAFT_INVARIANT: ${nodeId}: ${problem}`);
    this.name = 'RaftInvariantError';
  }
}

/** A bad setting or membership given at construction. */
export class RaftConfigError extends Error {
  readonly code = 'ERR_RAFT_CONFIG';
  /** The setting at fault, e.g. "electionTimeoutMs". */
  readonly field: string;
  constructor(field: string, problem: string) {
    super(`ERR_RAFT_CONFIG: ${field}: ${problem}`);
    this.name = 'RaftConfigError';
    this.field = field;
  }
}

/** The driver broke the call contract: time went backwards, restore after input, a Ready advanced out of order. */
export class RaftUsageError extends Error {
  readonly code = 'ERR_RAFT_USAGE';
  constructor(nodeId: string, problem: string) {
    super(`ERR_RAFT_USAGE: ${nodeId}: ${problem}`);
    this.name = 'RaftUsageError';
  }
}

/**
 * The log reached `maxLogEntries`. The model has no snapshots or compaction,
 * so the log only grows: a run that needs more entries must raise the limit.
 * Proposals are refused before this (a result, ERR_RAFT_LOG_FULL); it is thrown
 * only when a newly elected leader cannot append its no-op, or a restore or a
 * follower would go past it.
 */
export class RaftLogFullError extends Error {
  readonly code = 'ERR_RAFT_LOG_FULL';
  constructor(nodeId: string, maxLogEntries: number) {
    super(`ERR_RAFT_LOG_FULL: ${nodeId}: the log would exceed maxLogEntries (${maxLogEntries}); this model keeps the whole log (no snapshots)`);
    this.name = 'RaftLogFullError';
  }
}
