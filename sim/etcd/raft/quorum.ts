// Majority arithmetic, shared by elections, commit and ReadIndex.

export function quorumSize(memberCount: number): number {
  return Math.floor(memberCount / 2) + 1;
}

/**
 * The highest value that a majority has reached: with every member's value
 * (match index, acknowledged read round), the quorum-th largest.
 */
export function majorityValue(values: readonly number[], memberCount: number): number {
  const sorted = [...values].sort((a, b) => b - a);
  return sorted[quorumSize(memberCount) - 1] ?? 0;
}

export type VoteOutcome = 'won' | 'lost' | 'pending';

export function voteOutcome(votes: ReadonlyMap<string, boolean>, memberCount: number): VoteOutcome {
  let granted = 0;
  let refused = 0;
  for (const vote of votes.values()) {
    if (vote) granted++;
    else refused++;
  }
  const quorum = quorumSize(memberCount);
  if (granted >= quorum) return 'won';
  if (refused > memberCount - quorum) return 'lost';
  return 'pending';
}
