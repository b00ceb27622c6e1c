// Tokens → statements (a keyword and its values) inside `{ … }` blocks.
// Each block has a table of the keywords it knows, with how many values each
// takes; that is what lets several keyword/value pairs share a line
// (`interval 10  fall 6`): a statement's optional values stop at the next
// known keyword. keepalived itself gives each line to its first keyword; the
// `oneKeywordPerLine` option reads lines that way.
//
// Unknown keywords are warnings, and their block, if they open one, is
// skipped whole — unlike keepalived, whose next `}` would otherwise close the
// enclosing block early.
import type { ParseContext } from './context.js';
import type { Token } from './lexer.js';

export interface KeywordSpec {
  minArgs: number;
  maxArgs: number;
  /** The keyword is followed by a `{ … }` block of statements or of value lines. */
  opens?: 'statements' | 'values';
}

export type KeywordTable = ReadonlyMap<string, KeywordSpec>;

export interface Statement {
  keyword: Token;
  args: Token[];
  /** For a keyword that opens a block of statements: its `{`, for the handler to read the block from. */
  opener?: Token;
  /** For a keyword that opens a block of values: the words of each line, in order. */
  valueLines?: Token[][];
}

export class TokenStream {
  private index = 0;

  constructor(private readonly tokens: readonly Token[]) {}

  peek(): Token | undefined {
    return this.tokens[this.index];
  }

  next(): Token | undefined {
    const token = this.tokens[this.index];
    if (token !== undefined) this.index++;
    return token;
  }

  /** The next token if it is a word on `line` (a brace in between ends the line for keepalived too). */
  peekWordOn(line: number): Token | undefined {
    const token = this.peek();
    return token?.kind === 'word' && token.line === line ? token : undefined;
  }
}

/**
 * Reads statements up to the `}` that closes `opener` (or to the end of the
 * file at top level, where `opener` is undefined), handing each known one to
 * `handle`. `where` names the block in messages.
 */
export function readStatements(
  context: ParseContext,
  stream: TokenStream,
  table: KeywordTable,
  opener: Token | undefined,
  where: string,
  handle: (statement: Statement) => void,
): void {
  while (true) {
    const token = stream.next();
    if (token === undefined) {
      if (opener !== undefined) context.fail(opener, `'{' of ${where} is never closed`);
      return;
    }
    if (token.kind === 'close') {
      if (opener === undefined) context.fail(token, "'}' has no matching '{'");
      return;
    }
    if (token.kind === 'open') context.fail(token, `unexpected '{' in ${where}`);
    const spec = table.get(token.text);
    if (spec === undefined) {
      context.warn(token, `unknown or unsupported keyword "${token.text}" in ${where}; ignored`);
      skipUnknown(context, stream, table, token);
      continue;
    }
    const args = readArgs(context, stream, table, token, spec);
    const words = [token, ...args].map((word) => word.text).join(' ');
    const named = opener === undefined ? words : `${words} in ${where}`;
    if (spec.opens === 'statements') handle({ keyword: token, args, opener: expectOpen(context, stream, token, named) });
    else if (spec.opens === 'values') handle({ keyword: token, args, valueLines: readValueLines(context, stream, token, named) });
    else handle({ keyword: token, args });
  }
}

function readArgs(context: ParseContext, stream: TokenStream, table: KeywordTable, keyword: Token, spec: KeywordSpec): Token[] {
  const args: Token[] = [];
  while (args.length < spec.minArgs) {
    const token = stream.peekWordOn(keyword.line);
    if (token === undefined) context.fail(keyword, `${keyword.text} needs ${spec.minArgs === 1 ? 'a value' : `${spec.minArgs} values`}`);
    args.push(stream.next()!);
  }
  const startsStatement = (token: Token): boolean => !context.oneKeywordPerLine && table.has(token.text);
  for (let token = stream.peekWordOn(keyword.line); token !== undefined && args.length < spec.maxArgs && !startsStatement(token); token = stream.peekWordOn(keyword.line)) {
    args.push(stream.next()!);
  }
  const ignored: Token[] = [];
  for (let token = stream.peekWordOn(keyword.line); token !== undefined && !startsStatement(token); token = stream.peekWordOn(keyword.line)) {
    ignored.push(stream.next()!);
  }
  if (ignored.length > 0) {
    const words = ignored.map((token) => token.text).join(' ');
    context.warn(ignored[0]!, context.oneKeywordPerLine ? `keepalived ignores "${words}" after ${keyword.text}` : `unexpected "${words}" after ${keyword.text}; ignored`);
  }
  return args;
}

/**
 * Skips an unknown keyword's words on its line (up to the next known keyword,
 * unless lines are read as keepalived reads them) and, if it opens one, its
 * whole block.
 */
function skipUnknown(context: ParseContext, stream: TokenStream, table: KeywordTable, keyword: Token): void {
  for (let token = stream.peekWordOn(keyword.line); token !== undefined; token = stream.peekWordOn(keyword.line)) {
    if (!context.oneKeywordPerLine && table.has(token.text)) return;
    stream.next();
  }
  const opener = stream.peek();
  if (opener?.kind !== 'open') return;
  stream.next();
  let depth = 1;
  while (depth > 0) {
    const token = stream.next();
    if (token === undefined) context.fail(opener, `'{' of ${keyword.text} is never closed`);
    if (token.kind === 'open') depth++;
    if (token.kind === 'close') depth--;
  }
}

/** The `{` a block keyword needs next, on its line or a later one. */
function expectOpen(context: ParseContext, stream: TokenStream, keyword: Token, where: string): Token {
  const token = stream.next();
  if (token?.kind !== 'open') context.fail(token ?? keyword, `expected '{' to open ${where}${token === undefined ? '' : `, got "${token.text}"`}`);
  return token;
}

/**
 * A `{ … }` of value lines (virtual_ipaddress, unicast_peer, track_script…):
 * the words of each line, in order. keepalived gives each line to one entry.
 */
function readValueLines(context: ParseContext, stream: TokenStream, keyword: Token, where: string): Token[][] {
  const opener = expectOpen(context, stream, keyword, where);
  const lines: Token[][] = [];
  while (true) {
    const token = stream.next();
    if (token === undefined) context.fail(opener, `'{' of ${where} is never closed`);
    if (token.kind === 'close') return lines;
    if (token.kind === 'open') context.fail(token, `unexpected '{' in ${where}`);
    const last = lines[lines.length - 1];
    if (last !== undefined && last[0]!.line === token.line) last.push(token);
    else lines.push([token]);
  }
}

/** A table from `[keyword, minArgs, maxArgs, opens?]` rows. */
export function keywordTable(rows: ReadonlyArray<readonly [string, number, number, KeywordSpec['opens']?]>): KeywordTable {
  return new Map(rows.map(([name, minArgs, maxArgs, opens]) => [name, opens === undefined ? { minArgs, maxArgs } : { minArgs, maxArgs, opens }]));
}
