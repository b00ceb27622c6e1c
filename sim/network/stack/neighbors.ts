// ARP and the neighbour cache of one interface, after Linux's NUD states
// (INCOMPLETE, REACHABLE, STALE, DELAY, PROBE). The parts VIP failover
// depends on:
// - a cached MAC keeps being used after it goes stale; only after
//   delayFirstProbeMs does the host probe it by unicast, and only after those
//   probes fail does it broadcast again, so a VIP that moves without a
//   gratuitous ARP stays unreachable for seconds;
// - a gratuitous ARP updates an existing entry at once (arp_accept=0: it never
//   creates one), which is why keepalived sends them.
import type { ArpMessage, IpPacket } from '../packet.js';
import { BROADCAST_MAC } from '../packet.js';
import type { Ipv4 } from '../ip.js';
import { formatIpv4 } from '../ip.js';
import type { SimTimer } from '../engine.js';
import type { Nic } from '../nic.js';

export interface NeighborSettings {
  reachableMs: number;
  delayFirstProbeMs: number;
  retransmitMs: number;
  unicastProbes: number;
  broadcastProbes: number;
  /** Packets held per unresolved neighbour; beyond it the oldest is dropped. */
  queuedPacketsMax: number;
  /** A solicited reply does not replace an entry updated less than this long ago (first reply wins). */
  locktimeMs: number;
  /** Entries per interface (Linux gc_thresh3); beyond it the least recently updated settled entry goes. */
  entriesMax: number;
}

export const DEFAULT_NEIGHBOR_SETTINGS: Readonly<NeighborSettings> = Object.freeze({
  reachableMs: 30_000,
  delayFirstProbeMs: 5_000,
  retransmitMs: 1_000,
  unicastProbes: 3,
  broadcastProbes: 3,
  queuedPacketsMax: 32,
  locktimeMs: 1_000,
  entriesMax: 1024,
});

export type NeighborState = 'incomplete' | 'reachable' | 'stale' | 'delay' | 'probe';

interface Entry {
  readonly ip: Ipv4;
  mac: string | undefined;
  state: NeighborState;
  updatedAtMs: number;
  confirmedAtMs: number;
  probes: number;
  timer: SimTimer | undefined;
  queue: IpPacket[];
}

export class NeighborTable {
  private readonly entries = new Map<Ipv4, Entry>();

  constructor(private readonly nic: Nic) {}

  private get settings(): NeighborSettings {
    return this.nic.host.neighborSettings;
  }

  private nowMs(): number {
    return this.nic.host.world.engine.elapsedMs();
  }

  lookup(ip: Ipv4): { mac: string | undefined; state: NeighborState } | undefined {
    const entry = this.entries.get(ip);
    if (entry === undefined) return undefined;
    this.ageOut(entry);
    return { mac: entry.mac, state: entry.state };
  }

  /** Sends an IP packet to the on-link neighbour `nextHop`, resolving its MAC first if needed. */
  send(packet: IpPacket, nextHop: Ipv4): void {
    let entry = this.entries.get(nextHop);
    if (entry === undefined) {
      entry = this.createIncomplete(nextHop);
      this.enqueue(entry, packet);
      this.solicit(entry);
      return;
    }
    this.ageOut(entry);
    switch (entry.state) {
      case 'incomplete':
        this.enqueue(entry, packet);
        return;
      case 'stale':
        // Use the cached MAC, and verify it in a while unless something confirms it.
        this.setState(entry, 'delay');
        this.arm(entry, this.settings.delayFirstProbeMs);
        break;
      case 'reachable':
      case 'delay':
      case 'probe':
        break;
    }
    this.nic.transmit({ sourceMac: this.nic.mac, destinationMac: entry.mac as string, ip: packet });
  }

  /** Broadcasts a gratuitous ARP for `ip` (a request whose sender and target are both `ip`). */
  announce(ip: Ipv4): void {
    this.nic.transmit({
      sourceMac: this.nic.mac,
      destinationMac: BROADCAST_MAC,
      arp: { op: 'request', senderMac: this.nic.mac, senderIp: ip, targetMac: BROADCAST_MAC, targetIp: ip },
    });
  }

  onArp(message: ArpMessage): void {
    if (message.senderMac === this.nic.mac) return;
    const gratuitous = message.senderIp === message.targetIp;
    const forUs = !gratuitous && this.nic.hasAddress(message.targetIp);

    const entry = this.entries.get(message.senderIp);
    if (entry !== undefined) {
      this.learn(entry, message.senderMac, message.op === 'reply' && !gratuitous, gratuitous);
    } else if (forUs && message.op === 'request') {
      // Like Linux, a host that is asked learns the asker (as STALE).
      const created = this.createIncomplete(message.senderIp);
      this.learn(created, message.senderMac, false, false);
    }

    if (forUs && message.op === 'request') {
      this.nic.transmit({
        sourceMac: this.nic.mac,
        destinationMac: message.senderMac,
        arp: {
          op: 'reply',
          senderMac: this.nic.mac,
          senderIp: message.targetIp,
          targetMac: message.senderMac,
          targetIp: message.senderIp,
        },
      });
    }
  }

  reset(): void {
    for (const entry of this.entries.values()) this.nic.host.world.engine.cancel(entry.timer);
    this.entries.clear();
  }

  private learn(entry: Entry, mac: string, solicited: boolean, gratuitous: boolean): void {
    const nowMs = this.nowMs();
    const changed = entry.mac !== mac;
    if (changed && entry.mac !== undefined && !gratuitous && nowMs - entry.updatedAtMs < this.settings.locktimeMs) {
      return;
    }
    entry.mac = mac;
    entry.updatedAtMs = nowMs;
    if (solicited) {
      entry.confirmedAtMs = nowMs;
      this.setState(entry, 'reachable');
      this.arm(entry, undefined);
    } else if (entry.state === 'incomplete' || changed) {
      this.setState(entry, 'stale');
      this.arm(entry, undefined);
    }
    this.flushQueue(entry);
  }

  private createIncomplete(ip: Ipv4): Entry {
    if (this.entries.size >= this.settings.entriesMax) this.evictOne();
    const entry: Entry = {
      ip,
      mac: undefined,
      state: 'incomplete',
      updatedAtMs: this.nowMs(),
      confirmedAtMs: -Infinity,
      probes: 0,
      timer: undefined,
      queue: [],
    };
    this.entries.set(ip, entry);
    return entry;
  }

  /** Makes room by forgetting the least recently updated entry that is not being resolved. */
  private evictOne(): void {
    let victim: Entry | undefined;
    for (const entry of this.entries.values()) {
      if (entry.state !== 'incomplete' && (victim === undefined || entry.updatedAtMs < victim.updatedAtMs)) victim = entry;
    }
    victim ??= this.entries.values().next().value as Entry;
    this.nic.host.world.engine.cancel(victim.timer);
    for (const packet of victim.queue) this.nic.host.world.recordPacketDrop(this.nic.host.name, packet, 'arp-table-full');
    this.entries.delete(victim.ip);
  }

  private enqueue(entry: Entry, packet: IpPacket): void {
    if (entry.queue.length >= this.settings.queuedPacketsMax) {
      const dropped = entry.queue.shift() as IpPacket;
      this.nic.host.world.recordPacketDrop(this.nic.host.name, dropped, 'arp-queue-full');
    }
    entry.queue.push(packet);
  }

  private flushQueue(entry: Entry): void {
    if (entry.mac === undefined || entry.queue.length === 0) return;
    const queued = entry.queue;
    entry.queue = [];
    for (const packet of queued) this.nic.transmit({ sourceMac: this.nic.mac, destinationMac: entry.mac, ip: packet });
  }

  /** REACHABLE decays to STALE after reachableMs without confirmation. */
  private ageOut(entry: Entry): void {
    if (entry.state === 'reachable' && this.nowMs() - entry.confirmedAtMs >= this.settings.reachableMs) {
      this.setState(entry, 'stale');
    }
  }

  private solicit(entry: Entry): void {
    entry.probes++;
    const source = this.nic.sourceFor(entry.ip) ?? 0;
    const unicast = entry.state === 'probe' && entry.mac !== undefined;
    this.nic.transmit({
      sourceMac: this.nic.mac,
      destinationMac: unicast ? (entry.mac as string) : BROADCAST_MAC,
      arp: { op: 'request', senderMac: this.nic.mac, senderIp: source, targetMac: '00:00:00:00:00:00', targetIp: entry.ip },
    });
    this.arm(entry, this.settings.retransmitMs);
  }

  private onTimer(entry: Entry): void {
    entry.timer = undefined;
    switch (entry.state) {
      case 'incomplete':
        if (entry.probes < this.settings.broadcastProbes) this.solicit(entry);
        else this.fail(entry);
        return;
      case 'delay':
        // Nothing confirmed the entry meanwhile (a reply would have made it REACHABLE).
        this.setState(entry, 'probe');
        entry.probes = 0;
        this.solicit(entry);
        return;
      case 'probe':
        if (entry.probes < this.settings.unicastProbes) this.solicit(entry);
        else this.fail(entry);
        return;
      case 'reachable':
      case 'stale':
        return;
    }
  }

  private fail(entry: Entry): void {
    this.entries.delete(entry.ip);
    const host = this.nic.host;
    host.world.engine.record(host.name, 'arp.failed', { iface: this.nic.name, ip: formatIpv4(entry.ip) });
    for (const packet of entry.queue) {
      host.world.recordPacketDrop(host.name, packet, 'arp-failed');
      host.stack.notifyUnreachable(packet);
    }
    entry.queue = [];
  }

  private setState(entry: Entry, state: NeighborState): void {
    entry.state = state;
  }

  private arm(entry: Entry, delayMs: number | undefined): void {
    const engine = this.nic.host.world.engine;
    engine.cancel(entry.timer);
    entry.timer = delayMs === undefined ? undefined : engine.schedule(delayMs, () => this.onTimer(entry), this.nic.host.kernel);
  }
}
