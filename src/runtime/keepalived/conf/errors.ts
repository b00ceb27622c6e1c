// The one error the keepalived.conf parser throws. Callers branch on `code`;
// people read the message, which leads with file:line:column like a compiler.
import type { ConfWarning } from './types.js';

export const KEEPALIVED_CONF_ERROR_CODE = 'ERR_KEEPALIVED_CONF';

/** Where a message points: 1-based line, and column in UTF-16 code units (a tab counts as one). */
export interface ConfPosition {
  line: number;
  column: number;
}

export const DEFAULT_CONF_FILE_NAME = 'keepalived.conf';

export class KeepalivedConfError extends Error {
  readonly code = KEEPALIVED_CONF_ERROR_CODE;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** The message without the location prefix. */
  readonly problem: string;

  constructor(file: string, at: ConfPosition, problem: string) {
    super(`${file}:${at.line}:${at.column}: ${problem}`);
    this.name = 'KeepalivedConfError';
    this.file = file;
    this.line = at.line;
    this.column = at.column;
    this.problem = problem;
  }
}

/** A warning as a compiler would print it: `keepalived.conf:3:5: message`. */
export function formatConfWarning(warning: ConfWarning, fileName: string = DEFAULT_CONF_FILE_NAME): string {
  return `${fileName}:${warning.line}:${warning.column}: ${warning.message}`;
}
