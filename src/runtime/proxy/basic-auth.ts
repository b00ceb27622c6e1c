// Proxy authentication with the Basic scheme (RFC 7617, RFC 9110 §11.7.1).
// Comparison is constant-time over every configured user, so the time taken
// does not tell an attacker which user name exists or how much of a password
// matched.
import { createHash, timingSafeEqual } from 'node:crypto';

export interface ProxyUser {
  username: string;
  password: string;
}

export interface BasicCredentials {
  /** UTF-8 bytes as sent; compared byte for byte. */
  username: Buffer;
  password: Buffer;
}

export type ProxyAuthFailure =
  /** No Proxy-Authorization header. */
  | 'missing'
  /** More than one Proxy-Authorization header. */
  | 'multiple'
  /** A scheme other than Basic. */
  | 'unsupported-scheme'
  /** Basic, but not base64 of `user:password`. */
  | 'malformed'
  /** Well-formed, but no configured user matches. */
  | 'bad-credentials';

export type ProxyAuthResult = { ok: true; username: string } | { ok: false; reason: ProxyAuthFailure; username?: string };

/** The challenge sent with every 407. */
export const proxyAuthenticateChallenge = 'Basic realm="pf9lab"';

/** token68 (RFC 9110 §11.2) restricted to the base64 alphabet, with correct padding. */
const base64Pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** A header value longer than this is not credentials anyone configured. */
const headerValueLengthMax = 4096;

/** Parses a `Basic <base64(user:password)>` value; undefined when it is not one. */
export function parseBasicCredentials(headerValue: string): BasicCredentials | undefined {
  if (headerValue.length > headerValueLengthMax) return undefined;
  const match = /^([A-Za-z]+)[ ]+([^ ]+)[ ]*$/.exec(headerValue);
  if (match === null || match[1]?.toLowerCase() !== 'basic') return undefined;
  const token = match[2] ?? '';
  if (token === '' || !base64Pattern.test(token)) return undefined;
  const decoded = Buffer.from(token, 'base64');
  const colon = decoded.indexOf(0x3a);
  if (colon === -1) return undefined;
  return { username: decoded.subarray(0, colon), password: decoded.subarray(colon + 1) };
}

export type BasicAuthChecker = (headers: readonly (readonly [string, string])[]) => ProxyAuthResult;

/** A checker for `headers` (lower-cased names, as the request parser gives them) against `users`. */
export function createBasicAuthChecker(users: readonly ProxyUser[]): BasicAuthChecker {
  const digests = users.map((user) => ({
    username: user.username,
    usernameDigest: sha256(Buffer.from(user.username, 'utf8')),
    passwordDigest: sha256(Buffer.from(user.password, 'utf8')),
  }));

  return (headers) => {
    const values = headers.filter(([name]) => name === 'proxy-authorization').map(([, value]) => value);
    if (values.length === 0) return { ok: false, reason: 'missing' };
    if (values.length > 1) return { ok: false, reason: 'multiple' };
    const value = values[0] ?? '';
    const credentials = parseBasicCredentials(value);
    if (credentials === undefined) {
      return { ok: false, reason: /^basic(?: |$)/i.test(value) ? 'malformed' : 'unsupported-scheme' };
    }
    // Digests have equal lengths, which timingSafeEqual needs, whatever was sent.
    const usernameDigest = sha256(credentials.username);
    const passwordDigest = sha256(credentials.password);
    let matched: string | undefined;
    for (const user of digests) {
      const usernameMatches = timingSafeEqual(usernameDigest, user.usernameDigest);
      const passwordMatches = timingSafeEqual(passwordDigest, user.passwordDigest);
      if (usernameMatches && passwordMatches && matched === undefined) matched = user.username;
    }
    if (matched !== undefined) return { ok: true, username: matched };
    return { ok: false, reason: 'bad-credentials', username: printableUsername(credentials.username) };
  };
}

function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

/** The attempted user name, made safe and short for a log line. */
function printableUsername(username: Buffer): string {
  return username.toString('utf8').replace(/[^\x20-\x7e]/g, '?').slice(0, 64);
}
