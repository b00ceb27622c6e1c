// The linearizability checker on hand-made histories: the classic violations
// (stale read, reads that disagree on the order of two writes, cas double
// success, a read of a value never written), operations whose outcome is
// unknown, per-key checking, the bounds that make it answer "unknown", and
// the typed errors for malformed histories.
import { describe, expect, it } from 'vitest';
import {
  checkHistory,
  HistoryError,
  parseHistoryText,
  readHistory,
  renderCheckResult,
  type CheckResult,
  type KvOperation,
  type KvValue,
} from '../sim/etcd/linearizability/index.js';

type Interval = [invokeMs: number, returnMs: number | null];

const put = (client: number, value: string, [invokeMs, returnMs]: Interval, key = 'a'): KvOperation => ({ op: 'put', client, key, value, invokeMs, returnMs });
const get = (client: number, result: KvValue | undefined, [invokeMs, returnMs]: Interval, key = 'a'): KvOperation => ({
  op: 'get',
  client,
  key,
  invokeMs,
  returnMs,
  ...(result === undefined ? {} : { result }),
});
const del = (client: number, result: number | boolean | undefined, [invokeMs, returnMs]: Interval, key = 'a'): KvOperation => ({
  op: 'delete',
  client,
  key,
  invokeMs,
  returnMs,
  ...(result === undefined ? {} : { result }),
});
const cas = (client: number, expected: KvValue, value: string, result: boolean | undefined, [invokeMs, returnMs]: Interval, key = 'a'): KvOperation => ({
  op: 'cas',
  client,
  key,
  expected,
  value,
  invokeMs,
  returnMs,
  ...(result === undefined ? {} : { result }),
});

function verdictOf(history: KvOperation[]): CheckResult['verdict'] {
  return checkHistory(history).verdict;
}

/** The indices of the offending sub-history, asserting the verdict on the way. */
function offendingIndices(history: KvOperation[]): number[] {
  const result = checkHistory(history);
  if (result.verdict !== 'not-linearizable') throw new Error(`expected not-linearizable, got ${result.verdict}`);
  expect(result.minimal).toBe(true);
  // The sub-history is a witness on its own.
  expect(verdictOf(result.offending.map((entry) => entry.operation))).toBe('not-linearizable');
  return result.offending.map((entry) => entry.index);
}

describe('linearizability checker: registers', () => {
  it('accepts the empty history and a sequential one', () => {
    expect(checkHistory([])).toMatchObject({ verdict: 'linearizable', operations: 0, keys: 0 });
    expect(verdictOf([put(1, 'x', [0, 1]), get(1, 'x', [2, 3]), del(1, 1, [4, 5]), get(1, null, [6, 7]), cas(1, null, 'y', true, [8, 9])])).toBe(
      'linearizable',
    );
  });

  it('rejects a stale read after a completed write, naming the three operations', () => {
    const history = [put(1, 'x', [0, 1]), put(2, 'y', [2, 3]), get(3, 'x', [4, 5])];
    expect(offendingIndices(history)).toEqual([0, 1, 2]);
  });

  it('accepts a read concurrent with a write seeing either value', () => {
    expect(verdictOf([put(1, 'x', [0, 1]), put(2, 'y', [2, 10]), get(3, 'x', [3, 4]), get(3, 'y', [5, 6])])).toBe('linearizable');
    expect(verdictOf([put(1, 'x', [0, 1]), put(2, 'y', [2, 10]), get(3, 'y', [3, 4]), get(3, 'x', [5, 6])])).toBe('not-linearizable');
  });

  it('rejects two readers that see two concurrent writes in opposite orders', () => {
    const history = [
      put(1, 'x', [0, 10]),
      put(2, 'y', [0, 10]),
      get(3, 'x', [1, 2]),
      get(3, 'y', [3, 4]),
      get(4, 'y', [1, 2]),
      get(4, 'x', [3, 4]),
    ];
    expect(verdictOf(history)).toBe('not-linearizable');
    const agreeing = [...history.slice(0, 4), get(4, 'x', [1, 2]), get(4, 'y', [3, 4])];
    expect(verdictOf(agreeing)).toBe('linearizable');
  });

  it('rejects two compare-and-swaps that both succeed on the same value', () => {
    expect(offendingIndices([put(1, 'a', [0, 1]), cas(2, 'a', 'b', true, [2, 5]), cas(3, 'a', 'c', true, [2, 5])])).toEqual([0, 1, 2]);
    expect(verdictOf([cas(2, null, 'b', true, [0, 5]), cas(3, null, 'c', true, [0, 5])])).toBe('not-linearizable');
    expect(verdictOf([put(1, 'a', [0, 1]), cas(2, 'a', 'b', true, [2, 5]), cas(3, 'a', 'c', false, [2, 5])])).toBe('linearizable');
  });

  it('rejects a cas that failed although the key surely held the expected value', () => {
    expect(offendingIndices([put(1, 'a', [0, 1]), cas(2, 'a', 'b', false, [2, 3])])).toEqual([0, 1]);
  });

  it('rejects a read of a value never written, and shrinks to that read alone', () => {
    expect(offendingIndices([put(1, 'x', [0, 1]), put(2, 'y', [1, 3]), get(3, 'z', [4, 5]), get(1, 'y', [6, 7])])).toEqual([2]);
  });

  it('rejects a read of a value before the write that produces it was invoked', () => {
    expect(offendingIndices([get(1, 'x', [0, 1]), put(2, 'x', [2, 3])])).toEqual([0, 1]);
  });

  it('checks deletes by their count or boolean, and absent keys as null', () => {
    expect(verdictOf([put(1, 'x', [0, 1]), del(1, 1, [2, 3]), get(1, null, [4, 5]), del(1, false, [6, 7])])).toBe('linearizable');
    expect(verdictOf([del(1, 1, [0, 1])])).toBe('not-linearizable');
    expect(verdictOf([put(1, 'x', [0, 1]), del(2, 0, [2, 3])])).toBe('not-linearizable');
    expect(verdictOf([put(1, 'x', [0, 1]), del(2, undefined, [2, 3]), get(1, 'x', [4, 5])])).toBe('not-linearizable');
    expect(verdictOf([put(1, 'x', [0, 1]), del(1, true, [2, 3]), get(1, 'x', [4, 5])])).toBe('not-linearizable');
  });

  it('treats an operation invoked at the instant another returned as concurrent with it', () => {
    expect(verdictOf([put(1, 'x', [0, 5]), get(2, null, [5, 6])])).toBe('linearizable');
    expect(verdictOf([put(1, 'x', [0, 5]), get(2, null, [6, 7])])).toBe('not-linearizable');
    expect(verdictOf([put(1, 'x', [3, 3]), get(2, 'x', [3, 3]), get(3, null, [3, 3])])).toBe('linearizable');
  });
});

describe('linearizability checker: operations whose outcome is unknown', () => {
  it('lets a write that never returned take effect at any time after its invoke', () => {
    expect(verdictOf([put(1, 'x', [0, null]), get(2, null, [1, 2]), get(2, 'x', [100, 101])])).toBe('linearizable');
    expect(verdictOf([put(1, 'x', [0, null]), get(2, 'x', [1, 2]), get(2, 'x', [100, 101])])).toBe('linearizable');
  });

  it('lets it never take effect', () => {
    expect(verdictOf([put(1, 'x', [0, null]), get(2, null, [1, 2]), put(2, 'y', [3, 4]), get(2, 'y', [100, 101])])).toBe('linearizable');
  });

  it('does not let it take effect before its invoke, or twice', () => {
    expect(verdictOf([get(2, 'x', [0, 1]), put(1, 'x', [5, null])])).toBe('not-linearizable');
    expect(verdictOf([put(1, 'x', [0, null]), get(2, 'x', [1, 2]), put(2, 'y', [3, 4]), get(2, 'x', [5, 6])])).toBe('not-linearizable');
  });

  it('applies a cas that never returned only if the key held its expected value', () => {
    expect(verdictOf([put(1, 'a', [0, 1]), cas(2, 'a', 'b', undefined, [2, null]), get(3, 'b', [5, 6])])).toBe('linearizable');
    expect(verdictOf([put(1, 'z', [0, 1]), cas(2, 'a', 'b', undefined, [2, null]), get(3, 'b', [5, 6])])).toBe('not-linearizable');
  });

  it('applies a delete that never returned at most once', () => {
    const base = [put(1, 'x', [0, 1]), del(2, undefined, [2, null]), get(3, null, [3, 4])];
    expect(verdictOf(base)).toBe('linearizable');
    expect(verdictOf([...base, get(3, 'x', [5, 6])])).toBe('not-linearizable');
  });

  it('copes with many writes that timed out, concurrent with everything after them', () => {
    // 30 optional writes: 2^30 subsets without the dominance rule of the memo.
    const lost = Array.from({ length: 30 }, (_, i) => put(10 + i, `lost${i}`, [i, null]));
    const reads = Array.from({ length: 30 }, (_, i) => get(1, i % 3 === 0 ? `lost${i}` : `lost${i - (i % 3)}`, [100 + 2 * i, 101 + 2 * i]));
    const result = checkHistory([...lost, ...reads], { stepsMax: 1_000_000 });
    expect(result.verdict).toBe('linearizable');
    const wrong = checkHistory([...lost, ...reads, get(1, 'lost0', [1000, 1001])], { stepsMax: 1_000_000 });
    expect(wrong.verdict).toBe('not-linearizable');
  });

  it('drops a get that never returned, and an operation that failed (ok false)', () => {
    const result = checkHistory([put(1, 'x', [0, 1]), get(2, undefined, [2, null]), { ...put(3, 'y', [2, 3]), ok: false }, get(1, 'x', [4, 5])]);
    expect(result).toMatchObject({ verdict: 'linearizable', operations: 4, dropped: 2 });
    expect(verdictOf([{ ...put(3, 'y', [0, 1]), ok: false }, get(1, 'y', [4, 5])])).toBe('not-linearizable');
  });
});

describe('linearizability checker: keys, witnesses, bounds', () => {
  it('checks each key on its own and reports only the failing key', () => {
    const history = [put(1, 'x', [0, 1], 'a'), put(2, 'x', [0, 1], 'b'), get(1, 'x', [2, 3], 'a'), get(2, null, [2, 3], 'b'), put(3, 'y', [4, 5], 'c')];
    const result = checkHistory(history);
    expect(result).toMatchObject({ verdict: 'not-linearizable', key: 'b', keys: 3 });
    if (result.verdict === 'not-linearizable') expect(result.offending.map((entry) => entry.index)).toEqual([1, 3]);
  });

  it('returns a linearization per key that replays correctly', () => {
    const history = [put(1, 'x', [0, 10]), put(2, 'y', [0, 10]), get(3, 'y', [1, 2]), get(3, 'x', [3, 4]), put(4, 'z', [0, 1], 'b')];
    const result = checkHistory(history, { witness: true });
    if (result.verdict !== 'linearizable') throw new Error(result.verdict);
    expect(result.linearizations?.get('a')).toEqual([1, 2, 0, 3]);
    expect(result.linearizations?.get('b')).toEqual([4]);
  });

  it('answers unknown when the step bound is reached, and names the undecided keys', () => {
    // Smaller keys go first: b is decided, a runs out of steps, c never starts.
    const a = Array.from({ length: 200 }, (_, i) => put(i, `v${i}`, [i, i + 50], 'a'));
    const c = Array.from({ length: 300 }, (_, i) => put(1000 + i, `v${i}`, [i, i + 50], 'c'));
    const result = checkHistory([...a, put(2000, 'w', [1000, 1001], 'b'), ...c], { stepsMax: 50 });
    expect(result).toMatchObject({ verdict: 'unknown', reason: 'steps', steps: 50 });
    if (result.verdict === 'unknown') expect(result.undecidedKeys).toEqual(['a', 'c']);
    expect(renderCheckResult(result)).toMatch(/^unknown: the search gave up at its step bound/);
  });

  it('answers unknown when the injected clock passes the time bound', () => {
    let nowMs = 0;
    const clock = (): number => (nowMs += 1);
    const history = Array.from({ length: 2000 }, (_, i) => put(i, `v${i}`, [i, i + 50]));
    history.push(get(9999, 'never', [5000, 5001]));
    expect(checkHistory(history, { timeoutMs: 3, nowMs: clock, minimize: false })).toMatchObject({ verdict: 'unknown', reason: 'time' });
    expect(() => checkHistory(history, { timeoutMs: 3 })).toThrow(/needs nowMs/);
  });

  it('answers unknown when the memo passes its memory bound', () => {
    const history = Array.from({ length: 100 }, (_, i) => put(i, `v${i}`, [i, i + 50]));
    expect(checkHistory(history, { memoBytesMax: 64 })).toMatchObject({ verdict: 'unknown', reason: 'memory' });
  });

  it('still reports a violation on one key when another key is undecided for memory', () => {
    const heavy = Array.from({ length: 100 }, (_, i) => put(i, `v${i}`, [i, i + 50], 'heavy'));
    const bad = [put(20, 'x', [0, 1], 'bad'), get(20, 'y', [2, 3], 'bad')];
    expect(checkHistory([...heavy, ...bad], { memoBytesMax: 64 })).toMatchObject({ verdict: 'not-linearizable', key: 'bad' });
  });

  it('reports a non-minimal witness when shrinking is off', () => {
    const result = checkHistory([put(1, 'x', [0, 1]), put(2, 'y', [2, 3]), get(3, 'z', [4, 5])], { minimize: false });
    expect(result).toMatchObject({ verdict: 'not-linearizable', minimal: false });
    if (result.verdict === 'not-linearizable') expect(result.offending).toHaveLength(3);
  });

  it('renders the offending sub-history one operation per line with times', () => {
    const result = checkHistory([put(1, 'x', [0, 1]), put(2, 'y', [2, 3]), get(3, 'x', [4, 5]), put(4, 'z', [6, null])]);
    expect(renderCheckResult(result).split('\n')).toEqual([
      'not linearizable (4 operations, 1 key)',
      'key "a": these 3 operations cannot be put in any order that respects real time and register semantics:',
      '  #0  client 1  [0 ms, 1 ms]  put("x")',
      '  #1  client 2  [2 ms, 3 ms]  put("y")',
      '  #2  client 3  [4 ms, 5 ms]  get() -> "x"',
    ]);
  });
});

describe('history errors: typed, with stable codes, naming the operation and field', () => {
  const valid = { client: 1, op: 'put', key: 'a', value: 'x', invokeMs: 0, returnMs: 5 };
  const cases: [string, unknown, string, number | undefined, string | undefined][] = [
    ['return before invoke', { ...valid, invokeMs: 6 }, 'ERR_HISTORY_RETURN_BEFORE_INVOKE', 0, 'returnMs'],
    ['unknown operation', { ...valid, op: 'append' }, 'ERR_HISTORY_UNKNOWN_OP', 0, 'op'],
    ['missing op', { client: 1, key: 'a', invokeMs: 0 }, 'ERR_HISTORY_FIELD', 0, 'op'],
    ['unknown field', { ...valid, retunMs: 5 }, 'ERR_HISTORY_FIELD', 0, 'retunMs'],
    ['negative client', { ...valid, client: -1 }, 'ERR_HISTORY_FIELD', 0, 'client'],
    ['string client', { ...valid, client: 'c1' }, 'ERR_HISTORY_FIELD', 0, 'client'],
    ['numeric value', { ...valid, value: 3 }, 'ERR_HISTORY_FIELD', 0, 'value'],
    ['missing key', { ...valid, key: undefined }, 'ERR_HISTORY_FIELD', 0, 'key'],
    ['infinite invoke', { ...valid, invokeMs: Infinity }, 'ERR_HISTORY_FIELD', 0, 'invokeMs'],
    ['string returnMs', { ...valid, returnMs: '5' }, 'ERR_HISTORY_FIELD', 0, 'returnMs'],
    ['result on a put', { ...valid, result: 'x' }, 'ERR_HISTORY_FIELD', 0, 'result'],
    ['get without result', { client: 1, op: 'get', key: 'a', invokeMs: 0, returnMs: 1 }, 'ERR_HISTORY_RESULT', 0, 'result'],
    ['get never returned, with result', { client: 1, op: 'get', key: 'a', invokeMs: 0, returnMs: null, result: 'x' }, 'ERR_HISTORY_RESULT', 0, 'result'],
    ['failed get with result', { client: 1, op: 'get', key: 'a', invokeMs: 0, returnMs: 1, ok: false, result: 'x' }, 'ERR_HISTORY_RESULT', 0, 'result'],
    ['failed and never returned', { ...valid, ok: false, returnMs: null }, 'ERR_HISTORY_FIELD', 0, 'ok'],
    ['delete count 2', { client: 1, op: 'delete', key: 'a', invokeMs: 0, returnMs: 1, result: 2 }, 'ERR_HISTORY_RESULT', 0, 'result'],
    ['cas without expected', { client: 1, op: 'cas', key: 'a', value: 'y', invokeMs: 0, returnMs: 1, result: true }, 'ERR_HISTORY_FIELD', 0, 'expected'],
    ['cas result a string', { client: 1, op: 'cas', key: 'a', expected: null, value: 'y', invokeMs: 0, returnMs: 1, result: 'yes' }, 'ERR_HISTORY_RESULT', 0, 'result'],
    ['cas without result', { client: 1, op: 'cas', key: 'a', expected: null, value: 'y', invokeMs: 0, returnMs: 1 }, 'ERR_HISTORY_RESULT', 0, 'result'],
    ['not an object', 'put a x', 'ERR_HISTORY_FIELD', 0, undefined],
  ];

  it.each(cases)('%s', (_name, operation, code, opIndex, field) => {
    const error = catchError(() => checkHistory([operation]));
    expect(error).toBeInstanceOf(HistoryError);
    expect(error).toMatchObject({ code, opIndex, field });
    expect(error.message).toContain(`${code}: operations[0]${field === undefined ? '' : `.${field}`}: `);
  });

  it('names the index of the operation at fault, not the first', () => {
    const error = catchError(() => checkHistory([valid, valid, { ...valid, client: 2, invokeMs: 9, returnMs: 10 }]));
    expect(error).toMatchObject({ code: 'ERR_HISTORY_CLIENT_OVERLAP', opIndex: 1, field: 'invokeMs' });
    expect(error.message).toContain('before its operations[0] returned at 5 ms');
  });

  it('lets a client go on after an operation that never returned', () => {
    expect(checkHistory([{ ...valid, returnMs: null }, { ...valid, invokeMs: 1, returnMs: 2 }]).verdict).toBe('linearizable');
  });

  it('names the file in errors from a history file', () => {
    const text = JSON.stringify({ operations: [valid, { ...valid, invokeMs: 9, returnMs: 7 }] });
    const error = catchError(() => parseHistoryText(text, 'h.json'));
    expect(error).toMatchObject({ code: 'ERR_HISTORY_RETURN_BEFORE_INVOKE', file: 'h.json', opIndex: 1, field: 'returnMs' });
    expect(error.message).toBe('ERR_HISTORY_RETURN_BEFORE_INVOKE: h.json: operations[1].returnMs: returned at 7 ms, before it was invoked at 9 ms');
    expect(catchError(() => parseHistoryText('{"operations": [', 'h.json'))).toMatchObject({ code: 'ERR_HISTORY_JSON', file: 'h.json' });
  });

  it.each([[[]], [null], [{}], [{ operations: {} }], [{ operations: [], extra: 1 }], [{ operations: [], description: 3 }]])(
    'rejects a document that is not { operations: [...] }: %j',
    (document) => {
      expect(catchError(() => readHistory(document))).toMatchObject({ code: 'ERR_HISTORY_SHAPE' });
    },
  );

  it('reads the documented format back to the same operations', () => {
    const document = {
      description: 'one of each',
      operations: [
        { client: 1, op: 'put', key: 'a', value: 'x', invokeMs: 0, returnMs: 5, ok: true, meta: { member: 'm1' } },
        { client: 2, op: 'get', key: 'a', invokeMs: 1, returnMs: 6, result: 'x' },
        { client: 3, op: 'cas', key: 'a', expected: 'x', value: 'y', invokeMs: 7, returnMs: 9, result: true },
        { client: 1, op: 'delete', key: 'a', invokeMs: 10, returnMs: 11, result: 1 },
        { client: 2, op: 'put', key: 'a', value: 'z', invokeMs: 12 },
      ],
    };
    const history = readHistory(document);
    expect(history.description).toBe('one of each');
    expect(history.operations[0]).toEqual(document.operations[0]);
    expect(history.operations[4]).toEqual({ ...document.operations[4], returnMs: null });
    expect(checkHistory(history.operations).verdict).toBe('linearizable');
  });
});

function catchError(action: () => unknown): Error & Record<string, unknown> {
  try {
    action();
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('expected an error');
}
