// A sans-IO JSON parser (RFC 8259) that remembers where every value starts,
// so configuration errors can name line and column, and that rejects
// duplicate keys, which JSON.parse silently resolves to the last one.
import { ConfigError, type ConfigLocation } from './config-error.js';

export interface JsonDocument {
  value: unknown;
  /** Where each value starts, by key path ("" is the root, "listen.port", "users[0]"). */
  locations: ReadonlyMap<string, ConfigLocation>;
}

const NESTING_DEPTH_MAX = 64;

export function parseJsonDocument(text: string, file: string): JsonDocument {
  return new Parser(text, file).document();
}

export function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return parent === '' ? key : `${parent}.${key}`;
}

class Parser {
  private index = 0;
  private readonly locations = new Map<string, ConfigLocation>();
  /** Index of the first character of every line, for line/column lookups. */
  private readonly lineStarts: number[] = [0];

  constructor(
    private readonly text: string,
    private readonly file: string,
  ) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.lineStarts.push(i + 1);
  }

  document(): JsonDocument {
    this.skipSpace();
    const value = this.value('', 0);
    this.skipSpace();
    if (this.index < this.text.length) this.fail('unexpected text after the JSON value');
    return { value, locations: this.locations };
  }

  private value(path: string, depth: number): unknown {
    if (depth > NESTING_DEPTH_MAX) this.fail(`nesting deeper than ${NESTING_DEPTH_MAX}`);
    this.locations.set(path, this.locationAt(this.index));
    const char = this.text[this.index];
    switch (char) {
      case '{':
        return this.object(path, depth);
      case '[':
        return this.array(path, depth);
      case '"':
        return this.string();
      case 't':
        return this.literal('true', true);
      case 'f':
        return this.literal('false', false);
      case 'n':
        return this.literal('null', null);
      case undefined:
        return this.fail('unexpected end of input, expected a value');
      default:
        if (char === '-' || (char >= '0' && char <= '9')) return this.number();
        return this.fail(`unexpected character ${JSON.stringify(char)}, expected a value`);
    }
  }

  private object(path: string, depth: number): Record<string, unknown> {
    this.index++;
    const result: Record<string, unknown> = {};
    this.skipSpace();
    if (this.text[this.index] === '}') {
      this.index++;
      return result;
    }
    for (;;) {
      this.skipSpace();
      if (this.text[this.index] !== '"') this.fail('expected a key in double quotes');
      const keyStart = this.index;
      const key = this.string();
      if (Object.prototype.hasOwnProperty.call(result, key)) {
        this.fail(`duplicate key ${JSON.stringify(key)}`, keyStart);
      }
      this.skipSpace();
      if (this.text[this.index] !== ':') this.fail('expected ":" after the key');
      this.index++;
      this.skipSpace();
      Object.defineProperty(result, key, { value: this.value(childPath(path, key), depth + 1), enumerable: true, writable: true, configurable: true });
      this.skipSpace();
      const next = this.text[this.index];
      this.index++;
      if (next === '}') return result;
      if (next !== ',') this.fail('expected "," or "}" after a value', this.index - 1);
    }
  }

  private array(path: string, depth: number): unknown[] {
    this.index++;
    const result: unknown[] = [];
    this.skipSpace();
    if (this.text[this.index] === ']') {
      this.index++;
      return result;
    }
    for (;;) {
      this.skipSpace();
      result.push(this.value(childPath(path, result.length), depth + 1));
      this.skipSpace();
      const next = this.text[this.index];
      this.index++;
      if (next === ']') return result;
      if (next !== ',') this.fail('expected "," or "]" after a value', this.index - 1);
    }
  }

  private string(): string {
    const start = this.index;
    this.index++;
    for (;;) {
      const char = this.text[this.index];
      if (char === undefined) this.fail('unterminated string', start);
      if (char === '"') break;
      if (char === '\\') {
        const escape = this.text[this.index + 1];
        if (escape === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(this.text.slice(this.index + 2, this.index + 6))) this.fail('bad \\u escape');
          this.index += 6;
        } else if (escape !== undefined && '"\\/bfnrt'.includes(escape)) {
          this.index += 2;
        } else {
          this.fail('bad escape in string');
        }
        continue;
      }
      if (char < ' ') this.fail('control character in string');
      this.index++;
    }
    this.index++;
    // The slice is valid JSON now; let the engine decode its escapes.
    return JSON.parse(this.text.slice(start, this.index)) as string;
  }

  private number(): number {
    const match = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(this.text.slice(this.index));
    if (match === null) this.fail('malformed number');
    this.index += match[0].length;
    return Number(match[0]);
  }

  private literal<T>(word: string, value: T): T {
    if (this.text.startsWith(word, this.index)) {
      this.index += word.length;
      return value;
    }
    return this.fail(`unexpected text, expected ${word}`);
  }

  private skipSpace(): void {
    while (this.index < this.text.length && ' \t\n\r'.includes(this.text[this.index] as string)) this.index++;
  }

  private locationAt(index: number): ConfigLocation {
    let low = 0;
    let high = this.lineStarts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if ((this.lineStarts[middle] as number) <= index) low = middle;
      else high = middle - 1;
    }
    return { line: low + 1, column: index - (this.lineStarts[low] as number) + 1 };
  }

  private fail(problem: string, at = this.index): never {
    throw new ConfigError('ERR_CONFIG_SYNTAX', this.file, problem, { location: this.locationAt(at) });
  }
}
