// Port choice shared by the kernel's ephemeral ports and the NAT: start at a
// seeded random point and probe upwards, so choices are spread out like
// Linux's yet reproducible.
import type { Rng } from '../rng.js';

export const EPHEMERAL_PORT_MIN = 32768;
export const EPHEMERAL_PORT_MAX = 60999;

/** The first port in [min, max] from a random start for which isFree holds, or undefined. */
export function pickFreePort(rng: Rng, min: number, max: number, isFree: (port: number) => boolean): number | undefined {
  const span = max - min + 1;
  const start = rng.int(span);
  for (let i = 0; i < span; i++) {
    const port = min + ((start + i) % span);
    if (isFree(port)) return port;
  }
  return undefined;
}
