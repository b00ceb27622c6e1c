// IPv4 addresses as unsigned 32-bit numbers inside the simulation; dotted
// strings at the seam.
import { PlatformError } from '../../src/runtime/platform/errors.js';

export type Ipv4 = number;

export const IPV4_ANY: Ipv4 = 0;
export const IPV4_BROADCAST: Ipv4 = 0xffffffff;
export const IPV4_LOOPBACK: Ipv4 = 0x7f000001;

const DOTTED = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function parseIpv4(text: string): Ipv4 {
  const match = DOTTED.exec(text === 'localhost' ? '127.0.0.1' : text);
  if (match === null) throw new PlatformError('EINVAL', `not an IPv4 address: "${text}"`);
  let value = 0;
  for (let i = 1; i <= 4; i++) {
    const octet = Number(match[i]);
    if (octet > 255) throw new PlatformError('EINVAL', `not an IPv4 address: "${text}"`);
    value = value * 256 + octet;
  }
  return value;
}

export function formatIpv4(address: Ipv4): string {
  return `${address >>> 24}.${(address >>> 16) & 0xff}.${(address >>> 8) & 0xff}.${address & 0xff}`;
}

export interface Cidr {
  address: Ipv4;
  prefixLength: number;
}

export function parseCidr(text: string): Cidr {
  const slash = text.indexOf('/');
  if (slash < 0) throw new PlatformError('EINVAL', `not a CIDR (address/prefix): "${text}"`);
  const prefixLength = Number(text.slice(slash + 1));
  if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > 32) {
    throw new PlatformError('EINVAL', `bad prefix length in "${text}"`);
  }
  return { address: parseIpv4(text.slice(0, slash)), prefixLength };
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIpv4(cidr.address)}/${cidr.prefixLength}`;
}

export function netmask(prefixLength: number): number {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

export function inSubnet(address: Ipv4, network: Cidr): boolean {
  const mask = netmask(network.prefixLength);
  return ((address & mask) >>> 0) === ((network.address & mask) >>> 0);
}

export function isMulticast(address: Ipv4): boolean {
  return address >>> 28 === 0xe;
}

export function isLoopback(address: Ipv4): boolean {
  return address >>> 24 === 127;
}

/** The directed broadcast address of a subnet. */
export function subnetBroadcast(network: Cidr): Ipv4 {
  return (network.address | ~netmask(network.prefixLength)) >>> 0;
}
