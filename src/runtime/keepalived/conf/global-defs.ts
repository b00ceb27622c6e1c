// global_defs { … }: the subset pf9lab uses. Defaults and ranges are
// keepalived's (core/global_data.c set_vrrp_defaults, core/global_parser.c).
// keepalived's parent process reads global_defs before the VRRP process
// reads any vrrp_instance, so globals apply wherever the block sits in the
// file; the parser therefore resolves instances against them at the end.
import type { ParseContext } from './context.js';
import { readUnsigned } from './numbers.js';
import { keywordTable, readStatements, type Statement, type TokenStream } from './statements.js';
import type { Token } from './lexer.js';
import type { GlobalDefs } from './types.js';

/** keepalived's default gratuitous ARP settings (vrrp.h VRRP_GARP_*). */
export const GARP_MASTER_DELAY_MS_DEFAULT = 5000;
export const GARP_MASTER_REPEAT_DEFAULT = 5;
export const GARP_MASTER_REFRESH_MS_DEFAULT = 0;
export const GARP_MASTER_REFRESH_REPEAT_DEFAULT = 1;

/** keepalived stores delays in microseconds in an unsigned int: at most UINT_MAX / 10^6 whole seconds. */
export const GARP_DELAY_SECONDS_MAX = 4294;
export const UINT_MAX = 4294967295;

export function defaultGlobalDefs(): GlobalDefs {
  return {
    enableScriptSecurity: false,
    garpMasterDelayMs: GARP_MASTER_DELAY_MS_DEFAULT,
    garpMasterRepeat: GARP_MASTER_REPEAT_DEFAULT,
    garpMasterRefreshMs: GARP_MASTER_REFRESH_MS_DEFAULT,
    garpMasterRefreshRepeat: GARP_MASTER_REFRESH_REPEAT_DEFAULT,
    vrrpVersion: 2,
  };
}

const GLOBAL_KEYWORDS = keywordTable([
  ['router_id', 1, 1],
  ['enable_script_security', 0, 0],
  ['script_user', 1, 2],
  ['vrrp_version', 1, 1],
  ['vrrp_garp_master_delay', 1, 1],
  ['vrrp_garp_master_repeat', 1, 1],
  ['vrrp_garp_master_refresh', 1, 1],
  ['vrrp_garp_master_refresh_repeat', 1, 1],
]);

/** The block after `global_defs {`; several global_defs blocks add up. */
export function readGlobalDefs(context: ParseContext, stream: TokenStream, opener: Token, globals: GlobalDefs): void {
  readStatements(context, stream, GLOBAL_KEYWORDS, opener, 'global_defs', (statement) => applyGlobal(context, statement, globals));
}

function applyGlobal(context: ParseContext, { keyword, args }: Statement, globals: GlobalDefs): void {
  const value = args[0]!;
  switch (keyword.text) {
    case 'router_id':
      globals.routerId = value.text;
      return;
    case 'enable_script_security':
      globals.enableScriptSecurity = true;
      return;
    case 'script_user':
      // An optional group follows; pf9lab runs scripts as the user only.
      globals.scriptUser = value.text;
      return;
    case 'vrrp_version':
      globals.vrrpVersion = readUnsigned(context, value, 'vrrp_version', 2, 3) as 2 | 3;
      return;
    case 'vrrp_garp_master_delay':
      globals.garpMasterDelayMs = readUnsigned(context, value, keyword.text, 0, GARP_DELAY_SECONDS_MAX) * 1000;
      return;
    case 'vrrp_garp_master_refresh':
      globals.garpMasterRefreshMs = readUnsigned(context, value, keyword.text, 0, UINT_MAX) * 1000;
      return;
    case 'vrrp_garp_master_repeat':
      globals.garpMasterRepeat = readRepeat(context, value, keyword.text);
      return;
    case 'vrrp_garp_master_refresh_repeat':
      globals.garpMasterRefreshRepeat = readRepeat(context, value, keyword.text);
      return;
  }
}

/** A repeat count: keepalived accepts 0 for compatibility with pre-2.0.7 files and makes it 1, with a warning. */
export function readRepeat(context: ParseContext, token: Token, what: string): number {
  const repeat = readUnsigned(context, token, what, 0, UINT_MAX);
  if (repeat > 0) return repeat;
  context.warn(token, `${what} must be greater than 0; using 1 as keepalived does`);
  return 1;
}
