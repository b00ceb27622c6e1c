// keepalived.conf, parsed: the subset the product and common deployments use.
// Times are in milliseconds whatever unit the file used (keepalived writes
// seconds, with fractions where it allows them).

export interface KeepalivedConf {
  globalDefs: GlobalDefs;
  scripts: ReadonlyMap<string, VrrpScriptConf>;
  instances: readonly VrrpInstanceConf[];
  /** Unknown keywords and other things keepalived would accept with a complaint. */
  warnings: readonly ConfWarning[];
}

export interface ConfWarning {
  line: number;
  column: number;
  message: string;
}

export interface GlobalDefs {
  routerId?: string;
  enableScriptSecurity: boolean;
  scriptUser?: string;
  /** vrrp_garp_master_delay: default for instances that do not say garp_master_delay. */
  garpMasterDelayMs: number;
  /** vrrp_garp_master_repeat: default for instances that do not say garp_master_repeat. */
  garpMasterRepeat: number;
  /** 0: no periodic refresh. */
  garpMasterRefreshMs: number;
  garpMasterRefreshRepeat: number;
  /** Default for instances that do not say `version`. */
  vrrpVersion: 2 | 3;
}

export interface VrrpScriptConf {
  name: string;
  script: string;
  intervalMs: number;
  /** 0: as long as interval (keepalived's default). */
  timeoutMs: number;
  fall: number;
  rise: number;
  /** 0: failure puts tracking instances into FAULT; otherwise added while healthy (>0) or while failing (<0). */
  weight: number;
  user?: string;
}

export type AuthConf = { type: 'none' } | { type: 'pass' | 'ah'; password: string };

export interface TrackScriptRef {
  name: string;
  /** Overrides the script's own weight when given. */
  weight?: number;
}

export interface TrackInterfaceRef {
  iface: string;
  weight: number;
}

export interface VipConf {
  address: string;
  prefixLength: number;
  /** Interface from `dev`; defaults to the instance's. */
  iface?: string;
}

export interface VrrpInstanceConf {
  name: string;
  /** Where the block started, for messages. */
  line: number;
  initialState: 'MASTER' | 'BACKUP';
  iface: string;
  vrid: number;
  priority: number;
  advertIntervalMs: number;
  version: 2 | 3;
  /** `nopreempt` clears it. */
  preempt: boolean;
  preemptDelayMs: number;
  auth: AuthConf;
  vips: readonly VipConf[];
  unicastSourceIp?: string;
  unicastPeers: readonly string[];
  trackScripts: readonly TrackScriptRef[];
  trackInterfaces: readonly TrackInterfaceRef[];
  notify: NotifyConf;
  garpMasterDelayMs: number;
  garpMasterRepeat: number;
  /** Falls back to global_defs when the instance does not set it. */
  garpMasterRefreshMs: number;
  garpMasterRefreshRepeat: number;
}

export interface NotifyConf {
  master?: string;
  backup?: string;
  fault?: string;
  stop?: string;
  /** `notify`: called on every transition with "INSTANCE" name state priority. */
  any?: string;
}
