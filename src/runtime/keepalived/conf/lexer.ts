// keepalived.conf text → tokens, following keepalived's own reader
// (lib/parser.c: read_line, decomment, alloc_strvec_r):
// - `#` and `!` start a comment anywhere outside double quotes (so, in
//   effect, do `\#` and `\!`: see startsComment);
// - words are separated by blanks (space, tab, \f, \r, \v);
// - `"` starts a quoted word wherever it appears, ending the word before it;
//   the quotes are dropped and blanks inside are kept; single quotes are
//   ordinary characters here;
// - `{` and `}` outside quotes are tokens of their own even when glued to a
//   word (`vrrp_instance VI_1{` is three tokens).
// Lines keepalived treats specially (include, @config-id, $definitions,
// ~SEQ/~LST) are skipped with a warning: pf9lab does not implement them.
import type { ParseContext } from './context.js';

export type TokenKind = 'word' | 'open' | 'close';

export interface Token {
  kind: TokenKind;
  text: string;
  line: number;
  column: number;
}

/** keepalived reads lines into a 1024-byte buffer; a longer line is refused ("line too long"). */
export const LINE_BYTES_MAX = 1022;

const BLANKS = new Set([' ', '\t', '\f', '\r', '\v']);
const INCLUDE_LINE = /^include[rmwba]?[ \t]/;
const utf8 = new TextEncoder();

export function tokenize(text: string, context: ParseContext): Token[] {
  const tokens: Token[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    tokenizeLine(lines[index]!, index + 1, context, tokens);
  }
  return tokens;
}

function tokenizeLine(raw: string, line: number, context: ParseContext, out: Token[]): void {
  const nul = raw.indexOf('\0');
  if (nul >= 0) context.fail({ line, column: nul + 1 }, 'NUL character in the configuration (keepalived refuses such a line)');
  if (raw.length > LINE_BYTES_MAX && utf8.encode(raw).length > LINE_BYTES_MAX) {
    context.fail({ line, column: 1 }, `line is longer than ${LINE_BYTES_MAX} bytes, keepalived's limit`);
  }
  const start = raw.search(/[^ \t]/);
  if (start < 0) return;
  if (skipSpecialLine(raw.slice(start), { line, column: start + 1 }, context)) return;

  for (let i = start; i < raw.length; ) {
    const char = raw[i]!;
    if (startsComment(raw, i)) break;
    if (BLANKS.has(char)) {
      i++;
    } else if (char === '{' || char === '}') {
      out.push({ kind: char === '{' ? 'open' : 'close', text: char, line, column: i + 1 });
      i++;
    } else if (char === '"') {
      const close = raw.indexOf('"', i + 1);
      if (close < 0) context.fail({ line, column: i + 1 }, 'unterminated quote: no closing " on this line');
      out.push({ kind: 'word', text: raw.slice(i + 1, close), line, column: i + 1 });
      i = close + 1;
    } else {
      const end = wordEnd(raw, i);
      out.push({ kind: 'word', text: raw.slice(i, end), line, column: i + 1 });
      i = end;
    }
  }
}

/**
 * Where a bare word starting at `from` ends: at a blank, a brace, a quote or
 * a comment. `\\` is a pair, so in `\\#` the `#` is a comment.
 */
function wordEnd(raw: string, from: number): number {
  let i = from;
  while (i < raw.length) {
    const char = raw[i]!;
    if (char === '\\' && raw[i + 1] === '\\') i += 2;
    else if (BLANKS.has(char) || char === '{' || char === '}' || char === '"' || startsComment(raw, i)) break;
    else i++;
  }
  return i;
}

/**
 * keepalived's decomment turns `\#` into a literal `#`, but its parent process
 * writes the decommented text to a copy that the VRRP process decomments
 * again, so in effect `\#` and `\!` start a comment too (observed with
 * keepalived 2.2.7: `auth_pass ab\#cd` gives the password "ab").
 */
function startsComment(raw: string, i: number): boolean {
  const char = raw[i];
  return char === '#' || char === '!' || (char === '\\' && (raw[i + 1] === '#' || raw[i + 1] === '!'));
}

/** Lines keepalived handles before splitting words; true when the line was one of them (and is now skipped). */
function skipSpecialLine(rest: string, at: { line: number; column: number }, context: ParseContext): boolean {
  if (INCLUDE_LINE.test(rest)) {
    const file = rest.split(/[ \t]+/)[1] ?? '';
    context.warn(at, `include is not supported; "${file}" was not read`);
    return true;
  }
  const unsupported: Record<string, string> = {
    '@': 'conditional configuration (@id lines) is not supported; line skipped',
    '$': 'parameter definitions and substitution ($NAME) are not supported; line skipped',
    '~': 'sequence and list blocks (~SEQ, ~LST) are not supported; line skipped',
  };
  const message = unsupported[rest[0]!];
  if (message === undefined) return false;
  context.warn(at, message);
  return true;
}
