// The etcd invariants over a run's record: the client history is
// linearizable, no acknowledged write is lost, at most one leader per term,
// and the members' view of who leads. Each returns invariant results that say
// what broke.
import { invariant, type InvariantResult } from '../scenario.js';
import { checkHistory, describeOperation, isPending, type KvOperation } from './linearizability/index.js';
import type { LeadershipRecord } from './cluster.js';

export function checkLinearizable(history: readonly KvOperation[]): { result: InvariantResult; steps: number } {
  const check = checkHistory(history);
  if (check.verdict === 'linearizable') {
    return { result: invariant('the history is linearizable', true, `${check.operations} operations on ${check.keys} keys (${check.dropped} that did nothing dropped), ${check.steps} search steps`), steps: check.steps };
  }
  if (check.verdict === 'unknown') {
    return { result: invariant('the history is linearizable', false, `the checker gave up (${check.reason}) on keys ${check.undecidedKeys.join(', ')}`), steps: check.steps };
  }
  const offending = check.offending.map(({ index, operation }) => `#${index} ${describeOperation(operation)}`).join('; ');
  return { result: invariant('the history is linearizable', false, `key ${check.key}: ${check.offending.length} operations admit no order${check.minimal ? '' : ' (not fully shrunk)'}: ${offending}`), steps: check.steps };
}

/**
 * The acknowledged write that certainly came last on its key (every other
 * write to the key had returned before it began) must be what the final
 * reads see: a committed write never disappears, across crashes included.
 */
export function checkAcknowledgedWritesKept(history: readonly KvOperation[]): InvariantResult {
  const lost: string[] = [];
  let checked = 0;
  const keys = new Set(history.map((operation) => operation.key));
  for (const key of keys) {
    const writes = history.filter((operation) => operation.key === key && operation.op !== 'get' && operation.ok !== false && !(operation.op === 'cas' && operation.result === false));
    const finals = history.filter((operation) => operation.key === key && operation.op === 'get' && (operation.meta as { final?: boolean } | undefined)?.final === true && operation.ok !== false);
    // Certainly last: every other write had returned before it began (a pending one may still land at any time).
    const last = writes.find((write) => !isPending(write) && writes.every((other) => other === write || (!isPending(other) && (other.returnMs as number) < write.invokeMs)));
    if (last === undefined || finals.length === 0) continue;
    checked++;
    const expected = last.op === 'delete' ? null : (last as { value: string }).value;
    for (const read of finals) {
      if (read.op === 'get' && read.result !== expected) lost.push(`${key}: the last write ${describeOperation(last)} was acknowledged, but a final read saw ${JSON.stringify(read.result)}`);
    }
  }
  return invariant(
    'no acknowledged write is lost',
    lost.length === 0,
    lost.length === 0 ? `${checked} key(s) whose last write was acknowledged read back that write at the end` : lost.slice(0, 5).join('; '),
  );
}

export function checkOneLeaderPerTerm(leadership: readonly LeadershipRecord[]): InvariantResult {
  const leadersByTerm = new Map<number, Set<string>>();
  for (const record of leadership) {
    if (record.role !== 'leader') continue;
    const leaders = leadersByTerm.get(record.term) ?? new Set<string>();
    leaders.add(record.member);
    leadersByTerm.set(record.term, leaders);
  }
  const doubled = [...leadersByTerm].filter(([, leaders]) => leaders.size > 1);
  return invariant(
    'at most one leader per term',
    doubled.length === 0,
    doubled.length === 0
      ? `${leadersByTerm.size} term(s) with a leader, one each: ${[...leadersByTerm].map(([term, leaders]) => `${term}:${[...leaders][0]}`).join(' ')}`
      : doubled.map(([term, leaders]) => `term ${term}: ${[...leaders].join(' and ')}`).join('; '),
  );
}
