// Operations and verdicts as people read them: one operation per line, with
// its index in the history, its client, its interval and what it did.
import type { CheckResult } from './check-history.js';
import { isPending, type IndexedOperation, type KvOperation, type KvValue } from './operation.js';

/** `put("x")`, `get() -> "x"`, `cas("x" -> "y") -> true`, `delete() -> ?` (never returned). */
export function describeOperation(operation: KvOperation): string {
  const outcome = (known: string | undefined): string => {
    if (operation.ok === false) return ' -> failed, no effect';
    if (isPending(operation)) return ' -> ? (never returned)';
    return known === undefined ? '' : ` -> ${known}`;
  };
  switch (operation.op) {
    case 'put':
      return `put(${quote(operation.value)})${outcome(undefined)}`;
    case 'get':
      return `get()${outcome(operation.result === undefined ? undefined : quote(operation.result))}`;
    case 'delete':
      return `delete()${outcome(operation.result === undefined ? undefined : String(operation.result))}`;
    case 'cas':
      return `cas(${quote(operation.expected)} -> ${quote(operation.value)})${outcome(operation.result === undefined ? undefined : String(operation.result))}`;
  }
}

export function describeInterval(operation: KvOperation): string {
  return `[${operation.invokeMs} ms, ${isPending(operation) ? 'never returned' : `${operation.returnMs as number} ms`}]`;
}

/** Aligned lines: `  #12  client 3  [10 ms, 14 ms]  get() -> "x"`. */
export function renderOperations(operations: readonly IndexedOperation[], indent = '  '): string[] {
  const columns = operations.map(({ index, operation }) => [`#${index}`, `client ${operation.client}`, describeInterval(operation), describeOperation(operation)]);
  const widths = [0, 1, 2].map((c) => Math.max(0, ...columns.map((row) => (row[c] as string).length)));
  return columns.map((row) => indent + row.map((cell, c) => (c < 3 ? cell.padEnd(widths[c] as number) : cell)).join('  '));
}

/** The verdict and, when there is one, the offending sub-history. */
export function renderCheckResult(result: CheckResult): string {
  const scope = `${plural(result.operations, 'operation')}, ${plural(result.keys, 'key')}${result.dropped > 0 ? `, ${result.dropped} dropped (failed, or reads that never returned)` : ''}`;
  switch (result.verdict) {
    case 'linearizable':
      return `linearizable (${scope})`;
    case 'unknown':
      return [
        `unknown: the search gave up at its ${boundName(result.reason)} bound after ${result.steps} steps (${scope})`,
        `  undecided keys: ${result.undecidedKeys.map((key) => JSON.stringify(key)).join(', ')}`,
      ].join('\n');
    case 'not-linearizable':
      return [
        `not linearizable (${scope})`,
        `key ${JSON.stringify(result.key)}: ${result.offending.length === 1 ? 'this operation' : `these ${result.offending.length} operations`} cannot be put in any order that respects real time and register semantics${result.minimal ? '' : ' (shrinking ran out of budget; a smaller set may exist)'}:`,
        ...renderOperations(result.offending),
      ].join('\n');
  }
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function boundName(reason: 'steps' | 'time' | 'memory'): string {
  return reason === 'steps' ? 'step' : reason;
}

function quote(value: KvValue): string {
  return value === null ? 'null' : JSON.stringify(value);
}
