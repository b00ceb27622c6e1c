// The configuration parser: it agrees with JSON.parse on every document
// JSON.parse accepts (except duplicate keys, which it refuses on purpose),
// refuses everything JSON.parse refuses, and says where.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseJsonDocument } from '../src/runtime/config/json-document.js';
import { ConfigError } from '../src/runtime/config/config-error.js';

function locate(text: string): string {
  try {
    parseJsonDocument(text, 'c.json');
    return 'ok';
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const configError = error as ConfigError;
    return `${configError.code} ${configError.location?.line}:${configError.location?.column}`;
  }
}

describe('JSON configuration documents', () => {
  it('parses what JSON.parse parses, to the same value', () => {
    fc.assert(
      fc.property(fc.json(), (text) => {
        expect(parseJsonDocument(text, 'c.json').value).toEqual(JSON.parse(text));
      }),
      { numRuns: 500 },
    );
  });

  it('refuses what JSON.parse refuses, and accepts nothing else but unique-keyed JSON', () => {
    const mutated = fc
      .tuple(fc.json(), fc.nat(), fc.constantFrom('', ',', '}', ']', '"', ':', '\\', 'x', '\n', '{', '[', '-', '.', 'e', '\u0001'))
      .map(([text, at, insert]) => text.slice(0, at % (text.length + 1)) + insert + text.slice(at % (text.length + 1) + (insert === '' ? 1 : 0)));
    fc.assert(
      fc.property(fc.oneof(mutated, fc.string()), (text) => {
        let reference: unknown;
        let referenceFailed = false;
        try {
          reference = JSON.parse(text);
        } catch {
          referenceFailed = true;
        }
        let ours: unknown;
        let oursError: ConfigError | undefined;
        try {
          ours = parseJsonDocument(text, 'c.json').value;
        } catch (error) {
          oursError = error as ConfigError;
        }
        if (referenceFailed) {
          expect(oursError?.code).toBe('ERR_CONFIG_SYNTAX');
        } else if (oursError !== undefined) {
          expect(oursError.message).toContain('duplicate key');
        } else {
          expect(ours).toEqual(reference);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it.each([
    ['{"a": }', 'ERR_CONFIG_SYNTAX 1:7'],
    ['{\n  "a": 1\n  "b": 2\n}', 'ERR_CONFIG_SYNTAX 3:3'],
    ['{"a": 1, "a": 2}', 'ERR_CONFIG_SYNTAX 1:10'],
    ['{"a": "unterminated', 'ERR_CONFIG_SYNTAX 1:7'],
    ['', 'ERR_CONFIG_SYNTAX 1:1'],
    ['{"a": 01}', 'ERR_CONFIG_SYNTAX 1:8'],
    ['[1, 2] 3', 'ERR_CONFIG_SYNTAX 1:8'],
    ['{"a": tru}', 'ERR_CONFIG_SYNTAX 1:7'],
  ])('locates the error in %j', (text, expected) => {
    expect(locate(text)).toBe(expected);
  });

  it('bounds nesting instead of overflowing the stack', () => {
    expect(locate('['.repeat(10_000))).toMatch(/^ERR_CONFIG_SYNTAX/);
  });

  it('records where each value starts', () => {
    const document = parseJsonDocument('{\n  "listen": {\n    "port": 80\n  },\n  "users": [{"name": "x"}]\n}', 'c.json');
    expect(document.locations.get('listen.port')).toEqual({ line: 3, column: 13 });
    expect(document.locations.get('users[0].name')).toEqual({ line: 5, column: 22 });
  });

  it('never lets a key reach the prototype', () => {
    const document = parseJsonDocument('{"__proto__": {"polluted": true}}', 'c.json');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.keys(document.value as object)).toEqual(['__proto__']);
  });
});
