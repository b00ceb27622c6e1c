// vrrp_script NAME { … }. Defaults are keepalived's (vrrp/vrrp_data.c
// alloc_vrrp_script: interval 1 s, timeout 0 = the interval, weight 0,
// rise 1, fall 1); ranges from vrrp/vrrp_parser.c (vrrp_vscript_*_handler).
import type { ParseContext } from './context.js';
import type { Token } from './lexer.js';
import { readDecimal, readInt, readUnsigned } from './numbers.js';
import { keywordTable, readStatements, type Statement, type TokenStream } from './statements.js';
import type { VrrpScriptConf } from './types.js';

export const SCRIPT_INTERVAL_MS_DEFAULT = 1000;
/** keepalived keeps script times in microseconds in an unsigned int, read with millisecond resolution. */
const SCRIPT_TIME_MS_MAX = 4294 * 1000;
export const WEIGHT_MAX = 253;
const INT_MAX = 2147483647;

const SCRIPT_KEYWORDS = keywordTable([
  ['script', 1, 1],
  ['interval', 1, 1],
  ['timeout', 1, 1],
  ['weight', 1, 2],
  ['rise', 1, 1],
  ['fall', 1, 1],
  ['user', 1, 2],
]);

/** The block after `vrrp_script NAME {`. */
export function readVrrpScript(context: ParseContext, stream: TokenStream, name: Token, opener: Token): VrrpScriptConf {
  const where = `vrrp_script ${name.text}`;
  const script: VrrpScriptConf = { name: name.text, script: '', intervalMs: SCRIPT_INTERVAL_MS_DEFAULT, timeoutMs: 0, fall: 1, rise: 1, weight: 0 };
  let scriptSeen = false;
  readStatements(context, stream, SCRIPT_KEYWORDS, opener, where, (statement) => {
    if (statement.keyword.text === 'script') scriptSeen = true;
    applyScriptKeyword(context, statement, script);
  });
  // keepalived drops a vrrp_script without a script ("No script set"); tracking it would then silently track nothing.
  if (!scriptSeen) context.fail(name, `${where} has no script`);
  return script;
}

function applyScriptKeyword(context: ParseContext, { keyword, args }: Statement, script: VrrpScriptConf): void {
  const value = args[0]!;
  switch (keyword.text) {
    case 'script':
      // The command line as written; it is split into words when run.
      script.script = value.text;
      return;
    case 'interval':
      script.intervalMs = readScriptTimeMs(context, value, 'interval');
      return;
    case 'timeout':
      script.timeoutMs = readScriptTimeMs(context, value, 'timeout');
      return;
    case 'weight':
      script.weight = readInt(context, value, 'weight', -WEIGHT_MAX, WEIGHT_MAX);
      if (args[1] !== undefined) warnWeightOption(context, args[1], `vrrp_script ${script.name}`);
      return;
    case 'rise':
      script.rise = readUnsigned(context, value, 'rise', 1, INT_MAX);
      return;
    case 'fall':
      script.fall = readUnsigned(context, value, 'fall', 1, INT_MAX);
      return;
    case 'user':
      // An optional group follows; pf9lab runs scripts as the user only.
      script.user = value.text;
      return;
  }
}

/**
 * Seconds with millisecond resolution (keepalived 2.3.2 and later; 2.2.7
 * takes whole seconds only). keepalived turns 0 into 1 s (kept for files
 * older than 2.0.7).
 */
function readScriptTimeMs(context: ParseContext, token: Token, what: string): number {
  const timeMs = readDecimal(context, token, what, 3, 0, SCRIPT_TIME_MS_MAX);
  if (timeMs % 1000 !== 0) context.warn(token, `a fractional ${what} needs keepalived 2.3.2 or later; 2.2.7 refuses "${token.text}"`);
  if (timeMs > 0) return timeMs;
  context.warn(token, `${what} must be greater than 0; using 1 second as keepalived does`);
  return 1000;
}

/**
 * `weight N reverse` flips the direction of the adjustment; pf9lab does not
 * model it. track_script also takes `noreverse` (the default); vrrp_script does not.
 */
export function warnWeightOption(context: ParseContext, option: Token, where: string, noreverseAllowed = false): void {
  if (option.text === 'reverse') context.warn(option, `weight ... reverse in ${where} is not supported by pf9lab; the weight is applied without reverse`);
  else if (!(noreverseAllowed && option.text === 'noreverse')) context.warn(option, `unknown weight option "${option.text}" in ${where}; ignored`);
}
