// What keepalived derives once the whole file is read, in the order
// vrrp/vrrp.c (chk_min_cfg, vrrp_complete_instance) applies it: defaults that
// depend on other settings, and combinations it corrects with a complaint.
import type { ParseContext } from './context.js';
import type { InstanceDraft } from './instance-draft.js';
import type { AuthConf, GlobalDefs, TrackInterfaceRef, TrackScriptRef, VrrpInstanceConf, VrrpScriptConf } from './types.js';

export const PRIORITY_DEFAULT = 100;
/** The address owner's priority; it also changes several defaults below. */
export const PRIORITY_OWNER = 255;
const ADVERT_US_DEFAULT = 1_000_000;
const SECOND_US = 1_000_000;
const CENTISECOND_US = 10_000;
/** VRRPv3 carries the interval in 12 bits of centiseconds. */
const V3_ADVERT_US_LIMIT = 4096 * CENTISECOND_US;

export function completeInstance(context: ParseContext, draft: InstanceDraft, globals: GlobalDefs, scripts: ReadonlyMap<string, VrrpScriptConf>): VrrpInstanceConf {
  const name = draft.name.text;
  if (draft.vrid === undefined) context.fail(draft.name, `vrrp_instance ${name} has no virtual_router_id`);
  // keepalived also runs a unicast instance with unicast_src_ip and no interface; pf9lab needs the interface.
  if (draft.iface === undefined) context.fail(draft.name, `vrrp_instance ${name} has no interface`);

  const version = draft.version ?? globals.vrrpVersion;
  // No priority: the address owner's if the file says MASTER; no state: MASTER only for the owner.
  const priority = draft.priority ?? (draft.state?.value === 'MASTER' ? PRIORITY_OWNER : PRIORITY_DEFAULT);
  let initialState = draft.state?.value ?? (priority === PRIORITY_OWNER ? 'MASTER' : 'BACKUP');

  const auth = completeAuth(context, draft, version);
  if (auth.type === 'ah' && initialState === 'MASTER' && priority !== PRIORITY_OWNER) {
    // A backup must see an advert first to learn the AH sequence number.
    context.warn(draft.state?.token ?? draft.name, `${name}: initial state MASTER is incompatible with AH authentication; starting as BACKUP as keepalived does`);
    initialState = 'BACKUP';
  }
  if (draft.unicastKeywordToken !== undefined && draft.unicastPeers.length === 0) {
    context.warn(draft.unicastKeywordToken, `${name}: a unicast keyword without any unicast_peer; keepalived falls back to multicast (deprecated)`);
  }

  const { preempt, preemptDelayMs } = completePreempt(context, draft, priority, initialState);
  const advertIntervalMs = completeAdvertIntervalUs(context, draft, version) / 1000;

  if (draft.vips.length === 0) {
    if (version === 3) context.fail(draft.name, `vrrp_instance ${name} has no virtual_ipaddress; VRRPv3 requires at least one`);
    context.warn(draft.name, `${name} has no virtual_ipaddress; at least one is sensible`);
  }

  const { trackScripts, trackInterfaces } = completeTracking(context, draft, priority, scripts);

  const instance: VrrpInstanceConf = {
    name,
    line: draft.name.line,
    initialState,
    iface: draft.iface,
    vrid: draft.vrid.value,
    priority,
    advertIntervalMs,
    version,
    preempt,
    preemptDelayMs,
    auth,
    vips: draft.vips,
    ...(draft.unicastSourceIp === undefined ? {} : { unicastSourceIp: draft.unicastSourceIp }),
    unicastPeers: draft.unicastPeers,
    trackScripts,
    trackInterfaces,
    notify: draft.notify,
    garpMasterDelayMs: draft.garpMasterDelayMs ?? globals.garpMasterDelayMs,
    garpMasterRepeat: draft.garpMasterRepeat ?? globals.garpMasterRepeat,
    garpMasterRefreshMs: draft.garpMasterRefreshMs ?? globals.garpMasterRefreshMs,
    garpMasterRefreshRepeat: draft.garpMasterRefreshRepeat ?? globals.garpMasterRefreshRepeat,
  };
  assertCompleted(instance);
  return instance;
}

function completeAuth(context: ParseContext, draft: InstanceDraft, version: 2 | 3): AuthConf {
  const at = draft.authToken ?? draft.name;
  const name = draft.name.text;
  if (draft.authType === 'none') {
    if (draft.authPassword !== '') context.warn(at, `${name}: auth_pass without auth_type; no authentication`);
    return { type: 'none' };
  }
  if (version === 3) {
    context.warn(at, `${name}: VRRP version 3 does not support authentication; ignored as keepalived does`);
    return { type: 'none' };
  }
  if (draft.authPassword === '') {
    context.warn(at, `${name}: authentication without auth_pass; ignored as keepalived does`);
    return { type: 'none' };
  }
  return { type: draft.authType, password: draft.authPassword };
}

function completePreempt(context: ParseContext, draft: InstanceDraft, priority: number, initialState: 'MASTER' | 'BACKUP'): { preempt: boolean; preemptDelayMs: number } {
  const name = draft.name.text;
  let nopreempt = draft.nopreempt !== undefined;
  let preemptDelayMs = draft.preemptDelay?.ms ?? 0;
  if (nopreempt && priority === PRIORITY_OWNER) {
    context.warn(draft.nopreempt!, `${name}: nopreempt is incompatible with priority ${PRIORITY_OWNER}; preempting as keepalived does`);
    nopreempt = false;
  }
  if (initialState === 'MASTER') {
    if (nopreempt) context.warn(draft.nopreempt!, `${name}: nopreempt does not work with initial state MASTER; cleared as keepalived does`);
    if (preemptDelayMs > 0) context.warn(draft.preemptDelay!.token, `${name}: preempt_delay does not work with initial state MASTER; cleared as keepalived does`);
    nopreempt = false;
    preemptDelayMs = 0;
  }
  if (preemptDelayMs > 0 && nopreempt) {
    context.warn(draft.preemptDelay!.token, `${name}: preempt_delay is incompatible with nopreempt; cleared as keepalived does`);
    preemptDelayMs = 0;
  }
  return { preempt: !nopreempt, preemptDelayMs };
}

/**
 * The address owner's priority cannot move: keepalived stops tracking
 * anything weighted for it (an unweighted track still means FAULT).
 */
function completeTracking(
  context: ParseContext,
  draft: InstanceDraft,
  priority: number,
  scripts: ReadonlyMap<string, VrrpScriptConf>,
): { trackScripts: TrackScriptRef[]; trackInterfaces: TrackInterfaceRef[] } {
  if (priority !== PRIORITY_OWNER) return { trackScripts: draft.trackScripts, trackInterfaces: draft.trackInterfaces };
  const name = draft.name.text;
  const trackInterfaces = draft.trackInterfaces.filter((ref) => {
    if (ref.weight !== 0) context.warn(draft.name, `${name}: track_interface ${ref.iface} has a weight, which priority ${PRIORITY_OWNER} cannot use; not tracked, as keepalived does`);
    return ref.weight === 0;
  });
  const trackScripts = draft.trackScripts.filter((ref) => {
    const weight = ref.weight ?? scripts.get(ref.name)?.weight ?? 0;
    if (weight !== 0) context.warn(draft.name, `${name}: track_script ${ref.name} has a weight, which priority ${PRIORITY_OWNER} cannot use; not tracked, as keepalived does`);
    return weight === 0;
  });
  return { trackScripts, trackInterfaces };
}

/** VRRPv2 carries whole seconds and VRRPv3 centiseconds: keepalived rounds (half up) to what the packet can say. */
function completeAdvertIntervalUs(context: ParseContext, draft: InstanceDraft, version: 2 | 3): number {
  const given = draft.advertIntervalUs;
  if (given === undefined) return ADVERT_US_DEFAULT;
  const name = draft.name.text;
  if (version === 2) {
    if (given.value % SECOND_US === 0) return given.value;
    const rounded = Math.max(SECOND_US, roundHalfUp(given.value, SECOND_US));
    context.warn(given.token, `${name}: a VRRPv2 advert_int must be whole seconds; ${given.token.text} rounded to ${rounded / SECOND_US} as keepalived does`);
    return rounded;
  }
  const limited = Math.min(V3_ADVERT_US_LIMIT - CENTISECOND_US, Math.max(CENTISECOND_US, roundHalfUp(given.value, CENTISECOND_US)));
  if (limited !== given.value) context.warn(given.token, `${name}: a VRRPv3 advert_int is in 0.01 s steps up to 40.95 s; ${given.token.text} became ${limited / SECOND_US} as keepalived does`);
  return limited;
}

function roundHalfUp(value: number, step: number): number {
  return Math.floor((value + step / 2) / step) * step;
}

/** What every completed instance must satisfy; a failure here is a parser bug, not a bad file. */
function assertCompleted(instance: VrrpInstanceConf): void {
  const holds =
    Number.isInteger(instance.vrid) && instance.vrid >= 1 && instance.vrid <= 255 &&
    Number.isInteger(instance.priority) && instance.priority >= 1 && instance.priority <= PRIORITY_OWNER &&
    Number.isInteger(instance.advertIntervalMs) && instance.advertIntervalMs >= 10 &&
    (instance.version === 3 || instance.advertIntervalMs % 1000 === 0) &&
    (instance.version === 2 || instance.auth.type === 'none') &&
    !(instance.initialState === 'MASTER' && !instance.preempt) &&
    !(!instance.preempt && instance.preemptDelayMs > 0) &&
    instance.vips.length <= 255 && instance.garpMasterRepeat >= 1 && instance.garpMasterRefreshRepeat >= 1;
  if (!holds) throw new Error(`keepalived.conf parser: completed instance ${instance.name} breaks an invariant: ${JSON.stringify(instance)}`);
}
