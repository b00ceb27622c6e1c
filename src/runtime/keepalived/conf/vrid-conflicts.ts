// Two instances that would answer to the same virtual router: keepalived
// refuses to start (vrrp/vrrp.c check_vrid_conflicts). Unicast and multicast
// are separate VRID spaces. Two multicast instances conflict on the same
// interface (pf9lab has one multicast group, no mcast_dst_ip). Two unicast
// instances conflict when they send from the same address on the same
// interface and share a peer.
import type { ParseContext } from './context.js';
import type { Token } from './lexer.js';
import type { VrrpInstanceConf } from './types.js';

export interface PlacedInstance {
  conf: VrrpInstanceConf;
  vridToken: Token;
}

export function checkVridConflicts(context: ParseContext, instances: readonly PlacedInstance[]): void {
  for (let later = 1; later < instances.length; later++) {
    for (let earlier = 0; earlier < later; earlier++) {
      const a = instances[earlier]!.conf;
      const b = instances[later]!.conf;
      if (conflict(a, b)) {
        const mode = a.unicastPeers.length > 0 ? 'with a shared unicast peer' : 'by multicast';
        context.fail(instances[later]!.vridToken, `virtual_router_id ${b.vrid} of ${b.name} is already used by ${a.name} on ${a.iface} ${mode}; keepalived refuses duplicate VRIDs`);
      }
    }
  }
}

function conflict(a: VrrpInstanceConf, b: VrrpInstanceConf): boolean {
  if (a.vrid !== b.vrid || a.iface !== b.iface) return false;
  const aUnicast = a.unicastPeers.length > 0;
  if (aUnicast !== b.unicastPeers.length > 0) return false;
  if (!aUnicast) return true;
  // Without unicast_src_ip both send from the interface's own address, which is then the same.
  // With it on one side only, keepalived compares it with that address, which the file does not say: not flagged.
  return a.unicastSourceIp === b.unicastSourceIp && a.unicastPeers.some((peer) => b.unicastPeers.includes(peer));
}
