// Reading protobuf messages from JSON the way etcd 3.4's gateway does
// (grpc-gateway's JSONPb marshaler over golang/protobuf's jsonpb, as Debian
// builds etcd 3.4.23; each rule below was checked against that server):
// - a field may be named as in the .proto ("range_end") or in lowerCamelCase
//   ("rangeEnd"); the .proto name wins when both are given;
// - unknown fields are ignored; null is the field's zero;
// - int64 and uint64 come as decimal strings or bare integers ("5" or 5;
//   not 1e2, 1.5 or "x"), read exactly, never through a double;
// - bools are true/false only ("true" and 1 are refused);
// - enums come as their name or their number;
// - bytes are standard base64 with padding (base64.ts).
import type { KvBytes } from '../api/bytes.js';
import { bytesFromBase64 } from './base64.js';
import { JsonNumber, type JsonObject, type JsonValue } from './json-text.js';

export type FieldError = (field: string, problem: string) => Error;

const INTEGER_TEXT = /^-?(0|[1-9][0-9]*)$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/** The lowerCamelCase JSON name protoc gives a field: "create_revision" → "createRevision"; "TTL" stays. */
export function jsonNameOf(protoName: string): string {
  return protoName.replace(/_([a-z0-9])/gi, (_, c: string) => c.toUpperCase());
}

export class ProtoFields {
  private constructor(
    private readonly object: JsonObject,
    /** Where this message sits, for error messages: '' for the body, 'compare[0]' inside it. */
    readonly path: string,
    private readonly fail: FieldError,
  ) {}

  /** A message from a JSON value: an object, or null for the empty message. */
  static of(value: JsonValue | undefined, path: string, fail: FieldError): ProtoFields {
    if (value === null || value === undefined) return new ProtoFields(new Map(), path, fail);
    if (!(value instanceof Map)) throw fail(path === '' ? '(body)' : path, `must be a JSON object, got ${describe(value)}`);
    return new ProtoFields(value, path, fail);
  }

  fieldPath(name: string): string {
    return this.path === '' ? name : `${this.path}.${name}`;
  }

  /** Whether the field is present and not null. */
  has(name: string): boolean {
    const value = this.raw(name);
    return value !== undefined && value !== null;
  }

  bytes(name: string): KvBytes {
    const value = this.raw(name);
    if (value === undefined || value === null) return '';
    if (typeof value !== 'string') throw this.fail(this.fieldPath(name), `must be a base64 string, got ${describe(value)}`);
    const bytes = bytesFromBase64(value);
    if (bytes === undefined) throw this.fail(this.fieldPath(name), 'is not standard base64 with padding');
    return bytes;
  }

  string(name: string): string {
    const value = this.raw(name);
    if (value === undefined || value === null) return '';
    if (typeof value !== 'string') throw this.fail(this.fieldPath(name), `must be a string, got ${describe(value)}`);
    return value;
  }

  bool(name: string): boolean {
    const value = this.raw(name);
    if (value === undefined || value === null) return false;
    if (typeof value !== 'boolean') throw this.fail(this.fieldPath(name), `must be true or false, got ${describe(value)}`);
    return value;
  }

  /** An int64 as canonical decimal text ('0' when absent). */
  int64Text(name: string): string {
    return this.integerText(name, INT64_MIN, INT64_MAX, 'int64');
  }

  /** A uint64 as canonical decimal text ('0' when absent). */
  uint64Text(name: string): string {
    return this.integerText(name, 0n, UINT64_MAX, 'uint64');
  }

  /** An int64 that the model keeps as a number: it must be exact in a double. */
  int64(name: string): number {
    const text = this.int64Text(name);
    const value = Number(text);
    if (!Number.isSafeInteger(value)) throw this.fail(this.fieldPath(name), `${text} is beyond what this model handles (±2^53)`);
    return value;
  }

  uint64(name: string): number {
    const text = this.uint64Text(name);
    const value = Number(text);
    if (!Number.isSafeInteger(value)) throw this.fail(this.fieldPath(name), `${text} is beyond what this model handles (2^53)`);
    return value;
  }

  /** An enum by name or number; `names[i]` is the value numbered i. */
  enumOf<T extends string>(name: string, enumName: string, names: readonly T[]): T {
    const value = this.raw(name);
    if (value === undefined || value === null) return names[0]!;
    if (typeof value === 'string') {
      if (names.includes(value as T)) return value as T;
      throw this.fail(this.fieldPath(name), `unknown value ${JSON.stringify(value)} for enum ${enumName} (${names.join(', ')})`);
    }
    if (value instanceof JsonNumber && INTEGER_TEXT.test(value.text)) {
      const found = names[Number(value.text)];
      // etcd accepts any number here and then matches none of its cases; refusing is kinder.
      if (found !== undefined) return found;
    }
    throw this.fail(this.fieldPath(name), `must be a name or number of enum ${enumName} (${names.join(', ')}), got ${describe(value)}`);
  }

  /** A nested message; undefined when absent or null. */
  message(name: string): ProtoFields | undefined {
    const value = this.raw(name);
    if (value === undefined || value === null) return undefined;
    return ProtoFields.of(value, this.fieldPath(name), this.fail);
  }

  /** A repeated field's elements with their paths. */
  repeated(name: string, maxLength: number): { value: JsonValue; path: string }[] {
    const value = this.raw(name);
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) throw this.fail(this.fieldPath(name), `must be a JSON array, got ${describe(value)}`);
    if (value.length > maxLength) throw this.fail(this.fieldPath(name), `more than ${maxLength} entries`);
    return value.map((element, i) => ({ value: element, path: `${this.fieldPath(name)}[${i}]` }));
  }

  /** A repeated bytes field. */
  repeatedBytes(name: string, maxLength: number): KvBytes[] {
    return this.repeated(name, maxLength).map(({ value, path }) => this.element(value, path).bytes('element'));
  }

  /** A repeated enum field. */
  repeatedEnum<T extends string>(name: string, maxLength: number, enumName: string, names: readonly T[]): T[] {
    return this.repeated(name, maxLength).map(({ value, path }) => this.element(value, path).enumOf('element', enumName, names));
  }

  /** Which of a oneof's fields are set (present and not null). */
  presentOf(names: readonly string[]): string[] {
    return names.filter((name) => this.has(name));
  }

  /** One element of a repeated scalar, read with the scalar readers, its errors naming the element. */
  private element(value: JsonValue, path: string): ProtoFields {
    return new ProtoFields(new Map([['element', value]]), path, (_, problem) => this.fail(path, problem));
  }

  private raw(name: string): JsonValue | undefined {
    if (this.object.has(name)) return this.object.get(name);
    return this.object.get(jsonNameOf(name));
  }

  private integerText(name: string, min: bigint, max: bigint, typeName: string): string {
    const value = this.raw(name);
    if (value === undefined || value === null) return '0';
    const text = value instanceof JsonNumber ? value.text : typeof value === 'string' ? value : undefined;
    if (text === undefined || !INTEGER_TEXT.test(text)) throw this.fail(this.fieldPath(name), `must be an ${typeName} (a decimal string or integer), got ${describe(value)}`);
    const n = BigInt(text);
    if (n < min || n > max) throw this.fail(this.fieldPath(name), `${text} is out of range for ${typeName}`);
    return n.toString();
  }
}

function describe(value: JsonValue): string {
  if (value === null) return 'null';
  if (value instanceof JsonNumber) return value.text;
  if (value instanceof Map) return 'an object';
  if (Array.isArray(value)) return 'an array';
  return JSON.stringify(value).slice(0, 40);
}
