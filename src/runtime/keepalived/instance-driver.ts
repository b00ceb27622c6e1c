// Binds one VRRP state machine to a platform: its raw socket, its one timer,
// the VIPs on the interface, gratuitous ARP and the notify scripts.
import type { Log, Platform, RawPacketInfo, RawSocket, TimerHandle } from '../platform/types.js';
import { errorCode } from '../platform/errors.js';
import type { VrrpInstanceConf } from './conf/types.js';
import { buildAdvertDatagram, checkAdvert, IP_PROTOCOL_AH, IP_PROTOCOL_VRRP, VRRP_IP_TTL, type VrrpAdvert } from './packet/index.js';
import { VrrpInstance, type VrrpAction, type VrrpState } from './vrrp/instance.js';
import { runNotify } from './notify.js';

export const VRRP_MULTICAST_GROUP = '224.0.0.18';
/** Address changes queue behind each other; more than this means the host is not keeping up. */
const ADDRESS_QUEUE_MAX = 256;

export interface InstanceDriverOptions {
  platform: Platform;
  conf: VrrpInstanceConf;
  /** The interface's primary address (or unicast_src_ip). */
  primaryIp: string;
  log: Log;
}

export class InstanceDriver {
  readonly instance: VrrpInstance;
  /** Dropped packets by reason, as keepalived's stats count them. */
  readonly drops = new Map<string, number>();
  private socket: RawSocket | undefined;
  private timer: TimerHandle | undefined;
  private ipIdentification: number;
  private addressQueue: Promise<void> = Promise.resolve();
  private addressQueueLength = 0;
  private readonly log: Log;
  private readonly platform: Platform;
  readonly conf: VrrpInstanceConf;
  private readonly password: string | undefined;

  constructor(options: InstanceDriverOptions) {
    const { conf, platform } = options;
    this.platform = platform;
    this.conf = conf;
    this.log = options.log.child({ instance: conf.name });
    this.password = conf.auth.type === 'none' ? undefined : conf.auth.password;
    // keepalived counts from 1 per instance, skipping 0 (the kernel's "fill it in").
    this.ipIdentification = 0;
    this.instance = new VrrpInstance({
      name: conf.name,
      vrid: conf.vrid,
      version: conf.version,
      basePriority: conf.priority,
      advertIntervalMs: conf.advertIntervalMs,
      initialState: conf.initialState,
      preempt: conf.preempt,
      preemptDelayMs: conf.preemptDelayMs,
      primaryIp: options.primaryIp,
      authAh: conf.version === 2 && conf.auth.type === 'ah',
      garp: {
        delayMs: conf.garpMasterDelayMs,
        repeat: conf.garpMasterRepeat,
        refreshMs: conf.garpMasterRefreshMs,
        refreshRepeat: conf.garpMasterRefreshRepeat,
      },
    });
  }

  get state(): VrrpState {
    return this.instance.state;
  }

  private get usesAh(): boolean {
    return this.instance.settings.authAh;
  }

  private get unicast(): boolean {
    return this.conf.unicastPeers.length > 0;
  }

  async open(): Promise<void> {
    const protocol = this.usesAh ? IP_PROTOCOL_AH : IP_PROTOCOL_VRRP;
    const socket = await this.platform.datagrams.raw({ protocol, iface: this.conf.iface });
    this.socket = socket;
    if (!this.unicast) socket.addMembership(VRRP_MULTICAST_GROUP, this.conf.iface);
    socket.on('message', (payload: Buffer, info: RawPacketInfo) => this.onPacket(payload, info));
    socket.on('error', (error: Error) => this.log.warn('vrrp.socket_error', { code: errorCode(error) ?? error.name, message: error.message }));
  }

  /** Tracking known before start decides whether the instance starts in FAULT. */
  setTracking(priorityDelta: number, faultReason: string | undefined): void {
    this.apply(this.instance.setTracking(this.platform.clock.now(), priorityDelta, faultReason));
  }

  start(): void {
    this.log.info('vrrp.start', { vrid: this.conf.vrid, priority: this.conf.priority, advertIntervalMs: this.conf.advertIntervalMs });
    this.apply(this.instance.start(this.platform.clock.now()));
  }

  /** Resigns (priority 0, VIPs removed) and releases the socket; resolves once the VIPs are gone. */
  async stop(): Promise<void> {
    this.apply(this.instance.stop());
    this.platform.clock.clearTimer(this.timer);
    this.timer = undefined;
    await this.addressQueue;
    await this.socket?.close();
  }

  private onPacket(payload: Buffer, info: RawPacketInfo): void {
    if (this.unicast && !this.conf.unicastPeers.includes(info.source)) {
      this.drop('unknown-peer', `advert from ${info.source}, not a configured unicast_peer`);
      return;
    }
    const checked = checkAdvert(info.header, payload, {
      version: this.conf.version,
      authType: this.conf.version === 2 ? this.conf.auth.type : 'none',
      password: this.password,
      unicast: this.unicast,
    });
    if (!checked.ok) {
      if (checked.vrid !== undefined && checked.vrid !== this.conf.vrid) this.countOtherRouter();
      else this.drop(checked.reason, checked.detail);
      return;
    }
    const { advert } = checked;
    if (advert.vrid !== this.conf.vrid) {
      this.countOtherRouter();
      return;
    }
    if (advert.addresses.length !== this.conf.vips.length) {
      this.drop('address-list-mismatch', `${advert.addresses.length} addresses from ${info.source}, we have ${this.conf.vips.length}`);
      return;
    }
    this.apply(
      this.instance.receive(this.platform.clock.now(), {
        source: checked.source,
        priority: advert.priority,
        advertIntervalMs: advert.advertIntervalMs,
        ahSequence: checked.ahSequence,
      }),
    );
  }

  private onTimer(): void {
    this.timer = undefined;
    this.apply(this.instance.poll(this.platform.clock.now()));
  }

  private apply(actions: readonly VrrpAction[]): void {
    for (const action of actions) {
      switch (action.kind) {
        case 'send-advert':
          this.sendAdvert(action.priority, action.ahSequence);
          break;
        case 'add-vips':
          for (const vip of this.conf.vips) {
            this.queueAddressChange('add', () => this.platform.addresses.add(vip.iface ?? this.conf.iface, vip.address, vip.prefixLength));
          }
          break;
        case 'remove-vips':
          for (const vip of this.conf.vips) {
            this.queueAddressChange('remove', () => this.platform.addresses.remove(vip.iface ?? this.conf.iface, vip.address, vip.prefixLength));
          }
          break;
        case 'garp':
          for (let round = 0; round < action.repeat; round++) {
            for (const vip of this.conf.vips) {
              this.queueAddressChange('garp', () => this.platform.addresses.gratuitousArp(vip.iface ?? this.conf.iface, vip.address));
            }
          }
          break;
        case 'transition':
          this.log.info('vrrp.transition', { from: action.from, to: action.to, reason: action.reason, priority: this.instance.priority });
          runNotify(this.platform, this.log, this.conf, action.to, this.instance.priority);
          break;
        case 'drop':
          this.drop(action.reason, action.detail);
          break;
      }
    }
    this.rearm();
  }

  private rearm(): void {
    this.platform.clock.clearTimer(this.timer);
    this.timer = undefined;
    const deadlineMs = this.instance.nextDeadlineMs();
    if (deadlineMs === undefined) return;
    const delayMs = Math.max(0, Math.ceil(deadlineMs - this.platform.clock.now()));
    this.timer = this.platform.clock.setTimeout(() => this.onTimer(), delayMs);
  }

  private sendAdvert(priority: number, ahSequence: number | undefined): void {
    const socket = this.socket;
    if (socket === undefined) return;
    const advert: VrrpAdvert = {
      version: this.conf.version,
      vrid: this.conf.vrid,
      priority,
      advertIntervalMs: this.conf.advertIntervalMs,
      addresses: this.conf.vips.map((vip) => vip.address),
      authType: this.conf.version === 2 ? this.conf.auth.type : 'none',
    };
    const destinations = this.unicast ? this.conf.unicastPeers : [VRRP_MULTICAST_GROUP];
    // One identification per round of adverts, shared by every unicast peer, as keepalived does.
    this.ipIdentification = (this.ipIdentification % 0xffff) + 1;
    for (const destination of destinations) {
      const datagram = buildAdvertDatagram({
        advert,
        source: this.instance.settings.primaryIp,
        destination,
        ttl: VRRP_IP_TTL,
        identification: this.ipIdentification,
        password: this.password,
        ahSequence,
        unicast: this.unicast,
      });
      try {
        socket.sendDatagram(datagram, { iface: this.conf.iface });
      } catch (error) {
        this.log.warn('vrrp.send_failed', { destination, code: errorCode(error) ?? 'unknown', message: String(error) });
      }
    }
  }

  private queueAddressChange(what: 'add' | 'remove' | 'garp', change: () => Promise<void>): void {
    if (this.addressQueueLength >= ADDRESS_QUEUE_MAX) {
      this.log.error('vrrp.address_queue_full', { what, queued: this.addressQueueLength });
      return;
    }
    this.addressQueueLength++;
    this.addressQueue = this.addressQueue
      .then(change)
      .catch((error: unknown) => {
        const code = errorCode(error);
        // Adding what is there or removing what is gone leaves the wanted state.
        if ((what === 'add' && code === 'EEXIST') || (what === 'remove' && code === 'EADDRNOTAVAIL')) return;
        this.log.warn('vrrp.address_change_failed', { what, code: code ?? 'unknown', message: String(error) });
      })
      .finally(() => {
        this.addressQueueLength--;
      });
  }

  /** Another virtual router on the same wire is not malformed: counted, not logged. */
  private countOtherRouter(): void {
    this.drops.set('vrid-mismatch', (this.drops.get('vrid-mismatch') ?? 0) + 1);
  }

  private drop(reason: string, detail: string): void {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + 1);
    this.log.warn('vrrp.drop', { reason, detail });
  }
}
