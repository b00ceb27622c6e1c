// IPv4 addresses as inet_pton(AF_INET) accepts them: four decimal octets,
// no leading zeros. keepalived also takes IPv6; pf9lab models IPv4 only, so
// an IPv6 address is refused rather than silently mis-modelled.
import type { ParseContext } from './context.js';
import type { Token } from './lexer.js';
import { readUnsigned } from './numbers.js';

const OCTET = /^(0|[1-9]\d{0,2})$/;

export function isIpv4(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((part) => OCTET.test(part) && Number(part) <= 255);
}

/** Looks like an address (possibly with /prefix), so in a list it starts a new entry rather than being an unknown option. */
export function looksLikeAddress(text: string): boolean {
  return /^[0-9a-fA-F.:]+(\/\d*)?$/.test(text) && /[.:]/.test(text);
}

export function readIpv4(context: ParseContext, token: Token, what: string): string {
  if (isIpv4(token.text)) return token.text;
  if (token.text.includes(':')) context.fail(token, `${what} "${token.text}" is IPv6; pf9lab models IPv4 only`);
  return context.fail(token, `${what} must be an IPv4 address, got "${token.text}"`);
}

/** `198.18.0.10/24`, or without a prefix a host address (/32), as keepalived's parse_ipaddress. */
export function readIpv4WithPrefix(context: ParseContext, token: Token, what: string): { address: string; prefixLength: number } {
  const slash = token.text.indexOf('/');
  if (slash < 0) return { address: readIpv4(context, token, what), prefixLength: 32 };
  const address = readIpv4(context, { ...token, text: token.text.slice(0, slash) }, what);
  const prefixToken = { ...token, text: token.text.slice(slash + 1), column: token.column + slash + 1 };
  return { address, prefixLength: readUnsigned(context, prefixToken, `prefix length of ${what} ${address}`, 0, 32) };
}
