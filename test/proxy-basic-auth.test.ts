// Basic proxy authentication: parsing and checking.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createBasicAuthChecker, parseBasicCredentials } from '../src/runtime/proxy/basic-auth.js';

const basic = (userPass: string): string => `Basic ${Buffer.from(userPass, 'utf8').toString('base64')}`;

describe('parseBasicCredentials', () => {
  it('decodes user:password, splitting at the first colon', () => {
    const credentials = parseBasicCredentials(basic('alice:s3cret:with:colons'));
    expect(credentials?.username.toString()).toBe('alice');
    expect(credentials?.password.toString()).toBe('s3cret:with:colons');
  });

  it('accepts any case of the scheme, and an empty password', () => {
    expect(parseBasicCredentials(`bAsIc ${Buffer.from('u:').toString('base64')}`)?.password).toHaveLength(0);
  });

  it.each([
    ['another scheme', `Bearer ${Buffer.from('u:p').toString('base64')}`],
    ['no token', 'Basic'],
    ['no colon', basic('nocolon')],
    ['not base64', 'Basic !!!!'],
    ['bad padding', 'Basic dTpw='],
    ['two tokens', 'Basic dTpw dTpw'],
    ['an oversized value', `Basic ${'A'.repeat(5000)}`],
  ])('rejects %s', (_label, value) => {
    expect(parseBasicCredentials(value)).toBeUndefined();
  });

  it('never throws', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (value) => {
      parseBasicCredentials(value);
    }));
  });
});

describe('createBasicAuthChecker', () => {
  const check = createBasicAuthChecker([
    { username: 'alice', password: 'wonderland' },
    { username: 'bob', password: 'bücher' },
  ]);
  const header = (value: string): [string, string][] => [['proxy-authorization', value]];

  it('accepts configured users, including UTF-8 passwords', () => {
    expect(check(header(basic('alice:wonderland')))).toEqual({ ok: true, username: 'alice' });
    expect(check(header(basic('bob:bücher')))).toEqual({ ok: true, username: 'bob' });
  });

  it('says why it refuses', () => {
    expect(check([])).toEqual({ ok: false, reason: 'missing' });
    expect(check([...header(basic('alice:wonderland')), ...header(basic('alice:wonderland'))])).toEqual({ ok: false, reason: 'multiple' });
    expect(check(header('Digest abc'))).toEqual({ ok: false, reason: 'unsupported-scheme' });
    expect(check(header('Basic ???'))).toEqual({ ok: false, reason: 'malformed' });
    expect(check(header(basic('alice:wrong')))).toEqual({ ok: false, reason: 'bad-credentials', username: 'alice' });
    expect(check(header(basic('mallory:wonderland')))).toMatchObject({ ok: false, reason: 'bad-credentials' });
    expect(check(header(basic('bob:wonderland')))).toMatchObject({ ok: false, reason: 'bad-credentials' });
  });

  it('refuses everyone when no users are configured', () => {
    expect(createBasicAuthChecker([])(header(basic('alice:wonderland')))).toMatchObject({ ok: false, reason: 'bad-credentials' });
  });
});
