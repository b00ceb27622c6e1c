// /healthz's etcd check must not pile up on a struggling member: one read in
// flight at a time, shared by every caller, and a result reused for at most
// 500 ms. Checked here with a hand-driven clock and etcd stub.
import { describe, expect, it } from 'vitest';
import { EtcdHealth, HEALTH_KEY, HEALTH_RESULT_AGE_MS_MAX } from '../src/runtime/kube/apiserver/health.js';
import { EtcdClientError, type EtcdClient } from '../src/runtime/etcd/client.js';
import type { Clock, Log } from '../src/runtime/platform/types.js';
import type { KvCommand } from '../src/runtime/etcd/api/index.js';

function stubs() {
  let nowMs = 1_000_000;
  const clock = { now: () => nowMs } as unknown as Clock;
  const pending: { command: KvCommand; resolve: () => void; reject: (error: Error) => void }[] = [];
  const etcd = {
    request: (command: KvCommand) =>
      new Promise<unknown>((resolve, reject) => {
        pending.push({ command, resolve: () => resolve({ type: 'range', header: { revision: 1 }, kvs: [], more: false, count: 0 }), reject });
      }),
  } as unknown as EtcdClient;
  const events: string[] = [];
  const log = { info: (event: string, fields: Record<string, unknown>) => events.push(`${event} ${String(fields['ok'])}`) } as unknown as Log;
  return { health: new EtcdHealth(etcd, clock, log), pending, events, advance: (ms: number) => (nowMs += ms) };
}

describe('the etcd health check behind /healthz', () => {
  it('sends one read however many callers ask while it is in flight', async () => {
    const { health, pending } = stubs();
    const callers = Array.from({ length: 50 }, () => health.check());
    expect(pending).toHaveLength(1);
    expect(pending[0]!.command).toEqual({ type: 'range', key: HEALTH_KEY });
    pending[0]!.resolve();
    const results = await Promise.all(callers);
    expect(results.every((result) => result.ok)).toBe(true);
    expect(new Set(results).size).toBe(1);
  });

  it(`reuses a result younger than ${HEALTH_RESULT_AGE_MS_MAX} ms, counted from when its read was sent, and no older`, async () => {
    const { health, pending, advance } = stubs();
    const first = health.check();
    advance(200);
    pending[0]!.resolve();
    await first;
    advance(HEALTH_RESULT_AGE_MS_MAX - 201);
    await health.check();
    expect(pending).toHaveLength(1);
    advance(1);
    const second = health.check();
    expect(pending).toHaveLength(2);
    pending[1]!.resolve();
    await second;
  });

  it('reports a failed read as unhealthy with etcd\'s reason, logs only transitions, and recovers', async () => {
    const { health, pending, advance, events } = stubs();
    const first = health.check();
    pending[0]!.resolve();
    expect((await first).ok).toBe(true);
    advance(HEALTH_RESULT_AGE_MS_MAX);
    const failing = health.check();
    pending[1]!.reject(new EtcdClientError('ERR_ETCD_CLIENT_UNAVAILABLE', 'failed', 'ERR_HTTP_TIMEOUT: no response head after 1000 ms'));
    const failed = await failing;
    expect(failed.ok).toBe(false);
    expect(failed.reason).toMatch(/ERR_HTTP_TIMEOUT/);
    advance(HEALTH_RESULT_AGE_MS_MAX);
    const stillFailing = health.check();
    pending[2]!.reject(new Error('connection refused'));
    expect((await stillFailing).ok).toBe(false);
    advance(HEALTH_RESULT_AGE_MS_MAX);
    const again = health.check();
    pending[3]!.resolve();
    expect((await again).ok).toBe(true);
    expect(events).toEqual(['apiserver.etcd_health true', 'apiserver.etcd_health false', 'apiserver.etcd_health true']);
  });
});
