// The same apiserver code on the real platform, against Debian's etcd 3.4
// through its v3 JSON gateway, on loopback: the object API and its watch, a
// kubelet heartbeating through it, and /healthz failing within 2 s once etcd
// is gone. Skipped (saying why) without the etcd binary, unless
// PF9LAB_REQUIRE_REAL_HOST=1.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiserverStandinMain } from '../src/runtime/kube/apiserver-standin.js';
import { kubeletMain } from '../src/runtime/kube/kubelet.js';
import { httpRequest, httpStream } from '../src/runtime/net/http1/index.js';
import { createRealPlatform } from '../src/runtime/platform/real/index.js';
import type { Service } from '../src/runtime/platform/types.js';
import { freePort, skipLiveEtcd, startLiveEtcd, type LiveEtcd } from './helpers/live-etcd.js';
import { LogCapture } from './helpers/real-net.js';
import { apiAnswer, type ApiAnswer } from './helpers/api-answer.js';

const NODES = '/api/v1/nodes';
const LEASES = '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases';
const POLL_MS = 50;

describe.skipIf(skipLiveEtcd('apiserver-real-etcd'))("the apiserver stand-in against Debian's etcd 3.4 (loopback)", () => {
  const logs = new LogCapture();
  const platform = createRealPlatform({ hostName: 'test-apiserver', logStream: logs });
  let etcd: LiveEtcd | undefined;
  let apiserver: Service | undefined;
  let kubelet: Service | undefined;
  let port = 0;

  const call = async (method: string, path: string, body?: unknown): Promise<ApiAnswer> =>
    apiAnswer(await httpRequest(platform, { host: '127.0.0.1', port, method, path, ...(body === undefined ? {} : { body: JSON.stringify(body) }), timeoutMs: 10_000 }));

  /** Polls /healthz until it answers `status`; the time that took, failing after limitMs. */
  const healthzBecomes = async (status: number, limitMs: number): Promise<number> => {
    const startMs = platform.clock.now();
    while (platform.clock.now() - startMs <= limitMs) {
      const answer = await call('GET', '/healthz');
      if (answer.status === status) return platform.clock.now() - startMs;
      await platform.clock.sleep(POLL_MS);
    }
    throw new Error(`/healthz did not answer ${status} within ${limitMs} ms`);
  };

  beforeAll(async () => {
    etcd = await startLiveEtcd('apiserver');
    port = await freePort();
    apiserver = await apiserverStandinMain(platform, ['--etcd', `127.0.0.1:${etcd.clientPort}`, '--listen', `127.0.0.1:${port}`]);
  }, 30_000);

  afterAll(async () => {
    await kubelet?.stop();
    await apiserver?.stop();
    etcd?.stop();
  });

  it('creates, gets, lists and watches a node; updates with compare-and-swap', async () => {
    await healthzBecomes(200, 5_000);
    expect((await call('GET', '/healthz')).text).toBe('ok test-apiserver\n');
    const watch = httpStream(platform, { host: '127.0.0.1', port, method: 'GET', path: `${NODES}?watch=1&timeoutSeconds=10`, timeoutMs: 5_000 });
    const lines: string[] = [];
    const reading = (async () => {
      for await (const line of watch.lines) lines.push(line);
    })().catch(() => undefined);
    expect((await watch.head).status).toBe(200);

    const created = await call('POST', NODES, { kind: 'Node', apiVersion: 'v1', metadata: { name: 'w1' } });
    expect(created.status, created.text).toBe(201);
    const resourceVersion = (created.json['metadata'] as { resourceVersion: string }).resourceVersion;
    expect((await call('POST', NODES, { metadata: { name: 'w1' } })).json).toMatchObject({ kind: 'Status', reason: 'AlreadyExists', code: 409 });
    const got = await call('GET', `${NODES}/w1`);
    expect(got.json).toEqual(created.json);
    const list = await call('GET', NODES);
    expect((list.json['items'] as { metadata: { name: string } }[]).map((item) => item.metadata.name)).toEqual(['w1']);
    const updated = await call('PUT', `${NODES}/w1`, { metadata: { name: 'w1', resourceVersion }, status: { phase: 'Ready' } });
    expect(updated.status, updated.text).toBe(200);
    expect((await call('PUT', `${NODES}/w1`, { metadata: { name: 'w1', resourceVersion } })).json).toMatchObject({ reason: 'Conflict', code: 409 });
    expect((await call('DELETE', `${NODES}/w1`)).status).toBe(200);
    expect((await call('GET', `${NODES}/w1`)).status).toBe(404);

    const deadline = platform.clock.now() + 5_000;
    while (lines.length < 3 && platform.clock.now() < deadline) await platform.clock.sleep(POLL_MS);
    watch.close();
    await reading;
    expect(lines.map((line) => (JSON.parse(line) as { type: string }).type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
    const deletedObject = (JSON.parse(lines[2]!) as { object: { status: unknown } }).object;
    expect(deletedObject.status).toEqual({ phase: 'Ready' });
  }, 30_000);

  it('serves a kubelet that registers and renews its lease', async () => {
    kubelet = kubeletMain(platform, ['--apiserver', `127.0.0.1:${port}`, '--node', 'w2', '--lease-renew-interval-ms', '200']);
    const deadline = platform.clock.now() + 5_000;
    while (logs.events('kubelet.lease_renew').length < 3 && platform.clock.now() < deadline) await platform.clock.sleep(POLL_MS);
    await kubelet.stop();
    expect(logs.events('kubelet.register').map((line) => line['ok'])).toEqual([true]);
    const renewals = logs.events('kubelet.lease_renew');
    expect(renewals.length).toBeGreaterThanOrEqual(3);
    expect(renewals.every((line) => line['ok'] === true)).toBe(true);
    const lease = await call('GET', `${LEASES}/w2`);
    expect(lease.json).toMatchObject({ kind: 'Lease', spec: { holderIdentity: 'w2', leaseDurationSeconds: 40 } });
  }, 30_000);

  it('fails /healthz within 2 s once etcd is gone', async () => {
    await healthzBecomes(200, 5_000);
    etcd!.stop();
    const tookMs = await healthzBecomes(500, 2_000);
    expect(tookMs).toBeLessThanOrEqual(2_000);
    expect((await call('GET', '/healthz')).text).toMatch(/^etcd: /);
    // Writes are refused with a Status saying etcd could not be reached: nothing was applied.
    expect((await call('POST', NODES, { metadata: { name: 'w3' } })).json).toMatchObject({ kind: 'Status', reason: 'ServiceUnavailable', code: 503 });
  }, 30_000);
});
