// "Full jitter" backoff (AWS Architecture Blog, "Exponential Backoff and
// Jitter"): a uniform delay in [0, min(cap, base × 2^attempt)). Retrying
// kubelets then spread out instead of hammering a recovering apiserver in step.
import type { Random } from '../../platform/types.js';

export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
}

/** The kubelet's registration backoff runs from 100 ms up to 7 s (kubelet_node_status.go). */
export const REGISTER_BACKOFF: BackoffPolicy = Object.freeze({ baseMs: 100, capMs: 7_000 });

/** Past this the exponent cannot matter (2^20 × base is beyond any cap here), and 2^attempt stays exact. */
const EXPONENT_MAX = 20;

export function fullJitterDelayMs(attempt: number, policy: BackoffPolicy, random: Random): number {
  const ceilingMs = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(Math.max(0, attempt), EXPONENT_MAX));
  return Math.floor(random.float() * ceilingMs);
}
