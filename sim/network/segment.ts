// An L2 segment: a switch with one link per attached interface. Unicast goes
// to the interface with the destination MAC; broadcast and multicast flood
// to every other interface (no IGMP snooping), in attachment order.
import type { Frame } from './packet.js';
import { BROADCAST_MAC, frameBytes, isMulticastMac } from './packet.js';
import type { LinkProfile } from './link.js';
import type { Nic } from './nic.js';
import { TopologyError, type World } from './world.js';

/** Every frame takes at least one virtual millisecond on a wire: no zero-delay loops. */
const WIRE_DELAY_MS_MIN = 1;

export class Segment {
  private readonly nics: Nic[] = [];
  private readonly byMac = new Map<string, Nic>();
  framesDelivered = 0;
  framesDuplicated = 0;

  constructor(
    readonly world: World,
    readonly name: string,
    readonly defaultProfile: Readonly<LinkProfile>,
  ) {}

  attach(nic: Nic): void {
    if (this.byMac.has(nic.mac)) throw new TopologyError(`segment ${this.name}: MAC ${nic.mac} attached twice`);
    this.nics.push(nic);
    this.byMac.set(nic.mac, nic);
  }

  attached(): readonly Nic[] {
    return this.nics;
  }

  transmit(from: Nic, frame: Frame): void {
    const world = this.world;
    const nowMs = world.engine.elapsedMs();
    const verdict = from.link.egress(frameBytes(frame), nowMs);
    if (verdict.kind === 'dropped') {
      world.recordDrop(from.host.name, this.name, frame, verdict.reason);
      return;
    }
    if (from.link.loses()) {
      world.recordDrop(from.host.name, this.name, frame, 'loss');
      return;
    }
    if (frame.destinationMac === BROADCAST_MAC || isMulticastMac(frame.destinationMac)) {
      for (const to of this.nics) if (to !== from) this.carry(from, to, frame, verdict.queueDelayMs);
    } else {
      const to = this.byMac.get(frame.destinationMac);
      if (to !== undefined && to !== from) this.carry(from, to, frame, verdict.queueDelayMs);
    }
  }

  private carry(from: Nic, to: Nic, frame: Frame, queueDelayMs: number): void {
    const world = this.world;
    if (world.hopBlocked(from.host.name, to.host.name)) {
      world.recordDrop(from.host.name, this.name, frame, 'partition');
      return;
    }
    if (to.link.loses()) {
      world.recordDrop(to.host.name, this.name, frame, 'loss');
      return;
    }
    const copies = from.link.duplicates() || to.link.duplicates() ? 2 : 1;
    if (copies === 2) this.framesDuplicated++;
    for (let copy = 0; copy < copies; copy++) {
      const delayMs = queueDelayMs + from.link.sampleDelayMs() + to.link.sampleDelayMs();
      world.engine.schedule(Math.max(WIRE_DELAY_MS_MIN, Math.round(delayMs)), () => {
        this.framesDelivered++;
        to.receive(frame);
      });
    }
  }
}
