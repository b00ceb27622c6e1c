// The list blocks of a vrrp_instance: virtual_ipaddress, unicast_peer,
// track_script, track_interface. keepalived gives each line of such a block
// to one entry (vrrp/vrrp_data.c alloc_vrrp_vip / alloc_vrrp_unicast_peer,
// vrrp/vrrp_track.c alloc_track_script / alloc_track_if, and
// vrrp_ipaddress.c alloc_ipaddress for the address options). By default a
// line may also hold several entries (`{ 198.18.0.10 198.18.0.11 }`); with
// `oneKeywordPerLine` the extra words get keepalived's treatment instead.
import { looksLikeAddress, readIpv4, readIpv4WithPrefix } from './address.js';
import type { ParseContext } from './context.js';
import { readIfaceName } from './iface-name.js';
import type { InstanceDraft, UnresolvedTrackScript } from './instance-draft.js';
import type { Token } from './lexer.js';
import { readInt, readUnsigned } from './numbers.js';
import type { VipConf, VrrpScriptConf } from './types.js';
import { WEIGHT_MAX, warnWeightOption } from './vrrp-script.js';

/** A VRRP advert counts its addresses in one byte. */
export const VIPS_MAX = 255;

/** Address options keepalived accepts that change nothing pf9lab models, or that it does not model. */
const VIP_OPTIONS_WITH_VALUE = new Set(['brd', 'broadcast', 'scope', 'label', 'peer', 'preferred_lft']);
const VIP_FLAGS = new Set(['home', '-nodad', 'mngtmpaddr', 'noprefixroute', 'autojoin', 'no_track', 'use_vmac']);

export function readVips(context: ParseContext, lines: Token[][], draft: InstanceDraft): void {
  const where = `virtual_ipaddress of ${draft.name.text}`;
  for (const line of lines) {
    let i = 0;
    while (i < line.length) {
      const addressToken = line[i++]!;
      const vip: VipConf = readIpv4WithPrefix(context, addressToken, 'virtual_ipaddress');
      for (let option = line[i]; option !== undefined && !startsNextEntry(context, option); option = line[i]) {
        i++;
        if (option.text === 'dev' || VIP_OPTIONS_WITH_VALUE.has(option.text)) {
          const value = line[i++];
          if (value === undefined) context.fail(option, `${option.text} needs a value`);
          if (option.text !== 'dev') context.warn(option, `address option "${option.text}" is not modelled by pf9lab; ignored`);
          else if (vip.iface !== undefined) context.fail(option, `dev given twice for ${vip.address}`);
          else vip.iface = readIfaceName(context, value, 'dev');
        } else if (VIP_FLAGS.has(option.text)) {
          context.warn(option, `address option "${option.text}" is not modelled by pf9lab; ignored`);
        } else {
          context.warn(option, `unknown option "${option.text}" for address ${vip.address} in ${where}; ignored`);
        }
      }
      addVip(context, addressToken, vip, draft);
    }
  }
}

function addVip(context: ParseContext, token: Token, vip: VipConf, draft: InstanceDraft): void {
  // keepalived 2.2.7 (the Debian bookworm peer) keeps a repeated address and advertises it twice; 2.3.3 and later drop it.
  if (draft.vips.some((other) => other.address === vip.address)) {
    context.warn(token, `${vip.address} is listed twice in ${draft.name.text}; kept twice as keepalived 2.2.7 does (2.3.3 and later drop the repeat)`);
  }
  if (draft.vips.length >= VIPS_MAX) context.fail(token, `more than ${VIPS_MAX} virtual addresses in ${draft.name.text}, VRRP's limit`);
  draft.vips.push(vip);
}

/** In a list, an address where an option could be is the next entry — unless lines are read as keepalived reads them. */
function startsNextEntry(context: ParseContext, token: Token): boolean {
  return !context.oneKeywordPerLine && looksLikeAddress(token.text);
}

export function readUnicastPeers(context: ParseContext, lines: Token[][], draft: InstanceDraft): void {
  for (const line of lines) {
    let i = 0;
    while (i < line.length) {
      const addressToken = line[i++]!;
      const address = readIpv4(context, addressToken, 'unicast_peer');
      for (let option = line[i]; option !== undefined && !startsNextEntry(context, option); option = line[i]) {
        i++;
        if (option.text !== 'min_ttl' && option.text !== 'max_ttl') {
          context.warn(option, `unknown unicast_peer option "${option.text}"; ignored`);
          continue;
        }
        const value = line[i++];
        if (value === undefined) context.fail(option, `${option.text} needs a value`);
        readUnsigned(context, value, option.text, 0, 255);
        context.warn(option, `unicast_peer option "${option.text}" is not modelled by pf9lab; ignored`);
      }
      // As for addresses: 2.2.7 keeps a repeated peer (and sends it every advert twice); 2.3.3 and later drop it.
      if (draft.unicastPeers.includes(address)) {
        context.warn(addressToken, `unicast_peer ${address} is listed twice; kept twice as keepalived 2.2.7 does (2.3.3 and later drop the repeat)`);
      }
      draft.unicastPeers.push(address);
    }
  }
}

interface TrackEntry {
  name: Token;
  weight?: Token;
}

/**
 * `NAME [weight N [reverse|noreverse]]` entries. keepalived drops an entry
 * whose second word is not "weight"; by default that word starts the next entry.
 */
function splitTrackEntries(context: ParseContext, line: Token[], where: string, noreverseAllowed: boolean): TrackEntry[] {
  const entries: TrackEntry[] = [];
  let i = 0;
  while (i < line.length) {
    const entry: TrackEntry = { name: line[i++]! };
    if (line[i]?.text === 'weight') {
      const keyword = line[i++]!;
      entry.weight = line[i++];
      if (entry.weight === undefined) context.fail(keyword, `weight for ${entry.name.text} needs a value`);
      const option = line[i];
      if (option !== undefined && (context.oneKeywordPerLine || option.text === 'reverse' || option.text === 'noreverse')) {
        warnWeightOption(context, option, where, noreverseAllowed);
        i++;
      }
    }
    if (context.oneKeywordPerLine && i < line.length) {
      const rest = line.slice(i).map((token) => token.text).join(' ');
      if (entry.weight === undefined) {
        context.warn(line[i]!, `unknown option "${line[i]!.text}" for ${entry.name.text} in ${where}; keepalived ignores the entry`);
        return entries;
      }
      context.warn(line[i]!, `keepalived ignores "${rest}" after ${entry.name.text} in ${where}`);
      i = line.length;
    }
    entries.push(entry);
  }
  return entries;
}

/** keepalived reads track weights in -254..254 and turns ±254 into ±253, with a warning. */
function readTrackWeight(context: ParseContext, token: Token): number {
  const weight = readInt(context, token, 'weight', -WEIGHT_MAX - 1, WEIGHT_MAX + 1);
  if (Math.abs(weight) <= WEIGHT_MAX) return weight;
  context.warn(token, `weight cannot be ${weight}; using ${Math.sign(weight) * WEIGHT_MAX} as keepalived does`);
  return Math.sign(weight) * WEIGHT_MAX;
}

export function readTrackScripts(
  context: ParseContext,
  lines: Token[][],
  draft: InstanceDraft,
  scriptsSoFar: ReadonlyMap<string, VrrpScriptConf>,
  unresolved: UnresolvedTrackScript[],
): void {
  const where = `track_script of ${draft.name.text}`;
  for (const entry of lines.flatMap((line) => splitTrackEntries(context, line, where, true))) {
    const weight = entry.weight === undefined ? undefined : readTrackWeight(context, entry.weight);
    // keepalived looks the script up as it reads this line, so only scripts defined above count.
    if (!scriptsSoFar.has(entry.name.text)) {
      unresolved.push({ instance: draft.name.text, token: entry.name });
    } else if (draft.trackScripts.some((ref) => ref.name === entry.name.text)) {
      context.warn(entry.name, `duplicate track_script ${entry.name.text} in ${draft.name.text}; ignored as keepalived does`);
    } else {
      draft.trackScripts.push(weight === undefined ? { name: entry.name.text } : { name: entry.name.text, weight });
    }
  }
}

export function readTrackInterfaces(context: ParseContext, lines: Token[][], draft: InstanceDraft): void {
  const where = `track_interface of ${draft.name.text}`;
  for (const entry of lines.flatMap((line) => splitTrackEntries(context, line, where, false))) {
    const iface = readIfaceName(context, entry.name, 'track_interface');
    const weight = entry.weight === undefined ? 0 : readTrackWeight(context, entry.weight);
    if (draft.trackInterfaces.some((ref) => ref.iface === iface)) {
      context.warn(entry.name, `duplicate track_interface ${iface} in ${draft.name.text}; ignored as keepalived does`);
    } else {
      draft.trackInterfaces.push({ iface, weight });
    }
  }
}
