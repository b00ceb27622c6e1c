// The one error the history reader and the checker throw on bad input. Callers
// branch on `code`; people read the message, which names the file (when there
// is one), the operation's index and the field, like `h.json: operations[3].returnMs: ...`.

export type HistoryErrorCode =
  /** The text is not JSON. */
  | 'ERR_HISTORY_JSON'
  /** The document is not `{ "operations": [...] }` (or has a field the format does not define). */
  | 'ERR_HISTORY_SHAPE'
  /** An operation's field is missing, has the wrong type, or is not part of the format. */
  | 'ERR_HISTORY_FIELD'
  /** `op` is not put, get, delete or cas. */
  | 'ERR_HISTORY_UNKNOWN_OP'
  /** `returnMs` is earlier than `invokeMs`. */
  | 'ERR_HISTORY_RETURN_BEFORE_INVOKE'
  /** `result` is missing where the operation returned, present where it did not, or out of range. */
  | 'ERR_HISTORY_RESULT'
  /** A client invoked an operation before its previous one returned. */
  | 'ERR_HISTORY_CLIENT_OVERLAP'
  /** More operations than the checker accepts. */
  | 'ERR_HISTORY_TOO_LARGE';

export interface HistoryErrorWhere {
  file?: string;
  /** Index into `operations`. */
  opIndex?: number;
  field?: string;
}

export class HistoryError extends Error {
  readonly code: HistoryErrorCode;
  readonly file: string | undefined;
  readonly opIndex: number | undefined;
  readonly field: string | undefined;
  /** The message without the location prefix. */
  readonly problem: string;

  constructor(code: HistoryErrorCode, problem: string, where: HistoryErrorWhere = {}) {
    super(`${code}: ${locate(where)}${problem}`);
    this.name = 'HistoryError';
    this.code = code;
    this.file = where.file;
    this.opIndex = where.opIndex;
    this.field = where.field;
    this.problem = problem;
  }

  /** The same error, located in `file`: the reader knows the operation, the command knows the file. */
  inFile(file: string): HistoryError {
    return new HistoryError(this.code, this.problem, { file, opIndex: this.opIndex, field: this.field });
  }
}

function locate(where: HistoryErrorWhere): string {
  const parts: string[] = [];
  if (where.file !== undefined) parts.push(where.file);
  if (where.opIndex !== undefined) parts.push(`operations[${where.opIndex}]${where.field === undefined ? '' : `.${where.field}`}`);
  else if (where.field !== undefined) parts.push(where.field);
  return parts.length === 0 ? '' : `${parts.join(': ')}: `;
}
