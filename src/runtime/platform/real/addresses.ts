// Interface addresses: read through os.networkInterfaces(), changed through
// iproute2 and arping (keepalived moves the VIP the same way). Changing
// addresses needs CAP_NET_ADMIN.
import os from 'node:os';
import net from 'node:net';
import type { Addresses, InterfaceInfo } from '../types.js';
import { PlatformError } from '../errors.js';
import { HostCommandError, runHostCommand } from './host-command.js';

export interface RealAddressesOptions {
  /** Bound on each ip/arping run. */
  commandTimeoutMs?: number;
}

const commandTimeoutMsDefault = 5_000;
/** Linux interface names: at most 15 bytes, and never an option-like '-…'. */
const ifaceNamePattern = /^[A-Za-z0-9_.:@][A-Za-z0-9_.:@-]{0,14}$/;

export function createRealAddresses(options: RealAddressesOptions = {}): Addresses {
  const timeoutMs = options.commandTimeoutMs ?? commandTimeoutMsDefault;

  async function changeAddress(verb: 'add' | 'del', iface: string, address: string, prefixLength: number): Promise<void> {
    checkIface(iface);
    checkIpv4(address);
    if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > 32) {
      throw new PlatformError('EINVAL', `prefix length must be an integer in [0, 32], got ${prefixLength}`);
    }
    try {
      await runHostCommand('ip', ['addr', verb, `${address}/${prefixLength}`, 'dev', iface], timeoutMs);
    } catch (error) {
      throw translateIpError(error, address);
    }
  }

  return {
    async list(): Promise<InterfaceInfo[]> {
      const infos: InterfaceInfo[] = [];
      for (const [name, entries] of Object.entries(os.networkInterfaces())) {
        if (entries === undefined || entries.length === 0) continue;
        infos.push({
          name,
          mac: entries[0]?.mac ?? '00:00:00:00:00:00',
          // os.networkInterfaces() only reports interfaces that are up.
          up: true,
          addresses: entries.map((entry) => ({ address: entry.address, prefixLength: prefixLengthOf(entry) })),
        });
      }
      return infos;
    },

    add: (iface, address, prefixLength) => changeAddress('add', iface, address, prefixLength),
    remove: (iface, address, prefixLength) => changeAddress('del', iface, address, prefixLength),

    async gratuitousArp(iface, address) {
      checkIface(iface);
      checkIpv4(address);
      // Debian's arping is Thomas Habets' (2.23), not iputils': -i names the
      // interface; -S makes the announced address the sender too (without it
      // the request says "tell <primary address>" and updates no neighbour's
      // entry for `address`); -U broadcasts it. Without -d it exits 1 when
      // nobody answers, and nobody answers a gratuitous ARP: -d makes the
      // status "duplicate answers seen", and -w 0 exits right after sending
      // without reading any (keepalived does not wait either). So 0 means
      // sent, and any failure exits 1 with arping's reason on stderr.
      await runHostCommand('arping', ['-q', '-d', '-U', '-S', address, '-c', '1', '-w', '0', '-i', iface, address], timeoutMs);
    },
  };
}

function prefixLengthOf(entry: os.NetworkInterfaceInfo): number {
  const suffix = entry.cidr?.split('/')[1];
  return suffix === undefined ? (entry.family === 'IPv4' ? 32 : 128) : Number(suffix);
}

function checkIface(iface: string): void {
  if (!ifaceNamePattern.test(iface)) throw new PlatformError('EINVAL', `not an interface name: ${JSON.stringify(iface)}`);
}

function checkIpv4(address: string): void {
  if (!net.isIPv4(address)) throw new PlatformError('EINVAL', `not an IPv4 address: ${JSON.stringify(address)}`, { address });
}

/** Gives the two expected failures the codes the simulated platform uses. */
function translateIpError(error: unknown, address: string): unknown {
  if (!(error instanceof HostCommandError)) return error;
  if (error.stderr.includes('File exists')) {
    return new PlatformError('EEXIST', `address already assigned: ${error.stderr}`, { address });
  }
  if (error.stderr.includes('Cannot assign requested address')) {
    return new PlatformError('EADDRNOTAVAIL', `address not assigned: ${error.stderr}`, { address });
  }
  return error;
}
