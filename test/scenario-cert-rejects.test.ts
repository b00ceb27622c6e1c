// The cert-rejects scenario as a user runs it: it passes, it is deterministic,
// and every bad client was refused for its own reason, as many times as it tried.
import { describe, expect, it } from 'vitest';
import { certRejects } from '../scenarios/cert-rejects.js';
import { runScenario } from '../cli/scenario-runner.js';

const REASON_OF_HOST = {
  'no-cert': 'no-client-cert',
  'other-ca': 'bad-cert',
  expired: 'cert-expired',
  'not-yet-valid': 'cert-not-yet-valid',
  revoked: 'revoked',
  'unknown-sni': 'unknown-sni',
  'no-sni': 'no-sni',
  'stolen-key': 'bad-signature',
} as const;

describe('scenario cert-rejects', () => {
  it('passes, and the same seed twice gives the same trace hash', async () => {
    const first = await runScenario(certRejects, 1);
    const again = await runScenario(certRejects, 1);
    expect(first.invariants.filter((check) => !check.passed)).toEqual([]);
    expect(again.traceHash).toBe(first.traceHash);
    expect(again.events).toBe(first.events);
    expect(again.virtualMs).toBe(first.virtualMs);
    expect(again.metrics).toEqual(first.metrics);

    const metrics = first.metrics;
    const figure = (key: string): number => {
      const value = metrics[key];
      if (typeof value !== 'number') throw new Error(`no metric ${key}`);
      return value;
    };
    // Three refused attempts per bad host, each counted by the gateway under its own reason, and no other refusal.
    for (const [host, reason] of Object.entries(REASON_OF_HOST)) {
      expect(figure(`attempts.${host}`), host).toBe(3);
      expect(figure(`refused.${reason}`), reason).toBe(3);
    }
    expect(Object.keys(metrics).filter((key) => key.startsWith('refused.'))).toHaveLength(8);
    // The revoked host got through twice before its revocation.
    expect(figure('attempts.revoked.before')).toBe(2);
    expect(figure('revocation.reloadLagMs')).toBeGreaterThanOrEqual(0);
    expect(figure('revocation.reloadLagMs')).toBeLessThanOrEqual(1_000);
    // Every tunnel (and so every backend connection) is the good host's or the revoked host's before its revocation.
    expect(figure('gateway.tunnels')).toBe(figure('good.tunnels') + 2);
    expect(figure('backend.registry.connections') + figure('backend.api.connections')).toBe(figure('gateway.tunnels'));
    // Every TCP connection the gateway accepted is a tunnel or a refusal.
    expect(figure('gateway.accepted')).toBe(figure('gateway.tunnels') + 8 * 3);
    // The control did real work through both backends.
    expect(figure('good.pulls.ok')).toBeGreaterThan(10);
    expect(figure('good.calls.ok')).toBeGreaterThan(20);
    expect(figure('backend.api.connections')).toBeGreaterThan(10);
  }, 120_000);
});
