// The sequential specification the checker linearizes against: one key, a
// register holding a string or nothing. Operations are compiled to typed
// arrays and values to small integers, so that a model state is one number and
// a step is a few comparisons: the search takes millions of them.
//
// Values that no operation ever tests (no get returned them, no cas expected
// them) all compile to one id, ANONYMOUS. The register cannot tell them
// apart (every test gives the same answer on each), so states that differ
// only in which of them the key holds are one state to the memo, and
// optional writes of them are interchangeable (see wgl-search.ts).
import { isPending, type KvOperation, type KvValue } from './operation.js';

/** The state id of an absent key, which is also the initial state. */
export const ABSENT = 0;
/** The state id of every value that no operation tests. */
export const ANONYMOUS = 1;
/** What `stepRegister` returns when the operation cannot happen in that state. */
export const REJECT = -1;
/** A result the history does not know (an operation that never returned, a delete without its count). */
const UNKNOWN = -1;

const PUT = 0;
const GET = 1;
const DELETE = 2;
const CAS = 3;

export interface RegisterOps {
  readonly count: number;
  readonly kind: Uint8Array;
  /** put, cas: the id of the value written. */
  readonly written: Int32Array;
  /** cas: the id of the expected value. */
  readonly expected: Int32Array;
  /** get: the id of the value read; delete: 1 deleted, 0 not; cas: 1 swapped, 0 not; UNKNOWN when not known. */
  readonly observed: Int32Array;
  /** 1 when the operation never returned. */
  readonly pending: Uint8Array;
}

export function compileRegisterOps(operations: readonly KvOperation[]): RegisterOps {
  const count = operations.length;
  const ids = new Map<string, number>();
  for (const operation of operations) {
    const tested = operation.op === 'get' ? operation.result : operation.op === 'cas' ? operation.expected : undefined;
    if (tested !== undefined && tested !== null && !ids.has(tested)) ids.set(tested, ANONYMOUS + 1 + ids.size);
  }
  const idOf = (value: KvValue): number => (value === null ? ABSENT : (ids.get(value) ?? ANONYMOUS));
  const kind = new Uint8Array(count);
  const written = new Int32Array(count);
  const expected = new Int32Array(count);
  const observed = new Int32Array(count).fill(UNKNOWN);
  const pending = new Uint8Array(count);
  operations.forEach((operation, i) => {
    pending[i] = isPending(operation) ? 1 : 0;
    switch (operation.op) {
      case 'put':
        kind[i] = PUT;
        written[i] = idOf(operation.value);
        break;
      case 'get':
        kind[i] = GET;
        // A get that never returned constrains nothing; callers drop it before compiling.
        if (operation.result === undefined) throw new Error(`invariant: a get to linearize has a result (operation ${i})`);
        observed[i] = idOf(operation.result);
        break;
      case 'delete':
        kind[i] = DELETE;
        if (operation.result !== undefined) observed[i] = operation.result === true || operation.result === 1 ? 1 : 0;
        break;
      case 'cas':
        kind[i] = CAS;
        expected[i] = idOf(operation.expected);
        written[i] = idOf(operation.value);
        if (operation.result !== undefined) observed[i] = operation.result ? 1 : 0;
        break;
    }
  });
  return { count, kind, written, expected, observed, pending };
}

/**
 * True when operation `i` returned and, by its recorded result, left the state
 * as it found it: a get, a cas that did not swap, a delete that deleted nothing.
 */
export function isReadOnly(ops: RegisterOps, i: number): boolean {
  if (ops.pending[i] === 1) return false;
  const kind = ops.kind[i];
  return kind === GET || ((kind === CAS || kind === DELETE) && ops.observed[i] === 0);
}

/**
 * True when what operation `i` does depends on the state it runs in: a get, a
 * cas, a delete whose count is known. A put, or a delete whose count is not
 * known, overwrites the state blindly.
 */
export function observesState(ops: RegisterOps, i: number): boolean {
  const kind = ops.kind[i];
  return kind === GET || kind === CAS || (kind === DELETE && ops.observed[i] !== UNKNOWN);
}

/** The state after operation `i` runs in `state`, or REJECT if its recorded result says it could not have run there. */
export function stepRegister(ops: RegisterOps, i: number, state: number): number {
  switch (ops.kind[i]) {
    case PUT:
      return ops.written[i] as number;
    case GET:
      return ops.observed[i] === state ? state : REJECT;
    case DELETE: {
      const observed = ops.observed[i] as number;
      if (observed !== UNKNOWN && (observed === 1) !== (state !== ABSENT)) return REJECT;
      return ABSENT;
    }
    case CAS: {
      const swaps = ops.expected[i] === state;
      const observed = ops.observed[i] as number;
      if (observed !== UNKNOWN && (observed === 1) !== swaps) return REJECT;
      return swaps ? (ops.written[i] as number) : state;
    }
    default:
      throw new Error(`invariant: operation ${i} has a compiled kind, got ${ops.kind[i]}`);
  }
}
