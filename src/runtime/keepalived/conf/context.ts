// What every stage of the parse shares: the file name for messages, the
// warnings gathered so far, and the one way to give up.
import { KeepalivedConfError, type ConfPosition } from './errors.js';
import type { ConfWarning } from './types.js';

export interface ParseOptions {
  /** Used in messages; defaults to "keepalived.conf". */
  fileName?: string;
  /**
   * keepalived itself reads one keyword per line: the words after a keyword's
   * value are ignored, so `interface eth0 state BACKUP` sets only the
   * interface. By default this parser also accepts several keyword/value
   * pairs on a line; set this to read lines exactly as keepalived does (the
   * ignored words become warnings).
   */
  oneKeywordPerLine?: boolean;
}

/** A bound on warnings, so a hostile file cannot make the result grow without limit beyond its own size. */
const WARNINGS_MAX = 10_000;

export class ParseContext {
  readonly fileName: string;
  readonly oneKeywordPerLine: boolean;
  private readonly gathered: ConfWarning[] = [];
  private dropped = 0;

  constructor(fileName: string, oneKeywordPerLine: boolean) {
    this.fileName = fileName;
    this.oneKeywordPerLine = oneKeywordPerLine;
  }

  warn(at: ConfPosition, message: string): void {
    if (this.gathered.length >= WARNINGS_MAX) {
      this.dropped++;
      return;
    }
    this.gathered.push({ line: at.line, column: at.column, message });
  }

  fail(at: ConfPosition, problem: string): never {
    throw new KeepalivedConfError(this.fileName, at, problem);
  }

  /** In file order, so a reader can walk them top to bottom. */
  warnings(): ConfWarning[] {
    const sorted = [...this.gathered].sort((a, b) => a.line - b.line || a.column - b.column);
    if (this.dropped > 0) sorted.push({ ...sorted[sorted.length - 1]!, message: `${this.dropped} more warnings not shown` });
    return sorted;
  }
}
