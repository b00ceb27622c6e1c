// A strict JSON reader that keeps numbers as their text. JSON.parse would
// turn an unquoted int64 such as a lease ID near 2^63 into the nearest
// double, while etcd's gateway (Go) reads it exactly; keeping the text lets
// the codec read int64s exactly or refuse them, and tell 1e2 (which Go
// refuses for an int64) from 100. Objects keep the last of duplicate names,
// as Go's decoder does. Depth and value counts are bounded.
import { GatewayRequestError } from './errors.js';

export class JsonNumber {
  constructor(readonly text: string) {}
}

export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | JsonObject;
export type JsonObject = Map<string, JsonValue>;

/** Nesting depth: a txn nests three JSON levels per level, and etcd's op budget allows ~128 levels. */
export const JSON_DEPTH_MAX = 512;
/** Values in one document: bounded well above what a 1.5 MiB request could legitimately hold. */
export const JSON_VALUES_MAX = 1_000_000;

export type JsonError = (field: string, problem: string) => Error;

const requestError: JsonError = (field, problem) => new GatewayRequestError(field, problem);

/** Parses one JSON document: only whitespace may follow it. Errors come from `fail` (a request's, by default). */
export function parseJson(text: string, fail: JsonError = requestError): JsonValue {
  const reader = new JsonReader(text, 0, fail);
  const value = reader.document();
  reader.skipWhitespace();
  if (!reader.atEnd()) throw reader.fail('unexpected data after the JSON value');
  return value;
}

/** Parses a run of JSON documents, as a gateway stream request's body holds (whitespace between them optional). */
export function parseJsonSequence(text: string, maxDocuments: number, fail: JsonError = requestError): JsonValue[] {
  const values: JsonValue[] = [];
  let offset = 0;
  for (;;) {
    const reader = new JsonReader(text, offset, fail);
    reader.skipWhitespace();
    if (reader.atEnd()) return values;
    if (values.length >= maxDocuments) throw reader.fail(`more than ${maxDocuments} messages in one body`);
    values.push(reader.document());
    offset = reader.offset;
  }
}

class JsonReader {
  private values = 0;

  constructor(
    private readonly text: string,
    public offset: number,
    private readonly onError: JsonError,
  ) {}

  atEnd(): boolean {
    return this.offset >= this.text.length;
  }

  fail(problem: string): Error {
    const where = this.atEnd() ? `at its end (offset ${this.offset})` : `at offset ${this.offset}`;
    return this.onError('(body)', `invalid JSON ${where}: ${problem}`);
  }

  skipWhitespace(): void {
    while (this.offset < this.text.length && ' \t\n\r'.includes(this.text[this.offset]!)) this.offset++;
  }

  document(): JsonValue {
    this.skipWhitespace();
    return this.value(0);
  }

  private value(depth: number): JsonValue {
    if (depth > JSON_DEPTH_MAX) throw this.fail(`nested deeper than ${JSON_DEPTH_MAX}`);
    if (++this.values > JSON_VALUES_MAX) throw this.fail(`more than ${JSON_VALUES_MAX} values`);
    const char = this.text[this.offset];
    switch (char) {
      case '{':
        return this.object(depth);
      case '[':
        return this.array(depth);
      case '"':
        return this.string();
      case 't':
        return this.literal('true', true);
      case 'f':
        return this.literal('false', false);
      case 'n':
        return this.literal('null', null);
      default:
        if (char === '-' || (char !== undefined && char >= '0' && char <= '9')) return this.number();
        throw this.fail(char === undefined ? 'unexpected end' : `unexpected ${JSON.stringify(char)}`);
    }
  }

  private object(depth: number): JsonObject {
    const object: JsonObject = new Map();
    this.offset++;
    this.skipWhitespace();
    if (this.text[this.offset] === '}') {
      this.offset++;
      return object;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.offset] !== '"') throw this.fail('expected a field name');
      const name = this.string();
      this.skipWhitespace();
      if (this.text[this.offset] !== ':') throw this.fail('expected ":"');
      this.offset++;
      this.skipWhitespace();
      object.set(name, this.value(depth + 1));
      this.skipWhitespace();
      const next = this.text[this.offset];
      if (next !== ',' && next !== '}') throw this.fail('expected "," or "}"');
      this.offset++;
      if (next === '}') return object;
    }
  }

  private array(depth: number): JsonValue[] {
    const array: JsonValue[] = [];
    this.offset++;
    this.skipWhitespace();
    if (this.text[this.offset] === ']') {
      this.offset++;
      return array;
    }
    for (;;) {
      this.skipWhitespace();
      array.push(this.value(depth + 1));
      this.skipWhitespace();
      const next = this.text[this.offset];
      if (next !== ',' && next !== ']') throw this.fail('expected "," or "]"');
      this.offset++;
      if (next === ']') return array;
    }
  }

  private string(): string {
    const start = ++this.offset;
    let out = '';
    let chunkStart = start;
    for (;;) {
      const code = this.text.charCodeAt(this.offset);
      if (Number.isNaN(code)) throw this.fail('unterminated string');
      if (code === 0x22) {
        out += this.text.slice(chunkStart, this.offset++);
        return out;
      }
      if (code < 0x20) throw this.fail('control character in a string');
      if (code !== 0x5c) {
        this.offset++;
        continue;
      }
      out += this.text.slice(chunkStart, this.offset);
      const escape = this.text[this.offset + 1];
      this.offset += 2;
      const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
      if (escape !== undefined && escape in simple) {
        out += simple[escape];
      } else if (escape === 'u') {
        const hex = this.text.slice(this.offset, this.offset + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw this.fail('bad \\u escape');
        out += String.fromCharCode(parseInt(hex, 16));
        this.offset += 4;
      } else {
        throw this.fail('bad escape');
      }
      chunkStart = this.offset;
    }
  }

  private number(): JsonNumber {
    const match = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(this.text.slice(this.offset, this.offset + 400));
    if (match === null) throw this.fail('bad number');
    this.offset += match[0].length;
    return new JsonNumber(match[0]);
  }

  private literal<T>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.offset)) throw this.fail(`unexpected ${JSON.stringify(this.text.slice(this.offset, this.offset + 8))}`);
    this.offset += word.length;
    return value;
  }
}
