// A network interface of a simulated host: addresses, its link to an L2
// segment, multicast memberships and its ARP neighbour table.
import type { Ipv4 } from './ip.js';
import { formatIpv4, inSubnet } from './ip.js';
import type { Link } from './link.js';
import type { Frame } from './packet.js';
import type { Segment } from './segment.js';
import type { SimHost } from './host.js';
import { NeighborTable } from './stack/neighbors.js';

export interface NicAddress {
  readonly address: Ipv4;
  readonly prefixLength: number;
}

export class Nic {
  readonly addresses: NicAddress[] = [];
  /** Addresses given at build time: they come back after a reboot, runtime-added ones (VIPs) do not. */
  readonly configuredAddresses: NicAddress[] = [];
  readonly multicastGroups = new Map<Ipv4, number>();
  readonly neighbors: NeighborTable;
  up = true;

  constructor(
    readonly host: SimHost,
    readonly name: string,
    readonly mac: string,
    readonly segment: Segment,
    readonly link: Link,
  ) {
    this.neighbors = new NeighborTable(this);
  }

  hasAddress(address: Ipv4): boolean {
    for (const entry of this.addresses) if (entry.address === address) return true;
    return false;
  }

  /** The first address whose subnet holds `address`, else the primary address. */
  sourceFor(destination: Ipv4): Ipv4 | undefined {
    for (const entry of this.addresses) if (inSubnet(destination, entry)) return entry.address;
    return this.addresses[0]?.address;
  }

  joinGroup(group: Ipv4): void {
    this.multicastGroups.set(group, (this.multicastGroups.get(group) ?? 0) + 1);
  }

  leaveGroup(group: Ipv4): void {
    const count = this.multicastGroups.get(group) ?? 0;
    if (count <= 1) this.multicastGroups.delete(group);
    else this.multicastGroups.set(group, count - 1);
  }

  transmit(frame: Frame): void {
    if (!this.up || !this.host.up) return;
    this.segment.transmit(this, frame);
  }

  /** A frame arrives from the segment. */
  receive(frame: Frame): void {
    if (!this.up || !this.host.up) {
      this.host.world.recordDrop(this.host.name, this.segment.name, frame, 'host-down');
      return;
    }
    this.host.stack.receiveFrame(this, frame);
  }

  /** Reboot: back to the configured addresses, empty caches and memberships. */
  reset(): void {
    this.addresses.length = 0;
    this.addresses.push(...this.configuredAddresses);
    this.multicastGroups.clear();
    this.neighbors.reset();
    this.link.reset();
    this.up = true;
  }

  describe(): string {
    return `${this.host.name}/${this.name} (${this.addresses.map((a) => `${formatIpv4(a.address)}/${a.prefixLength}`).join(', ')})`;
  }
}
