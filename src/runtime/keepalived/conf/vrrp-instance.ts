// vrrp_instance NAME { … } as written. Value ranges are keepalived's
// (vrrp/vrrp_parser.c vrrp_*_handler); what keepalived derives from them is
// in complete-instance.ts.
import { readIpv4 } from './address.js';
import type { ParseContext } from './context.js';
import { readRepeat, GARP_DELAY_SECONDS_MAX, UINT_MAX } from './global-defs.js';
import { readIfaceName } from './iface-name.js';
import { newInstanceDraft, type InstanceDraft, type UnresolvedTrackScript } from './instance-draft.js';
import { readTrackInterfaces, readTrackScripts, readUnicastPeers, readVips } from './instance-lists.js';
import type { Token } from './lexer.js';
import { readDecimal, readUnsigned } from './numbers.js';
import { keywordTable, readStatements, type Statement, type TokenStream } from './statements.js';
import type { NotifyConf, VrrpScriptConf } from './types.js';

/** advert_int: keepalived reads it in microseconds, 0.01..255 s. */
const ADVERT_US_MIN = 10_000;
const ADVERT_US_MAX = 255_000_000;
/** preempt_delay: 0..1000 s (TIMER_MAX_SEC), in microseconds. */
const PREEMPT_DELAY_US_MAX = 1_000_000_000;
/** keepalived keeps at most 8 bytes of auth_pass (VRRP_AUTH_LEN). */
export const AUTH_PASS_BYTES_MAX = 8;

const NOTIFY_FIELDS: ReadonlyMap<string, keyof NotifyConf> = new Map([
  ['notify_master', 'master'],
  ['notify_backup', 'backup'],
  ['notify_fault', 'fault'],
  ['notify_stop', 'stop'],
  ['notify', 'any'],
] as const);

const INSTANCE_KEYWORDS = keywordTable([
  ['state', 1, 1],
  ['interface', 1, 1],
  ['virtual_router_id', 1, 1],
  ['priority', 1, 1],
  ['advert_int', 1, 1],
  ['version', 1, 1],
  ['nopreempt', 0, 0],
  ['preempt', 0, 0],
  ['preempt_delay', 1, 1],
  ['authentication', 0, 0, 'statements'],
  ['virtual_ipaddress', 0, 0, 'values'],
  ['unicast_src_ip', 1, 1],
  ['unicast_peer', 0, 0, 'values'],
  ['track_script', 0, 0, 'values'],
  ['track_interface', 0, 0, 'values'],
  // A notify script may be followed by the user (and group) to run it as.
  ...[...NOTIFY_FIELDS.keys()].map((name) => [name, 1, 3] as const),
  ['garp_master_delay', 1, 1],
  ['garp_master_repeat', 1, 1],
  ['garp_master_refresh', 1, 1],
  ['garp_master_refresh_repeat', 1, 1],
]);

const AUTH_KEYWORDS = keywordTable([
  ['auth_type', 1, 1],
  ['auth_pass', 1, 1],
]);

const utf8 = new TextEncoder();

/** What an instance may refer to that is defined elsewhere in the file. */
export interface InstanceSurroundings {
  /** vrrp_script blocks read so far: keepalived resolves track_script while reading. */
  scriptsSoFar: ReadonlyMap<string, VrrpScriptConf>;
  unresolvedTrackScripts: UnresolvedTrackScript[];
}

/** The block after `vrrp_instance NAME {`. */
export function readVrrpInstance(context: ParseContext, stream: TokenStream, name: Token, opener: Token, around: InstanceSurroundings): InstanceDraft {
  const where = `vrrp_instance ${name.text}`;
  const draft = newInstanceDraft(name);
  readStatements(context, stream, INSTANCE_KEYWORDS, opener, where, (statement) => {
    applyInstanceKeyword(context, stream, statement, draft, around);
  });
  return draft;
}

function applyInstanceKeyword(context: ParseContext, stream: TokenStream, statement: Statement, draft: InstanceDraft, around: InstanceSurroundings): void {
  const { keyword, args } = statement;
  const value = args[0]!;
  const lines = statement.valueLines ?? [];
  switch (keyword.text) {
    case 'state':
      return applyState(context, value, draft);
    case 'interface':
      draft.iface = readIfaceName(context, value, 'interface');
      return;
    case 'virtual_router_id':
      draft.vrid = { value: readUnsigned(context, value, 'virtual_router_id', 1, 255), token: value };
      return;
    case 'priority':
      draft.priority = readUnsigned(context, value, 'priority', 1, 255);
      return;
    case 'advert_int':
      draft.advertIntervalUs = { value: readDecimal(context, value, 'advert_int (seconds)', 6, ADVERT_US_MIN, ADVERT_US_MAX), token: value };
      return;
    case 'version':
      return applyVersion(context, value, draft);
    case 'nopreempt':
      draft.nopreempt = keyword;
      return;
    case 'preempt':
      // keepalived keeps `preempt` for old files: it only undoes an earlier nopreempt.
      delete draft.nopreempt;
      return;
    case 'preempt_delay':
      draft.preemptDelay = { ms: readMillisecondsFromMicros(context, value, 'preempt_delay (seconds)', PREEMPT_DELAY_US_MAX), token: value };
      return;
    case 'authentication':
      draft.authToken = keyword;
      readStatements(context, stream, AUTH_KEYWORDS, statement.opener, `authentication of ${draft.name.text}`, (auth) => applyAuthKeyword(context, auth, draft));
      return;
    case 'virtual_ipaddress':
      return readVips(context, lines, draft);
    case 'unicast_src_ip':
      draft.unicastSourceIp = readIpv4(context, value, 'unicast_src_ip');
      draft.unicastKeywordToken ??= keyword;
      return;
    case 'unicast_peer':
      draft.unicastKeywordToken ??= keyword;
      return readUnicastPeers(context, lines, draft);
    case 'track_script':
      return readTrackScripts(context, lines, draft, around.scriptsSoFar, around.unresolvedTrackScripts);
    case 'track_interface':
      return readTrackInterfaces(context, lines, draft);
    case 'garp_master_delay':
      draft.garpMasterDelayMs = readUnsigned(context, value, 'garp_master_delay', 0, GARP_DELAY_SECONDS_MAX) * 1000;
      return;
    case 'garp_master_refresh':
      draft.garpMasterRefreshMs = readUnsigned(context, value, 'garp_master_refresh', 0, UINT_MAX) * 1000;
      return;
    case 'garp_master_repeat':
      draft.garpMasterRepeat = readRepeat(context, value, 'garp_master_repeat');
      return;
    case 'garp_master_refresh_repeat':
      draft.garpMasterRefreshRepeat = readRepeat(context, value, 'garp_master_refresh_repeat');
      return;
    default:
      return applyNotify(context, statement, draft);
  }
}

function applyState(context: ParseContext, token: Token, draft: InstanceDraft): void {
  if (token.text !== 'MASTER' && token.text !== 'BACKUP') context.fail(token, `state must be MASTER or BACKUP, got "${token.text}"`);
  if (token.text === 'BACKUP' && draft.state?.value === 'MASTER') {
    context.warn(token, `state of ${draft.name.text} was already set to MASTER; BACKUP ignored as keepalived does`);
    return;
  }
  draft.state = { value: token.text, token };
}

function applyVersion(context: ParseContext, token: Token, draft: InstanceDraft): void {
  const version = readUnsigned(context, token, 'version', 2, 3) as 2 | 3;
  if (draft.version !== undefined && draft.version !== version) {
    context.warn(token, `version ${version} conflicts with version ${draft.version} given earlier in ${draft.name.text}; ignored as keepalived does`);
    return;
  }
  draft.version = version;
}

/** keepalived reads these times to the microsecond; pf9lab keeps milliseconds. */
function readMillisecondsFromMicros(context: ParseContext, token: Token, what: string, maxUs: number): number {
  const micros = readDecimal(context, token, what, 6, 0, maxUs);
  const millis = Math.round(micros / 1000);
  if (millis * 1000 !== micros) context.warn(token, `${what} "${token.text}" is finer than the millisecond pf9lab keeps; rounded to ${millis / 1000}`);
  return millis;
}

function applyAuthKeyword(context: ParseContext, { keyword, args }: Statement, draft: InstanceDraft): void {
  const value = args[0]!;
  if (keyword.text === 'auth_type') {
    if (value.text !== 'PASS' && value.text !== 'AH') context.fail(value, `auth_type must be PASS or AH, got "${value.text}"`);
    draft.authType = value.text === 'PASS' ? 'pass' : 'ah';
    return;
  }
  draft.authPassword = truncateAuthPass(context, value);
}

/** keepalived keeps the first 8 bytes with a warning; we keep whole characters within them. */
function truncateAuthPass(context: ParseContext, token: Token): string {
  if (utf8.encode(token.text).length <= AUTH_PASS_BYTES_MAX) return token.text;
  let kept = '';
  for (const char of token.text) {
    if (utf8.encode(kept + char).length > AUTH_PASS_BYTES_MAX) break;
    kept += char;
  }
  context.warn(token, `auth_pass is longer than ${AUTH_PASS_BYTES_MAX} bytes; truncated to "${kept}" as keepalived does`);
  return kept;
}

function applyNotify(context: ParseContext, { keyword, args }: Statement, draft: InstanceDraft): void {
  const field = NOTIFY_FIELDS.get(keyword.text);
  // Every keyword of INSTANCE_KEYWORDS has a case above or is a notify keyword.
  if (field === undefined) throw new Error(`keepalived.conf parser: no handler for keyword ${keyword.text}`);
  if (draft.notify[field] !== undefined) {
    context.warn(keyword, `${keyword.text} of ${draft.name.text} was already given; ignored as keepalived does`);
    return;
  }
  // The script is run as written; a user/group after it is accepted, but pf9lab runs notify scripts as itself.
  draft.notify[field] = args[0]!.text;
}
