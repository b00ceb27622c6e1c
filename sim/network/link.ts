// A link is the cable between one interface and its L2 segment. A frame from
// A to B crosses A's link and then B's: each applies its own loss,
// duplication, delay and reordering, so degrading one host's link affects
// what it sends and what it receives. Bandwidth is modelled on egress only
// (the sender's link serialises the frame): a slow link slows what its host
// sends, not what converges on it.
import type { Rng } from './rng.js';

export type LatencyDistribution = 'uniform' | 'normal' | 'pareto';

export interface LinkProfile {
  /** Mean one-way delay through this link. */
  latencyMs: number;
  /** Spread of the delay: half-width (uniform), standard deviation (normal), scale (pareto). */
  jitterMs: number;
  distribution: LatencyDistribution;
  /** Probability that a frame is lost on this link. */
  lossRate: number;
  /** Probability that a frame is delivered twice (each copy with its own delay). */
  duplicateRate: number;
  /** Probability that a frame is held back by reorderDelayMs, letting later frames overtake it. */
  reorderRate: number;
  reorderDelayMs: number;
  /** Egress rate; 0 means unlimited. */
  bandwidthBytesPerSec: number;
  /** Egress queue bound, as queueing delay: a frame that would wait longer is tail-dropped. */
  queueLimitMs: number;
}

export const DEFAULT_LINK_PROFILE: Readonly<LinkProfile> = Object.freeze({
  latencyMs: 0.5,
  jitterMs: 0,
  distribution: 'uniform',
  lossRate: 0,
  duplicateRate: 0,
  reorderRate: 0,
  reorderDelayMs: 5,
  bandwidthBytesPerSec: 0,
  queueLimitMs: 200,
});

export class LinkProfileError extends Error {
  readonly code = 'ERR_LINK_PROFILE';
}

const RATE_FIELDS = ['lossRate', 'duplicateRate', 'reorderRate'] as const;
const NON_NEGATIVE_FIELDS = ['latencyMs', 'jitterMs', 'reorderDelayMs', 'bandwidthBytesPerSec', 'queueLimitMs'] as const;

/** Merges a partial profile over a base and checks every field. */
export function linkProfile(base: Readonly<LinkProfile>, changes: Partial<LinkProfile> = {}): LinkProfile {
  const profile: LinkProfile = { ...base, ...changes };
  for (const field of RATE_FIELDS) {
    const value = profile[field];
    if (!(value >= 0 && value <= 1)) throw new LinkProfileError(`link ${field} must be within [0, 1], got ${value}`);
  }
  for (const field of NON_NEGATIVE_FIELDS) {
    const value = profile[field];
    if (!(value >= 0 && Number.isFinite(value))) throw new LinkProfileError(`link ${field} must be a finite number >= 0, got ${value}`);
  }
  if (!['uniform', 'normal', 'pareto'].includes(profile.distribution)) {
    throw new LinkProfileError(`link distribution must be uniform, normal or pareto, got "${profile.distribution}"`);
  }
  return profile;
}

export type EgressVerdict = { kind: 'sent'; queueDelayMs: number } | { kind: 'dropped'; reason: 'loss' | 'queue-full' };

export class Link {
  profile: LinkProfile;
  /** Virtual time (ms, fractional) at which the egress queue empties. */
  private busyUntilMs = 0;
  framesLost = 0;
  framesQueueDropped = 0;

  constructor(
    profile: LinkProfile,
    private readonly rng: Rng,
  ) {
    this.profile = profile;
  }

  /** Serialises one frame onto the link; once per frame, whatever its receivers. */
  egress(frameBytes: number, nowMs: number): EgressVerdict {
    const { bandwidthBytesPerSec, queueLimitMs } = this.profile;
    if (bandwidthBytesPerSec === 0) return { kind: 'sent', queueDelayMs: 0 };
    const startMs = Math.max(nowMs, this.busyUntilMs);
    if (startMs - nowMs > queueLimitMs) {
      this.framesQueueDropped++;
      return { kind: 'dropped', reason: 'queue-full' };
    }
    this.busyUntilMs = startMs + (frameBytes * 1000) / bandwidthBytesPerSec;
    return { kind: 'sent', queueDelayMs: this.busyUntilMs - nowMs };
  }

  /** True when this link loses the frame (checked once per crossing). */
  loses(): boolean {
    if (this.rng.chance(this.profile.lossRate)) {
      this.framesLost++;
      return true;
    }
    return false;
  }

  duplicates(): boolean {
    return this.rng.chance(this.profile.duplicateRate);
  }

  /** One delay sample for one crossing, reordering hold-back included. */
  sampleDelayMs(): number {
    const { latencyMs, jitterMs, distribution, reorderRate, reorderDelayMs } = this.profile;
    let delayMs = latencyMs;
    if (jitterMs > 0) {
      if (distribution === 'uniform') delayMs += (this.rng.float() * 2 - 1) * jitterMs;
      else if (distribution === 'normal') delayMs += this.rng.normal() * jitterMs;
      // Pareto with shape 3 has mean scale/2: a heavy tail of late frames.
      else delayMs += jitterMs * (Math.pow(1 - this.rng.float(), -1 / 3) - 1);
    }
    if (this.rng.chance(reorderRate)) delayMs += reorderDelayMs;
    return Math.max(0, delayMs);
  }

  /** Crash or restart of the attached host: the queue empties. */
  reset(): void {
    this.busyUntilMs = 0;
  }
}
