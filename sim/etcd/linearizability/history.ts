// A whole history: the JSON document (sim/etcd/README.md) or an array built in
// code, checked operation by operation and then across operations.
import { HistoryError } from './history-error.js';
import { isPending, type KvOperation } from './operation.js';
import { readOperation } from './read-operation.js';

/** Far above any history a scenario records; a bound so that a runaway recorder fails loudly, not slowly. */
export const HISTORY_OPERATIONS_MAX = 1_000_000;

export interface History {
  /** One line saying what the history shows. */
  description?: string;
  operations: KvOperation[];
}

/** Parses the text of a history file; errors name `file`. */
export function parseHistoryText(text: string, file: string): History {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new HistoryError('ERR_HISTORY_JSON', `not JSON: ${(error as Error).message}`, { file });
  }
  try {
    return readHistory(document);
  } catch (error) {
    if (error instanceof HistoryError) throw error.inFile(file);
    throw error;
  }
}

/** Checks a parsed JSON document and returns the history it holds. */
export function readHistory(document: unknown): History {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new HistoryError('ERR_HISTORY_SHAPE', 'a history is an object: { "description": "...", "operations": [...] }');
  }
  const fields = document as Record<string, unknown>;
  for (const field of Object.keys(fields)) {
    if (field !== 'description' && field !== 'operations') {
      throw new HistoryError('ERR_HISTORY_SHAPE', `unknown field "${field}"; a history has "description" and "operations"`, { field });
    }
  }
  if (fields.description !== undefined && typeof fields.description !== 'string') {
    throw new HistoryError('ERR_HISTORY_SHAPE', 'must be a string', { field: 'description' });
  }
  if (!Array.isArray(fields.operations)) {
    throw new HistoryError('ERR_HISTORY_SHAPE', 'missing or not an array', { field: 'operations' });
  }
  const operations = validateOperations(fields.operations);
  return fields.description === undefined ? { operations } : { description: fields.description, operations };
}

/**
 * Checks every operation and the rules across them; returns well-typed copies.
 * The checker calls this on whatever it is given, so code that builds a
 * history by hand gets the same errors as a file would.
 */
export function validateOperations(raw: readonly unknown[]): KvOperation[] {
  if (raw.length > HISTORY_OPERATIONS_MAX) {
    throw new HistoryError('ERR_HISTORY_TOO_LARGE', `${raw.length} operations; at most ${HISTORY_OPERATIONS_MAX} are accepted`);
  }
  const operations = raw.map((operation, index) => readOperation(operation, index));
  assertClientsSequential(operations);
  return operations;
}

/**
 * A client waits for each response before its next request, so an overlap
 * means the recorder mixed up clients or times. The exception is an operation
 * that never returned: the client gave up on it and went on.
 */
function assertClientsSequential(operations: readonly KvOperation[]): void {
  const byClient = new Map<number, number[]>();
  operations.forEach((operation, index) => {
    const indices = byClient.get(operation.client);
    if (indices === undefined) byClient.set(operation.client, [index]);
    else indices.push(index);
  });
  for (const indices of byClient.values()) {
    // Stable sort: equal invoke times keep history order.
    indices.sort((a, b) => (operations[a] as KvOperation).invokeMs - (operations[b] as KvOperation).invokeMs);
    for (let i = 1; i < indices.length; i++) {
      const previousIndex = indices[i - 1] as number;
      const previous = operations[previousIndex] as KvOperation;
      const current = operations[indices[i] as number] as KvOperation;
      if (isPending(previous)) continue;
      if ((previous.returnMs as number) > current.invokeMs) {
        throw new HistoryError(
          'ERR_HISTORY_CLIENT_OVERLAP',
          `client ${current.client} invoked this at ${current.invokeMs} ms, before its operations[${previousIndex}] returned at ${previous.returnMs as number} ms`,
          { opIndex: indices[i] as number, field: 'invokeMs' },
        );
      }
    }
  }
}
