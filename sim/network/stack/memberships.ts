// The multicast groups one socket has joined, per interface. The interface
// counts memberships of all sockets; a socket that closes leaves its own.
import type { Ipv4 } from '../ip.js';
import type { Nic } from '../nic.js';

export class GroupMemberships {
  private readonly entries: { group: Ipv4; nic: Nic }[] = [];

  join(group: Ipv4, nic: Nic): void {
    nic.joinGroup(group);
    this.entries.push({ group, nic });
  }

  /** Returns false when this socket was not a member. */
  leave(group: Ipv4, nic: Nic): boolean {
    const index = this.entries.findIndex((entry) => entry.group === group && entry.nic === nic);
    if (index < 0) return false;
    this.entries.splice(index, 1);
    nic.leaveGroup(group);
    return true;
  }

  leaveAll(): void {
    for (const { group, nic } of this.entries.splice(0)) nic.leaveGroup(group);
  }

  /** The interface of the first membership: where a socket's multicast goes out by default. */
  firstNic(): Nic | undefined {
    return this.entries[0]?.nic;
  }
}
