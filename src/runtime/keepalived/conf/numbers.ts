// Numbers as keepalived reads them (lib/parser.c: read_int_func,
// read_unsigned_func, read_decimal_unsigned_long_func): decimal only, an
// optional leading '+', no exponent, no hex. Where keepalived would
// complain and carry on with a guess, we refuse: a number that does not
// parse or is out of range is an error with its position.
import type { ParseContext } from './context.js';
import type { Token } from './lexer.js';

const UNSIGNED = /^[ \t]*\+?(\d+)$/;
const SIGNED = /^[ \t]*([+-]?)(\d+)$/;
const DECIMAL = /^\+?(\d*)(?:\.(\d*))?$/;

/** `what` names the value in the message, e.g. "virtual_router_id". */
export function readUnsigned(context: ParseContext, token: Token, what: string, min: number, max: number): number {
  const match = UNSIGNED.exec(token.text);
  const value = match === null ? Number.NaN : Number(match[1]);
  if (!(value >= min && value <= max)) context.fail(token, `${what} must be an integer in ${min}..${max}, got "${token.text}"`);
  return value;
}

export function readInt(context: ParseContext, token: Token, what: string, min: number, max: number): number {
  const match = SIGNED.exec(token.text);
  const value = match === null ? Number.NaN : Number(`${match[1]}${match[2]}`);
  if (!(value >= min && value <= max)) context.fail(token, `${what} must be an integer in ${min}..${max}, got "${token.text}"`);
  return Object.is(value, -0) ? 0 : value;
}

/**
 * A decimal like "3", "0.92" or ".5", returned in units of 10^-digits
 * (digits 3 → thousandths). More decimal places than that are rounded half
 * up with a warning, as keepalived does. `min`/`max` are in the returned units.
 */
export function readDecimal(context: ParseContext, token: Token, what: string, digits: number, min: number, max: number): number {
  const range = `${formatUnits(min, digits)}..${formatUnits(max, digits)}`;
  const match = DECIMAL.exec(token.text);
  const whole = match?.[1] ?? '';
  const fraction = match?.[2] ?? '';
  if (match === null || whole.length + fraction.length === 0) context.fail(token, `${what} must be a number in ${range}, got "${token.text}"`);
  let value = Number(whole || '0') * 10 ** digits + Number(fraction.slice(0, digits).padEnd(digits, '0') || '0');
  if (fraction.length > digits) {
    if (fraction.charCodeAt(digits) >= '5'.charCodeAt(0)) value++;
    context.warn(token, `${what} "${token.text}" has more than ${digits} decimal places; rounded to ${formatUnits(value, digits)}`);
  }
  if (!(value >= min && value <= max)) context.fail(token, `${what} must be a number in ${range}, got "${token.text}"`);
  return value;
}

/** 1500 with digits 3 → "1.5". */
export function formatUnits(value: number, digits: number): string {
  return String(value / 10 ** digits);
}
