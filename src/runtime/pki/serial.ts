// Certificate serial numbers from the platform's random: seeded (and so
// reproducible) in the simulation, the kernel CSPRNG on real hosts.
import type { Random } from '../platform/types.js';

/** 16 bytes: 126 random bits, well above the 64 bits CA/Browser Forum rules ask for. */
const SERIAL_BYTES = 16;

/**
 * A positive serial as lowercase hex. The first byte is 0x40..0x7f: its high
 * bit clear keeps the DER INTEGER positive and 0x40 set means no leading zero
 * byte, so every certificate has the same encoded length (TLS record sizes,
 * and so the simulation's timing, do not depend on the serial).
 */
export function newSerialHex(random: Random): string {
  const bytes = random.bytes(SERIAL_BYTES);
  bytes[0] = ((bytes[0] ?? 0) & 0x3f) | 0x40;
  return bytes.toString('hex');
}

/** The canonical form of a serial for comparison: lowercase hex without leading zero bytes. */
export function normalizeSerialHex(serialHex: string): string {
  const lower = serialHex.toLowerCase();
  let start = 0;
  while (start + 2 < lower.length && lower.startsWith('00', start)) start += 2;
  return lower.slice(start);
}
