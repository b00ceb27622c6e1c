// Checks one operation of a history, whether it came from a JSON file or from
// code, and returns it as a well-typed KvOperation. Everything the checker
// assumes about a single operation is asserted here, once, with the index and
// the field in the error.
import { HistoryError, type HistoryErrorCode } from './history-error.js';
import { KV_OPERATION_KINDS, type KvOperation, type KvOperationKind, type KvValue } from './operation.js';

const COMMON_FIELDS = ['client', 'op', 'key', 'invokeMs', 'returnMs', 'ok', 'meta'];
const FIELDS_OF: Record<KvOperationKind, readonly string[]> = {
  put: [...COMMON_FIELDS, 'value'],
  get: [...COMMON_FIELDS, 'result'],
  delete: [...COMMON_FIELDS, 'result'],
  cas: [...COMMON_FIELDS, 'expected', 'value', 'result'],
};

type Raw = Record<string, unknown>;

export function readOperation(raw: unknown, opIndex: number): KvOperation {
  const fail = (code: HistoryErrorCode, field: string | undefined, problem: string): never => {
    throw new HistoryError(code, problem, { opIndex, field });
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return fail('ERR_HISTORY_FIELD', undefined, `an operation must be an object, got ${describe(raw)}`);
  }
  const fields = raw as Raw;
  const kind = fields.op;
  if (typeof kind !== 'string' || !(KV_OPERATION_KINDS as readonly string[]).includes(kind)) {
    const known = KV_OPERATION_KINDS.join(', ');
    if (kind === undefined) return fail('ERR_HISTORY_FIELD', 'op', `missing; expected one of ${known}`);
    return fail('ERR_HISTORY_UNKNOWN_OP', 'op', `unknown operation ${describe(kind)}; expected one of ${known}`);
  }
  const op = kind as KvOperationKind;
  for (const field of Object.keys(fields)) {
    if (!FIELDS_OF[op].includes(field)) fail('ERR_HISTORY_FIELD', field, `not a field of a ${op} operation (fields: ${FIELDS_OF[op].join(', ')})`);
  }

  const client = fields.client;
  if (!Number.isSafeInteger(client) || (client as number) < 0) fail('ERR_HISTORY_FIELD', 'client', `must be a non-negative integer, got ${describe(client)}`);
  if (typeof fields.key !== 'string') fail('ERR_HISTORY_FIELD', 'key', `must be a string, got ${describe(fields.key)}`);
  const invokeMs = fields.invokeMs;
  if (!isTime(invokeMs)) fail('ERR_HISTORY_FIELD', 'invokeMs', `must be a finite number >= 0, got ${describe(invokeMs)}`);
  const returnMs = fields.returnMs ?? null;
  if (returnMs !== null) {
    if (!isTime(returnMs)) fail('ERR_HISTORY_FIELD', 'returnMs', `must be a finite number >= 0, or null for "never returned", got ${describe(returnMs)}`);
    if ((returnMs as number) < (invokeMs as number)) {
      fail('ERR_HISTORY_RETURN_BEFORE_INVOKE', 'returnMs', `returned at ${returnMs as number} ms, before it was invoked at ${invokeMs as number} ms`);
    }
  }
  const okField = fields.ok ?? true;
  if (typeof okField !== 'boolean') return fail('ERR_HISTORY_FIELD', 'ok', `must be a boolean, got ${describe(okField)}`);
  const ok: boolean = okField;
  if (ok === false && returnMs === null) {
    fail('ERR_HISTORY_FIELD', 'ok', 'false says a response reported that the operation did not take effect, so returnMs must be the time of that response');
  }

  // A result exists exactly when a successful response arrived; puts have none.
  const hasResult = fields.result !== undefined;
  const answered = returnMs !== null && ok === true;
  if (hasResult && !answered) {
    fail('ERR_HISTORY_RESULT', 'result', ok ? 'an operation that never returned (returnMs null) has no result' : 'an operation with ok false has no result');
  }
  const common = { client: client as number, key: fields.key as string, invokeMs: invokeMs as number, returnMs: returnMs as number | null };
  const extras = { ...(fields.ok === undefined ? {} : { ok }), ...(fields.meta === undefined ? {} : { meta: fields.meta }) };

  switch (op) {
    case 'put':
      return { op, ...common, value: readString(fields.value, 'value', fail), ...extras };
    case 'get': {
      if (answered && !hasResult) fail('ERR_HISTORY_RESULT', 'result', 'a get that returned needs its result: the value read, or null for "absent"');
      const result = hasResult ? readValue(fields.result, 'result', fail) : undefined;
      return { op, ...common, ...(result === undefined ? {} : { result }), ...extras };
    }
    case 'delete': {
      const result = fields.result;
      if (hasResult && !(typeof result === 'boolean' || result === 0 || result === 1)) {
        fail('ERR_HISTORY_RESULT', 'result', `must be the deleted count (0 or 1: one key) or a boolean, got ${describe(result)}`);
      }
      return { op, ...common, ...(hasResult ? { result: result as number | boolean } : {}), ...extras };
    }
    case 'cas': {
      if (!('expected' in fields)) fail('ERR_HISTORY_FIELD', 'expected', 'missing; the value the key must hold, or null for "absent"');
      const expected = readValue(fields.expected, 'expected', fail);
      const value = readString(fields.value, 'value', fail);
      if (answered && !hasResult) fail('ERR_HISTORY_RESULT', 'result', 'a cas that returned needs its result: true if it swapped, false if not');
      if (hasResult && typeof fields.result !== 'boolean') fail('ERR_HISTORY_RESULT', 'result', `must be a boolean, got ${describe(fields.result)}`);
      return { op, ...common, expected, value, ...(hasResult ? { result: fields.result as boolean } : {}), ...extras };
    }
  }
}

type Fail = (code: HistoryErrorCode, field: string, problem: string) => never;

function readString(raw: unknown, field: string, fail: Fail): string {
  if (typeof raw !== 'string') return fail('ERR_HISTORY_FIELD', field, `must be a string, got ${describe(raw)}`);
  return raw;
}

function readValue(raw: unknown, field: string, fail: Fail): KvValue {
  if (raw !== null && typeof raw !== 'string') return fail('ERR_HISTORY_FIELD', field, `must be a string or null (absent), got ${describe(raw)}`);
  return raw;
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}
