// Checks the shape of a parsed configuration document: types, required and
// unknown keys. Every complaint names the key path and where it is.
import { ConfigError } from './config-error.js';
import { childPath, type JsonDocument } from './json-document.js';

export class ShapeChecker {
  constructor(
    private readonly document: JsonDocument,
    private readonly file: string,
  ) {}

  fail(path: string, problem: string): never {
    // Point at the value itself, or at the nearest enclosing one that exists (for a missing key).
    let located = path;
    while (!this.document.locations.has(located) && located !== '') located = parentPath(located);
    const location = this.document.locations.get(located);
    throw new ConfigError('ERR_CONFIG_INVALID', this.file, problem, {
      ...(location === undefined ? {} : { location }),
      keyPath: path === '' ? '(root)' : path,
    });
  }

  object(path: string, value: unknown, keys: { required: readonly string[]; optional: readonly string[] }): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(path, `must be an object, got ${describe(value)}`);
    const record = value as Record<string, unknown>;
    const allowed = [...keys.required, ...keys.optional];
    for (const key of Object.keys(record)) {
      if (!allowed.includes(key)) this.fail(childPath(path, key), `unknown key (allowed: ${allowed.join(', ')})`);
    }
    for (const key of keys.required) {
      if (!(key in record)) this.fail(childPath(path, key), 'is required');
    }
    return record;
  }

  array(path: string, value: unknown): unknown[] {
    if (!Array.isArray(value)) this.fail(path, `must be an array, got ${describe(value)}`);
    return value;
  }

  string(path: string, value: unknown): string {
    if (typeof value !== 'string') this.fail(path, `must be a string, got ${describe(value)}`);
    return value;
  }

  integer(path: string, value: unknown): number {
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) this.fail(path, `must be an integer, got ${describe(value)}`);
    return value;
  }
}

/** "users[0].name" → "users[0]" → "users" → "" (the root). */
export function parentPath(path: string): string {
  const cut = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
  return cut <= 0 ? '' : path.slice(0, cut);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}
