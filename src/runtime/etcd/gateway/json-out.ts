// Writing protobuf JSON as etcd's gateway does (EmitDefaults off): a field
// holding its zero is left out. int64s are written as decimal strings, and
// '' stands for zero until withoutZeros drops it.

export type Json = string | number | boolean | Json[] | { [name: string]: Json };
export type JsonFields = { [name: string]: Json };

/** An int64 or uint64 as protobuf JSON writes it; zero becomes '' (left out). */
export function int64Text(value: number | string): string {
  const text = String(value);
  return text === '0' ? '' : text;
}

/** Drops the fields that hold their zero: '', false, 0 and empty lists. An empty object stays (etcd writes "header":{}). */
export function withoutZeros(record: Record<string, Json>): JsonFields {
  const out: JsonFields = {};
  for (const [name, value] of Object.entries(record)) {
    if (value === '' || value === false || value === 0 || (Array.isArray(value) && value.length === 0)) continue;
    out[name] = value;
  }
  return out;
}
