// Interface names as Linux takes them: at most IFNAMSIZ - 1 = 15 bytes.
// keepalived ignores a longer name with an error; we refuse the file.
import type { ParseContext } from './context.js';
import type { Token } from './lexer.js';

export const IFACE_NAME_BYTES_MAX = 15;
const utf8 = new TextEncoder();

export function readIfaceName(context: ParseContext, token: Token, what: string): string {
  const bytes = utf8.encode(token.text).length;
  if (bytes === 0 || bytes > IFACE_NAME_BYTES_MAX) context.fail(token, `${what} must be an interface name of 1..${IFACE_NAME_BYTES_MAX} bytes, got "${token.text}"`);
  return token.text;
}
