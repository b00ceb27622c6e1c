// One VRRP instance (virtual router) as a sans-IO state machine: RFC 3768 /
// RFC 5798 §6.4, with keepalived's choices where the RFCs leave room. Inputs
// are calls carrying the current time; outputs are actions the driver carries
// out (send an advert, add or remove the VIPs, announce them by ARP) plus one
// deadline, `nextDeadlineMs`, at which the driver must call `poll`.
import { compareIpv4 } from '../../net/ipv4-header.js';
import { isPlanted } from '../../testing/planted-bugs.js';
import { masterDownIntervalMs, masterStartupWaitMs, skewTimeMs, type VrrpVersion } from './timing.js';
import { effectivePriority } from './tracking.js';

export type VrrpState = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' | 'STOP';

export interface GarpSettings {
  /** Second burst this long after becoming master; 0: none. */
  delayMs: number;
  /** Gratuitous ARPs per burst. */
  repeat: number;
  /** While master, a refresh burst at the first advert after this long; 0: none. */
  refreshMs: number;
  refreshRepeat: number;
}

export interface VrrpInstanceSettings {
  name: string;
  vrid: number;
  version: VrrpVersion;
  /** 1..255; 255 is the address owner. */
  basePriority: number;
  advertIntervalMs: number;
  initialState: 'MASTER' | 'BACKUP';
  preempt: boolean;
  preemptDelayMs: number;
  /** Our address on the interface: the adverts' source, and the tie-breaker. */
  primaryIp: string;
  /** AH's sequence number is instance state; see `receive`. */
  authAh: boolean;
  garp: GarpSettings;
}

export type VrrpAction =
  | { kind: 'send-advert'; priority: number; advertIntervalMs: number; ahSequence: number | undefined }
  | { kind: 'add-vips' }
  | { kind: 'remove-vips' }
  | { kind: 'garp'; repeat: number }
  | { kind: 'transition'; from: VrrpState; to: VrrpState; reason: string }
  | { kind: 'drop'; reason: VrrpDropReason; detail: string };

/** Why the state machine refused an advert that passed the packet checks. */
export type VrrpDropReason = 'ah-replay' | 'interval-mismatch' | 'own-address';

/** An advert that passed the codec's checks and is for this VRID. */
export interface ReceivedAdvert {
  source: string;
  priority: number;
  advertIntervalMs: number;
  ahSequence?: number | undefined;
}

const AH_SEQUENCE_MAX = 0xffff_fffd;

export class VrrpInstance {
  private currentState: VrrpState = 'INIT';
  private priorityDelta = 0;
  private faultReason: string | undefined;
  private masterAdvertIntervalMs: number;
  private masterDownAtMs: number | undefined;
  private advertAtMs: number | undefined;
  private garpDelayAtMs: number | undefined;
  private garpRefreshAtMs: number | undefined;
  /** When a lower-priority master may be preempted (preempt_delay); undefined: not counting. */
  private preemptAtMs: number | undefined;
  private vipsHeld = false;
  private ahSequence = 0;
  /** The source of the last advert we accepted as backup: who we believe is master. */
  private masterIp: string | undefined;

  constructor(readonly settings: VrrpInstanceSettings) {
    const { basePriority, advertIntervalMs, vrid } = settings;
    if (!Number.isInteger(vrid) || vrid < 1 || vrid > 255) throw new RangeError(`${settings.name}: VRID must be in 1..255, got ${vrid}`);
    if (!Number.isInteger(basePriority) || basePriority < 1 || basePriority > 255) {
      throw new RangeError(`${settings.name}: priority must be in 1..255, got ${basePriority}`);
    }
    if (!(advertIntervalMs > 0)) throw new RangeError(`${settings.name}: advert interval must be > 0, got ${advertIntervalMs}`);
    this.masterAdvertIntervalMs = advertIntervalMs;
  }

  get state(): VrrpState {
    return this.currentState;
  }

  get priority(): number {
    return effectivePriority(this.settings.basePriority, this.priorityDelta);
  }

  get holdsVips(): boolean {
    return this.vipsHeld;
  }

  get believedMaster(): string | undefined {
    return this.currentState === 'MASTER' ? this.settings.primaryIp : this.masterIp;
  }

  get masterDownIntervalMs(): number {
    return masterDownIntervalMs(this.settings.version, this.priority, this.masterAdvertIntervalMs);
  }

  /** The earliest time `poll` has work to do; undefined when nothing is armed. */
  nextDeadlineMs(): number | undefined {
    let earliest: number | undefined;
    for (const at of [this.masterDownAtMs, this.advertAtMs, this.garpDelayAtMs]) {
      if (at !== undefined && (earliest === undefined || at < earliest)) earliest = at;
    }
    return earliest;
  }

  /**
   * Leaves INIT. Tracking given before `start` (see `setTracking`) decides
   * whether the instance starts in FAULT.
   */
  start(nowMs: number): VrrpAction[] {
    this.assertState(['INIT'], 'start');
    const actions: VrrpAction[] = [];
    if (this.faultReason !== undefined) {
      this.transition(actions, 'FAULT', this.faultReason);
      return actions;
    }
    const { settings } = this;
    this.transition(actions, 'BACKUP', 'startup');
    if (settings.basePriority === 255) {
      // The address owner takes over at once (keepalived: a 1 µs down timer).
      this.masterDownAtMs = nowMs;
    } else if (settings.initialState === 'MASTER') {
      this.masterDownAtMs = nowMs + masterStartupWaitMs(settings.version, settings.advertIntervalMs);
    } else {
      this.masterDownAtMs = nowMs + this.masterDownIntervalMs;
    }
    return actions;
  }

  /** Runs whatever is due at `nowMs`. */
  poll(nowMs: number): VrrpAction[] {
    const actions: VrrpAction[] = [];
    if (this.currentState === 'BACKUP' && this.masterDownAtMs !== undefined && nowMs >= this.masterDownAtMs) {
      this.becomeMaster(nowMs, actions);
    }
    if (this.currentState === 'MASTER') {
      if (this.advertAtMs !== undefined && nowMs >= this.advertAtMs) {
        this.advertise(actions);
        if (this.garpRefreshAtMs !== undefined && nowMs >= this.garpRefreshAtMs) {
          actions.push({ kind: 'garp', repeat: this.settings.garp.refreshRepeat });
          this.garpRefreshAtMs = nowMs + this.settings.garp.refreshMs;
        }
        this.advertAtMs = nowMs + this.settings.advertIntervalMs;
      }
      if (this.garpDelayAtMs !== undefined && nowMs >= this.garpDelayAtMs) {
        actions.push({ kind: 'garp', repeat: this.settings.garp.repeat });
        this.garpDelayAtMs = undefined;
      }
    }
    return actions;
  }

  receive(nowMs: number, advert: ReceivedAdvert): VrrpAction[] {
    const actions: VrrpAction[] = [];
    if (this.currentState !== 'BACKUP' && this.currentState !== 'MASTER') return actions;
    if (compareIpv4(advert.source, this.settings.primaryIp) === 0) {
      actions.push({ kind: 'drop', reason: 'own-address', detail: `advert from our own address ${advert.source}` });
      return actions;
    }
    if (this.settings.authAh) {
      // keepalived keeps one sequence number per instance, shared by what it
      // sends and what it accepts, not one per sender: after a failover the
      // survivors can drop each other's adverts for a while (DESIGN.md).
      const sequence = advert.ahSequence ?? 0;
      if (sequence <= this.ahSequence) {
        actions.push({ kind: 'drop', reason: 'ah-replay', detail: `AH sequence ${sequence} already processed (local ${this.ahSequence})` });
        return actions;
      }
      this.ahSequence = sequence;
    }
    if (this.settings.version === 2 && advert.advertIntervalMs !== this.settings.advertIntervalMs) {
      actions.push({
        kind: 'drop',
        reason: 'interval-mismatch',
        detail: `advert interval ${advert.advertIntervalMs} ms from ${advert.source}, ours ${this.settings.advertIntervalMs} ms`,
      });
      return actions;
    }
    if (this.currentState === 'BACKUP') this.backupReceive(nowMs, advert);
    else this.masterReceive(nowMs, advert, actions);
    return actions;
  }

  /** New tracking outcome (script verdicts, interface states). */
  setTracking(nowMs: number, priorityDelta: number, faultReason: string | undefined): VrrpAction[] {
    const actions: VrrpAction[] = [];
    this.priorityDelta = priorityDelta;
    const wasFaulted = this.faultReason !== undefined;
    this.faultReason = faultReason;
    if (this.currentState === 'INIT' || this.currentState === 'STOP') return actions;
    if (faultReason !== undefined && this.currentState !== 'FAULT') {
      if (this.currentState === 'MASTER') this.resign(actions);
      this.clearTimers();
      this.transition(actions, 'FAULT', faultReason);
    } else if (faultReason === undefined && wasFaulted && this.currentState === 'FAULT') {
      this.masterAdvertIntervalMs = this.settings.advertIntervalMs;
      this.transition(actions, 'BACKUP', 'tracking recovered');
      this.masterDownAtMs = nowMs + this.masterDownIntervalMs;
    }
    return actions;
  }

  /** Graceful shutdown: a master resigns with a priority-0 advert first. */
  stop(): VrrpAction[] {
    const actions: VrrpAction[] = [];
    if (this.currentState === 'STOP') return actions;
    if (this.currentState === 'MASTER') this.resign(actions);
    this.clearTimers();
    this.transition(actions, 'STOP', 'shutdown');
    return actions;
  }

  private backupReceive(nowMs: number, advert: ReceivedAdvert): void {
    const { settings } = this;
    if (advert.priority === 0 && !isPlanted('vrrp-ignore-priority-0')) {
      // The master resigned: the best backup speaks after Skew_Time alone.
      this.masterDownAtMs = nowMs + skewTimeMs(settings.version, this.priority, this.masterAdvertIntervalMs);
      return;
    }
    const preemptHeldBack = settings.preemptDelayMs > 0 && (this.preemptAtMs === undefined || nowMs < this.preemptAtMs);
    if (!settings.preempt || advert.priority >= this.priority || preemptHeldBack) {
      if (settings.version === 3) this.masterAdvertIntervalMs = advert.advertIntervalMs;
      this.masterIp = advert.source;
      this.masterDownAtMs = nowMs + this.masterDownIntervalMs;
      if (settings.preemptDelayMs > 0) {
        if (advert.priority >= this.priority) this.preemptAtMs = undefined;
        else this.preemptAtMs ??= nowMs + settings.preemptDelayMs;
      }
      return;
    }
    // A lower-priority master and we may preempt: ignore it, so that our
    // down timer runs out and we take over.
  }

  private masterReceive(nowMs: number, advert: ReceivedAdvert, actions: VrrpAction[]): void {
    const ours = this.priority;
    if (advert.priority === 0) {
      // Another master resigning: make sure everyone hears from us at once.
      this.advertise(actions);
      return;
    }
    const theirsWins = advert.priority > ours || (advert.priority === ours && compareIpv4(advert.source, this.settings.primaryIp) > 0);
    if (!theirsWins) {
      // keepalived resyncs its AH counter past the loser's before answering.
      if (this.settings.authAh && advert.ahSequence !== undefined) this.ahSequence = Math.min(advert.ahSequence + 1, AH_SEQUENCE_MAX);
      this.advertise(actions);
      // And refreshes the neighbours' ARP caches (garp_lower_prio_repeat,
      // which defaults to garp_master_repeat): the loser held the VIP too, and
      // hosts that learnt its MAC would keep sending to it once it lets go.
      actions.push({ kind: 'garp', repeat: this.settings.garp.repeat });
      return;
    }
    if (this.settings.version === 3) this.masterAdvertIntervalMs = advert.advertIntervalMs;
    this.masterIp = advert.source;
    this.releaseVips(actions);
    this.clearTimers();
    this.transition(actions, 'BACKUP', `higher-priority advert from ${advert.source} (${advert.priority} vs ${ours})`);
    this.masterDownAtMs = nowMs + this.masterDownIntervalMs;
  }

  private becomeMaster(nowMs: number, actions: VrrpAction[]): void {
    const { garp } = this.settings;
    this.masterDownAtMs = undefined;
    this.preemptAtMs = undefined;
    this.masterAdvertIntervalMs = this.settings.advertIntervalMs;
    // The advert goes first so the old master drops the VIPs before our ARPs.
    this.advertise(actions);
    this.transition(actions, 'MASTER', 'master down timer expired');
    actions.push({ kind: 'add-vips' });
    this.vipsHeld = true;
    if (garp.repeat > 0) actions.push({ kind: 'garp', repeat: garp.repeat });
    this.garpDelayAtMs = garp.delayMs > 0 && garp.repeat > 0 ? nowMs + garp.delayMs : undefined;
    this.garpRefreshAtMs = garp.refreshMs > 0 && garp.refreshRepeat > 0 ? nowMs + garp.refreshMs : undefined;
    this.advertAtMs = nowMs + this.settings.advertIntervalMs;
    this.masterIp = undefined;
  }

  /** Priority-0 advert and VIPs removed: how a master steps down on fault or stop. */
  private resign(actions: VrrpAction[]): void {
    this.advertise(actions, 0);
    this.releaseVips(actions);
  }

  private releaseVips(actions: VrrpAction[]): void {
    if (!this.vipsHeld) return;
    actions.push({ kind: 'remove-vips' });
    this.vipsHeld = false;
  }

  private advertise(actions: VrrpAction[], priority = this.priority): void {
    let ahSequence: number | undefined;
    if (this.settings.authAh) {
      this.ahSequence = Math.min(this.ahSequence + 1, AH_SEQUENCE_MAX);
      ahSequence = this.ahSequence;
    }
    actions.push({ kind: 'send-advert', priority, advertIntervalMs: this.settings.advertIntervalMs, ahSequence });
  }

  private clearTimers(): void {
    this.masterDownAtMs = undefined;
    this.advertAtMs = undefined;
    this.garpDelayAtMs = undefined;
    this.garpRefreshAtMs = undefined;
    this.preemptAtMs = undefined;
  }

  private transition(actions: VrrpAction[], to: VrrpState, reason: string): void {
    const from = this.currentState;
    this.currentState = to;
    actions.push({ kind: 'transition', from, to, reason });
    if (to !== 'MASTER' && this.vipsHeld) throw new Error(`${this.settings.name}: ${to} while holding the VIPs`);
  }

  private assertState(allowed: readonly VrrpState[], operation: string): void {
    if (!allowed.includes(this.currentState)) {
      throw new Error(`${this.settings.name}: ${operation} in state ${this.currentState}`);
    }
  }
}
