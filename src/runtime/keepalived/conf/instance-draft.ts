// A vrrp_instance as written, before keepalived's completion rules
// (vrrp_complete_instance) fill in what the file left out. `undefined` means
// "not in the file": several defaults depend on other settings or on
// global_defs, which may come later in the file.
import type { Token } from './lexer.js';
import type { AuthConf, NotifyConf, TrackInterfaceRef, TrackScriptRef, VipConf } from './types.js';

export interface InstanceDraft {
  name: Token;
  state?: { value: 'MASTER' | 'BACKUP'; token: Token };
  iface?: string;
  vrid?: { value: number; token: Token };
  priority?: number;
  advertIntervalUs?: { value: number; token: Token };
  version?: 2 | 3;
  /** The `nopreempt` keyword, when it is in force (a later `preempt` clears it). */
  nopreempt?: Token;
  preemptDelay?: { ms: number; token: Token };
  authType: AuthConf['type'];
  /** The authentication block, for messages about it. */
  authToken?: Token;
  authPassword: string;
  vips: VipConf[];
  unicastSourceIp?: string;
  unicastPeers: string[];
  /** Any unicast keyword was given (keepalived's VRRP_FLAG_UNICAST_CONFIGURED). */
  unicastKeywordToken?: Token;
  trackScripts: TrackScriptRef[];
  trackInterfaces: TrackInterfaceRef[];
  notify: NotifyConf;
  garpMasterDelayMs?: number;
  garpMasterRepeat?: number;
  garpMasterRefreshMs?: number;
  garpMasterRefreshRepeat?: number;
}

export function newInstanceDraft(name: Token): InstanceDraft {
  return {
    name,
    authType: 'none',
    authPassword: '',
    vips: [],
    unicastPeers: [],
    trackScripts: [],
    trackInterfaces: [],
    notify: {},
  };
}

/** A track_script naming a vrrp_script not defined (yet) where it is read. */
export interface UnresolvedTrackScript {
  instance: string;
  token: Token;
}
