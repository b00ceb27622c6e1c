// The apiserver stand-in backed by the simulated etcd, as clients see it over
// the simulated network: three masters each run an etcd member and an
// apiserver talking to its local member (127.0.0.1:2379); a client host uses
// the object API; a worker runs the kubelet stand-in. A master cut off from
// the other two fails /healthz within the 1 s etcd check; healed, it answers
// ok again.
import { describe, expect, it } from 'vitest';
import { World } from '../sim/network/world.js';
import type { SimHost } from '../sim/network/host.js';
import type { TraceEvent } from '../sim/network/trace.js';
import { etcdMemberMain } from '../sim/etcd/member/member.js';
import { apiserverStandinMain, APISERVER_PORT } from '../src/runtime/kube/apiserver-standin.js';
import { kubeletMain } from '../src/runtime/kube/kubelet.js';
import { WATCHES_MAX } from '../src/runtime/kube/apiserver/etcd-apiserver.js';
import { httpRequest, httpStream } from '../src/runtime/net/http1/index.js';
import type { Platform } from '../src/runtime/platform/types.js';
import { expectNoFailures } from './helpers/sim-world.js';
import { apiAnswer, type ApiAnswer } from './helpers/api-answer.js';

const MASTERS = [
  ['m1', '198.18.0.11'],
  ['m2', '198.18.0.12'],
  ['m3', '198.18.0.13'],
] as const;
const INITIAL_CLUSTER = MASTERS.map(([name, ip]) => `${name}=${ip}`).join(',');
const CLIENT_IP = '198.18.0.31';
const WORKER_IP = '198.18.0.21';
const NODES = '/api/v1/nodes';
const LEASES = '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases';

interface Lab {
  world: World;
  masters: Map<string, SimHost>;
  client: SimHost;
  worker: SimHost;
  /** Log events of simulated processes, from the trace (the per-host log buffers are bounded). */
  logs: TraceEvent[];
}

function lab(seed: number, options: { kubeletArgs?: readonly string[]; apiserverArgs?: readonly string[] } = {}): Lab {
  const world = new World({ seed });
  const lan = world.segment('lan', { latencyMs: 0.5, jitterMs: 0.5 });
  world.registerModule('etcd', etcdMemberMain);
  world.registerModule('apiserver', apiserverStandinMain);
  world.registerModule('kubelet', kubeletMain);
  const logs: TraceEvent[] = [];
  world.engine.trace.subscribe('log.', (event) => logs.push(event));
  const masters = new Map<string, SimHost>();
  for (const [name, ip] of MASTERS) {
    const host = world.host(name);
    world.attach(host, lan, `${ip}/24`);
    host.onBoot(async (platform) => {
      await platform.processes.start({ name: 'etcd', module: 'etcd', args: ['--name', name, '--initial-cluster', INITIAL_CLUSTER] });
      await platform.processes.start({ name: 'apiserver', module: 'apiserver', args: options.apiserverArgs ?? ['--etcd', '127.0.0.1:2379'] });
    });
    masters.set(name, host);
  }
  const client = world.host('c1');
  world.attach(client, lan, `${CLIENT_IP}/24`);
  const worker = world.host('w1');
  world.attach(worker, lan, `${WORKER_IP}/24`);
  if (options.kubeletArgs !== undefined) {
    const kubeletArgs = options.kubeletArgs;
    worker.onBoot((platform) => platform.processes.start({ name: 'kubelet', module: 'kubelet', args: kubeletArgs }));
  }
  return { world, masters, client, worker, logs };
}

/** Runs `story` on the world's clock from `atMs` (virtual) until it settles, failing past `limitMs`. */
async function drive<T>(world: World, atMs: number, limitMs: number, story: () => Promise<T>): Promise<T> {
  let outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
  world.engine.schedule(Math.max(0, atMs - world.engine.elapsedMs()), () => {
    story().then(
      (value) => (outcome = { ok: true, value }),
      (error: unknown) => (outcome = { ok: false, error }),
    );
  });
  await world.run({ untilMs: limitMs, stopWhen: () => outcome !== undefined });
  if (outcome === undefined) throw new Error(`the story did not finish by t=${limitMs} ms (virtual)`);
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

async function call(platform: Platform, ip: string, method: string, path: string, body?: unknown): Promise<ApiAnswer> {
  const response = await httpRequest(platform, {
    host: ip,
    port: APISERVER_PORT,
    method,
    path,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    timeoutMs: 15_000,
  });
  return apiAnswer(response);
}

function metadataOf(answer: ApiAnswer): Record<string, unknown> {
  return answer.json['metadata'] as Record<string, unknown>;
}

/** Polls /healthz until it answers 200 (the cluster has elected a leader), bounded. */
async function untilHealthy(platform: Platform, ip: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if ((await call(platform, ip, 'GET', '/healthz')).status === 200) return;
    await platform.clock.sleep(200);
  }
  throw new Error(`${ip} never became healthy`);
}

function node(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { kind: 'Node', apiVersion: 'v1', metadata: { name, ...extra }, spec: { podCIDR: '10.20.0.0/24' } };
}

describe('the apiserver stand-in on the simulated etcd', () => {
  it('creates, gets, lists, updates with compare-and-swap, refuses conflicts, and deletes nodes', async () => {
    const { world, client } = lab(11);
    const p = client.platform;
    await drive(world, 2_000, 60_000, async () => {
      await untilHealthy(p, '198.18.0.11');
      const created = await call(p, '198.18.0.11', 'POST', NODES, node('w1'));
      expect(created.status, created.text).toBe(201);
      expect(created.json['kind']).toBe('Node');
      const createdAt = metadataOf(created);
      expect(createdAt['name']).toBe('w1');
      expect(createdAt['resourceVersion']).toMatch(/^\d+$/);
      expect(createdAt['creationTimestamp']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

      const again = await call(p, '198.18.0.12', 'POST', NODES, node('w1'));
      expect(again.status).toBe(409);
      expect(again.json).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'AlreadyExists', code: 409 });

      // Every master serves what any master wrote: one etcd behind them all.
      const got = await call(p, '198.18.0.13', 'GET', `${NODES}/w1`);
      expect(got.status).toBe(200);
      expect(got.json).toEqual(created.json);
      expect((await call(p, '198.18.0.13', 'GET', `${NODES}/nobody`)).json).toMatchObject({ reason: 'NotFound', code: 404 });

      await call(p, '198.18.0.11', 'POST', NODES, node('w2'));
      const list = await call(p, '198.18.0.12', 'GET', NODES);
      expect(list.status).toBe(200);
      expect(list.json['kind']).toBe('NodeList');
      const items = list.json['items'] as { metadata: { name: string; resourceVersion: string } }[];
      expect(items.map((item) => item.metadata.name)).toEqual(['w1', 'w2']);
      expect(Number(metadataOf(list)['resourceVersion'])).toBeGreaterThanOrEqual(Number(items[1]!.metadata.resourceVersion));

      // Compare-and-swap on resourceVersion: the first update wins, the stale one is a Conflict.
      const seen = createdAt['resourceVersion'] as string;
      const updated = await call(p, '198.18.0.12', 'PUT', `${NODES}/w1`, { ...node('w1', { resourceVersion: seen }), spec: { podCIDR: '10.20.1.0/24' } });
      expect(updated.status, updated.text).toBe(200);
      expect(Number(metadataOf(updated)['resourceVersion'])).toBeGreaterThan(Number(seen));
      expect(metadataOf(updated)['creationTimestamp']).toBe(createdAt['creationTimestamp']);
      const stale = await call(p, '198.18.0.13', 'PUT', `${NODES}/w1`, node('w1', { resourceVersion: seen }));
      expect(stale.json).toMatchObject({ kind: 'Status', reason: 'Conflict', code: 409 });
      expect((await call(p, '198.18.0.11', 'GET', `${NODES}/w1`)).json['spec']).toEqual({ podCIDR: '10.20.1.0/24' });

      // Without a resourceVersion an update applies to whatever is there.
      const blind = await call(p, '198.18.0.13', 'PUT', `${NODES}/w1`, { metadata: { name: 'w1' }, status: { phase: 'Running' } });
      expect(blind.status).toBe(200);
      expect(blind.json['status']).toEqual({ phase: 'Running' });
      // Nodes are not created by PUT, as in Kubernetes.
      expect((await call(p, '198.18.0.13', 'PUT', `${NODES}/w9`, node('w9'))).json).toMatchObject({ reason: 'NotFound', code: 404 });

      const deleted = await call(p, '198.18.0.11', 'DELETE', `${NODES}/w1`);
      expect(deleted.status).toBe(200);
      expect(metadataOf(deleted)['name']).toBe('w1');
      expect(Number(metadataOf(deleted)['resourceVersion'])).toBeGreaterThan(Number(metadataOf(blind)['resourceVersion']));
      expect((await call(p, '198.18.0.12', 'GET', `${NODES}/w1`)).status).toBe(404);
      expect((await call(p, '198.18.0.12', 'DELETE', `${NODES}/w1`)).json).toMatchObject({ reason: 'NotFound', code: 404 });
    });
    expectNoFailures(world);
  }, 60_000);

  it('keeps node leases: PUT creates and renews them, resourceVersion guards them, lists show them', async () => {
    const { world, client } = lab(12);
    const p = client.platform;
    await drive(world, 2_000, 60_000, async () => {
      await untilHealthy(p, '198.18.0.12');
      const lease = (renewTime: string, resourceVersion?: string): Record<string, unknown> => ({
        kind: 'Lease',
        apiVersion: 'coordination.k8s.io/v1',
        metadata: { name: 'w1', namespace: 'kube-node-lease', ...(resourceVersion === undefined ? {} : { resourceVersion }) },
        spec: { holderIdentity: 'w1', leaseDurationSeconds: 40, renewTime },
      });
      const first = await call(p, '198.18.0.12', 'PUT', `${LEASES}/w1`, lease('2026-01-01T00:00:00.000000Z'));
      expect(first.status, first.text).toBe(201);
      expect(metadataOf(first)).toMatchObject({ name: 'w1', namespace: 'kube-node-lease' });
      const renewed = await call(p, '198.18.0.11', 'PUT', `${LEASES}/w1`, lease('2026-01-01T00:00:10.000000Z', metadataOf(first)['resourceVersion'] as string));
      expect(renewed.status).toBe(200);
      expect((renewed.json['spec'] as Record<string, unknown>)['renewTime']).toBe('2026-01-01T00:00:10.000000Z');
      const stale = await call(p, '198.18.0.13', 'PUT', `${LEASES}/w1`, lease('2026-01-01T00:00:20.000000Z', metadataOf(first)['resourceVersion'] as string));
      expect(stale.json).toMatchObject({ reason: 'Conflict', code: 409 });
      expect((await call(p, '198.18.0.13', 'POST', LEASES, lease('2026-01-01T00:00:20.000000Z'))).json).toMatchObject({ reason: 'AlreadyExists' });
      const created = await call(p, '198.18.0.13', 'POST', LEASES, { ...lease('2026-01-01T00:00:20.000000Z'), metadata: { name: 'w2' } });
      expect(created.status).toBe(201);
      const list = await call(p, '198.18.0.11', 'GET', LEASES);
      expect(list.json['kind']).toBe('LeaseList');
      expect((list.json['items'] as { metadata: { name: string } }[]).map((item) => item.metadata.name)).toEqual(['w1', 'w2']);
      expect((await call(p, '198.18.0.11', 'PUT', `${LEASES}/w1`, { ...lease('yesterday') })).json).toMatchObject({ reason: 'BadRequest', code: 400 });
      expect((await call(p, '198.18.0.11', 'DELETE', `${LEASES}/w2`)).status).toBe(200);
      expect((await call(p, '198.18.0.11', 'GET', `${LEASES}/w2`)).status).toBe(404);
    });
    expectNoFailures(world);
  }, 60_000);

  it('watches nodes and leases: the current state as ADDED, then ADDED, MODIFIED, DELETED as they happen', async () => {
    const { world, client } = lab(13);
    const p = client.platform;
    const nodeLines: string[] = [];
    const fromVersionLines: string[] = [];
    const leaseLines: string[] = [];
    const collect = (path: string, into: string[]): (() => void) => {
      const stream = httpStream(p, { host: '198.18.0.12', port: APISERVER_PORT, method: 'GET', path, timeoutMs: 5_000 });
      void (async () => {
        for await (const line of stream.lines) into.push(line);
      })().catch(() => undefined);
      return () => stream.close();
    };
    const closeAll = await drive(world, 2_000, 60_000, async () => {
      await untilHealthy(p, '198.18.0.11');
      const before = await call(p, '198.18.0.11', 'POST', NODES, node('w0'));
      const stops = [collect(`${NODES}?watch=1`, nodeLines), collect(`${NODES}?watch=true&resourceVersion=${metadataOf(before)['resourceVersion'] as string}`, fromVersionLines), collect(`${LEASES}?watch=1`, leaseLines)];
      await p.clock.sleep(500);
      const created = await call(p, '198.18.0.11', 'POST', NODES, node('w1'));
      await call(p, '198.18.0.13', 'PUT', `${NODES}/w1`, { ...node('w1', { resourceVersion: metadataOf(created)['resourceVersion'] }), status: { phase: 'Ready' } });
      await call(p, '198.18.0.11', 'DELETE', `${NODES}/w1`);
      await call(p, '198.18.0.13', 'PUT', `${LEASES}/w1`, { metadata: { name: 'w1' }, spec: { holderIdentity: 'w1' } });
      await p.clock.sleep(500);
      return stops;
    });
    for (const stop of closeAll) stop();
    const summary = (lines: string[]): string[] =>
      lines.map((line) => {
        const event = JSON.parse(line) as { type: string; object: { kind: string; metadata: { name: string; resourceVersion: string }; status?: { phase?: string } } };
        return `${event.type} ${event.object.kind} ${event.object.metadata.name}${event.object.status?.phase === undefined ? '' : ` ${event.object.status.phase}`}`;
      });
    expect(summary(nodeLines)).toEqual(['ADDED Node w0', 'ADDED Node w1', 'MODIFIED Node w1 Ready', 'DELETED Node w1 Ready']);
    // From a resourceVersion: only what came after it, no replay of the state.
    expect(summary(fromVersionLines)).toEqual(['ADDED Node w1', 'MODIFIED Node w1 Ready', 'DELETED Node w1 Ready']);
    expect(summary(leaseLines)).toEqual(['ADDED Lease w1']);
    const versions = nodeLines.map((line) => Number((JSON.parse(line) as { object: { metadata: { resourceVersion: string } } }).object.metadata.resourceVersion));
    expect([...versions].sort((a, b) => a - b)).toEqual(versions);
    expectNoFailures(world);
  }, 60_000);

  it("sends a watch's initial state at the client's pace, however large, then the changes", async () => {
    const { world, client } = lab(21);
    const p = client.platform;
    const lines: string[] = [];
    const nodeCount = 12;
    await drive(world, 2_000, 60_000, async () => {
      await untilHealthy(p, '198.18.0.11');
      // 12 × 150 KiB: more than the 1 MiB a watcher may leave unread at once.
      for (let index = 0; index < nodeCount; index++) {
        const created = await call(p, '198.18.0.11', 'POST', NODES, { metadata: { name: `w${index}` }, status: { blob: 'x'.repeat(150 * 1024) } });
        expect(created.status).toBe(201);
      }
      const stream = httpStream(p, { host: '198.18.0.11', port: APISERVER_PORT, method: 'GET', path: `${NODES}?watch=1`, timeoutMs: 5_000 });
      const reading = (async () => {
        for await (const line of stream.lines) lines.push(line);
      })();
      await p.clock.sleep(2_000);
      await call(p, '198.18.0.12', 'DELETE', `${NODES}/w0`);
      await p.clock.sleep(500);
      stream.close();
      await reading;
    });
    const types = lines.map((line) => (JSON.parse(line) as { type: string }).type);
    expect(types).toEqual([...Array.from({ length: nodeCount }, () => 'ADDED'), 'DELETED']);
    expectNoFailures(world);
  }, 60_000);

  it('answers bad requests with a Status and keeps serving', async () => {
    const { world, client } = lab(14);
    const p = client.platform;
    await drive(world, 2_000, 60_000, async () => {
      await untilHealthy(p, '198.18.0.11');
      const cases: [string, string, unknown, number, string][] = [
        ['POST', NODES, '{"metadata": {"name": "w1"', 400, 'BadRequest'],
        ['POST', NODES, '[]', 400, 'BadRequest'],
        ['POST', NODES, '', 400, 'BadRequest'],
        ['POST', NODES, { metadata: {} }, 400, 'BadRequest'],
        ['POST', NODES, { metadata: { name: 'Bad_Name' } }, 400, 'BadRequest'],
        ['POST', NODES, { kind: 'Pod', metadata: { name: 'w1' } }, 400, 'BadRequest'],
        ['POST', NODES, { metadata: { name: 'w1', resourceVersion: '7' } }, 400, 'BadRequest'],
        ['POST', NODES, { metadata: { name: 'w1' }, spec: 'big' }, 400, 'BadRequest'],
        ['POST', NODES, { metadata: { name: 'w1' }, spec: JSON.parse('{"a":'.repeat(40) + '1' + '}'.repeat(40)) as unknown }, 400, 'BadRequest'],
        ['POST', NODES, { metadata: { name: 'w1', namespace: 'default' } }, 400, 'BadRequest'],
        ['PUT', `${NODES}/w1`, { metadata: { name: 'w2' } }, 400, 'BadRequest'],
        ['PUT', `${NODES}/w1`, { metadata: { name: 'w1', resourceVersion: 'x' } }, 400, 'BadRequest'],
        ['GET', `${NODES}/UPPER`, undefined, 400, 'BadRequest'],
        ['GET', `${NODES}?watch=1&resourceVersion=abc`, undefined, 400, 'BadRequest'],
        ['GET', '/api/v1/pods', undefined, 404, 'NotFound'],
        ['GET', `${NODES}/w1/status`, undefined, 404, 'NotFound'],
        ['PATCH', `${NODES}/w1`, '{}', 405, 'MethodNotAllowed'],
        ['DELETE', NODES, undefined, 405, 'MethodNotAllowed'],
        ['POST', '/healthz', '{}', 405, 'MethodNotAllowed'],
      ];
      for (const [method, path, body, code, reason] of cases) {
        const answer = await call(p, '198.18.0.11', method, path, body);
        expect({ method, path, status: answer.status, json: answer.json }).toMatchObject({ status: code, json: { kind: 'Status', status: 'Failure', code, reason } });
      }
      // Still serving, and none of it was stored.
      expect((await call(p, '198.18.0.11', 'GET', NODES)).json['items']).toEqual([]);
      expect((await call(p, '198.18.0.11', 'GET', '/version')).text).toBe('{"server":"m1"}\n');
      // The body bound is the HTTP server's: 413 before any JSON is parsed.
      const huge = await call(p, '198.18.0.11', 'POST', NODES, { metadata: { name: 'w1' }, spec: { blob: 'x'.repeat(300 * 1024) } });
      expect(huge.status).toBe(413);
    });
    expectNoFailures(world);
  }, 60_000);

  it("fails /healthz on a master cut off from the others within 2 s, keeps the majority's ok, and recovers on heal", async () => {
    const { world, client, logs } = lab(15);
    const p = client.platform;
    const ipOf = new Map<string, string>(MASTERS);
    // Cut off a follower: the majority keeps its leader, so its /healthz must stay ok throughout.
    const leaderAt = (): string | undefined => {
      const last = logs.filter((event) => event.fields['event'] === 'etcd.leadership' && event.fields['role'] === 'leader').at(-1);
      return last?.host;
    };
    /** One /healthz per master every ~100 ms, each with the virtual times it was asked and answered. */
    const samples: { host: string; startMs: number; endMs: number; status: number | string }[] = [];
    let polling = true;
    const poll = async (host: string): Promise<void> => {
      while (polling) {
        const startMs = world.engine.elapsedMs();
        const status = await call(p, ipOf.get(host)!, 'GET', '/healthz').then(
          (answer) => (answer.status === 200 ? 200 : `${answer.status} ${answer.text.trim()}`),
          (error: unknown) => String(error),
        );
        samples.push({ host, startMs, endMs: world.engine.elapsedMs(), status });
        await p.clock.sleep(100);
      }
    };
    const { cutOff, cutAtMs, healAtMs, writes } = await drive(world, 2_000, 60_000, async () => {
      await untilHealthy(p, '198.18.0.11');
      await p.clock.sleep(2_000);
      const leader = leaderAt();
      const cutOff = MASTERS.map(([name]) => name).find((name) => name !== leader)!;
      const pollers = MASTERS.map(([name]) => poll(name));
      await p.clock.sleep(1_000);
      const cutAtMs = world.engine.elapsedMs();
      const partition = world.partition([cutOff], MASTERS.map(([name]) => name).filter((name) => name !== cutOff));
      await p.clock.sleep(1_000);
      // Writes through the cut-off master fail (503) or time out without an outcome (504); the majority's succeed.
      const [minorityWrite, majorityWrite] = await Promise.all([
        call(p, ipOf.get(cutOff)!, 'POST', NODES, node('minority')),
        call(p, ipOf.get(leader!)!, 'POST', NODES, node('majority')),
      ]);
      await p.clock.sleep(6_000);
      const healAtMs = world.engine.elapsedMs();
      world.heal(partition);
      await p.clock.sleep(5_000);
      polling = false;
      await Promise.all(pollers);
      return { cutOff, cutAtMs, healAtMs, writes: { minorityWrite, majorityWrite } };
    });
    const of = (host: string, fromMs: number, toMs: number) => samples.filter((sample) => sample.host === host && sample.startMs >= fromMs && sample.endMs < toMs);
    const firstFailure = of(cutOff, cutAtMs, healAtMs).find((sample) => sample.status !== 200);
    expect(firstFailure, JSON.stringify(of(cutOff, cutAtMs, healAtMs).slice(0, 5))).toBeDefined();
    // The check that notices waits out its 1 s etcd read; a result up to 500 ms old may be served before it.
    expect(firstFailure!.endMs - cutAtMs).toBeLessThanOrEqual(2_000);
    expect(String(firstFailure!.status)).toMatch(/^500 etcd: /);
    // From then on until the heal, never ok.
    expect(of(cutOff, firstFailure!.startMs, healAtMs).filter((sample) => sample.status === 200)).toEqual([]);
    for (const [name] of MASTERS.filter(([name]) => name !== cutOff)) {
      const majority = of(name, cutAtMs - 1_000, healAtMs + 5_000);
      expect(majority.length, name).toBeGreaterThan(50);
      expect(majority.filter((sample) => sample.status !== 200), name).toEqual([]);
    }
    // Healed: ok again within a few seconds (the member hears from the leader, the next check passes), and stays so.
    const recovered = samples.find((sample) => sample.host === cutOff && sample.startMs >= healAtMs && sample.status === 200);
    expect(recovered, JSON.stringify(of(cutOff, healAtMs, healAtMs + 5_000).slice(0, 5))).toBeDefined();
    expect(recovered!.endMs - healAtMs).toBeLessThanOrEqual(3_000);
    expect(of(cutOff, recovered!.startMs, healAtMs + 5_000).filter((sample) => sample.status !== 200)).toEqual([]);

    expect([503, 504]).toContain(writes.minorityWrite.status);
    expect(writes.minorityWrite.json).toMatchObject({ kind: 'Status', reason: writes.minorityWrite.status === 503 ? 'ServiceUnavailable' : 'Timeout' });
    expect(writes.majorityWrite.status).toBe(201);
    expectNoFailures(world);
  }, 60_000);

  it('answers 504 Timeout when etcd cannot say whether a write happened (the leader cut off mid-write), 503 when it certainly did not', async () => {
    const { world, client, logs } = lab(19);
    const p = client.platform;
    const ipOf = new Map<string, string>(MASTERS);
    const result = await drive(world, 2_000, 60_000, async () => {
      await untilHealthy(p, '198.18.0.11');
      await p.clock.sleep(2_000);
      const leader = logs.filter((event) => event.fields['event'] === 'etcd.leadership' && event.fields['role'] === 'leader').at(-1)!.host;
      const others = MASTERS.map(([name]) => name).filter((name) => name !== leader);
      world.partition([leader], others);
      // The old leader still believes it leads for up to an election timeout: it proposes, and cannot commit.
      const inFlight = await call(p, ipOf.get(leader)!, 'POST', NODES, node('maybe'));
      const afterwards = await call(p, ipOf.get(leader)!, 'POST', NODES, node('surely-not'));
      world.heal();
      await p.clock.sleep(3_000);
      const maybe = await call(p, ipOf.get(others[0]!)!, 'GET', `${NODES}/maybe`);
      const surelyNot = await call(p, ipOf.get(others[0]!)!, 'GET', `${NODES}/surely-not`);
      return { inFlight, afterwards, maybe, surelyNot };
    });
    expect(result.inFlight.json).toMatchObject({ kind: 'Status', reason: 'Timeout', code: 504 });
    expect(result.inFlight.status).toBe(504);
    expect(result.afterwards.json).toMatchObject({ reason: 'ServiceUnavailable', code: 503 });
    expect(result.surelyNot.status).toBe(404);
    expectNoFailures(world);
  }, 60_000);

  it('ends a watch when its etcd watch ends, and frees the watch for the next client', async () => {
    const { world, client, masters } = lab(20);
    const p = client.platform;
    const outcome = await drive(world, 2_000, 60_000, async () => {
      await untilHealthy(p, '198.18.0.12');
      // At most WATCHES_MAX open at once; the next is refused with a Status.
      const open = Array.from({ length: WATCHES_MAX + 1 }, () => httpStream(p, { host: '198.18.0.12', port: APISERVER_PORT, method: 'GET', path: `${NODES}?watch=1`, timeoutMs: 5_000 }));
      const heads = await Promise.all(open.map((stream) => stream.head));
      const statuses = heads.map((head) => head.status);
      for (const stream of open) stream.close();
      if (statuses.filter((status) => status === 200).length !== WATCHES_MAX || !statuses.includes(429)) return { statuses };
      await p.clock.sleep(100);
      // More watches, one after another, than may be open at once: each closed one gives its slot back.
      for (let index = 0; index < WATCHES_MAX + 2; index++) {
        const stream = httpStream(p, { host: '198.18.0.12', port: APISERVER_PORT, method: 'GET', path: `${NODES}?watch=1`, timeoutMs: 5_000 });
        const head = await stream.head;
        if (head.status !== 200) return { refusedAt: index, status: head.status };
        stream.close();
        await p.clock.sleep(10);
      }
      const stream = httpStream(p, { host: '198.18.0.12', port: APISERVER_PORT, method: 'GET', path: `${NODES}?watch=1`, timeoutMs: 5_000 });
      const lines: string[] = [];
      let ended = false;
      void (async () => {
        for await (const line of stream.lines) lines.push(line);
      })()
        .catch(() => undefined)
        .finally(() => (ended = true));
      await call(p, '198.18.0.11', 'POST', NODES, node('w1'));
      await p.clock.sleep(500);
      const endedBefore = ended;
      await masters.get('m2')!.platform.processes.stop('etcd');
      await p.clock.sleep(500);
      return { refusedAt: undefined, lines: lines.length, endedBefore, ended };
    });
    expect(outcome).toEqual({ refusedAt: undefined, lines: 1, endedBefore: false, ended: true });
    expectNoFailures(world);
  }, 60_000);

  it('a kubelet registers its node and renews its lease every 10 s', async () => {
    const { world, client, logs } = lab(16, { kubeletArgs: ['--apiserver', '198.18.0.11:443', '--node', 'w1'] });
    await world.run({ untilMs: 65_000 });
    const kubelet = logs.filter((event) => event.host === 'w1' && String(event.fields['event']).startsWith('kubelet.'));
    const registered = kubelet.filter((event) => event.fields['event'] === 'kubelet.register');
    // It starts with the masters, before etcd has a leader: the first tries fail and back off.
    expect(registered.at(-1)?.fields).toMatchObject({ ok: true });
    expect(registered.filter((event) => event.fields['ok'] === true)).toHaveLength(1);
    const registeredAtMs = registered.at(-1)!.atMs;
    expect(registeredAtMs).toBeLessThan(15_000);
    const renewals = kubelet.filter((event) => event.fields['event'] === 'kubelet.lease_renew');
    expect(renewals.every((event) => event.fields['ok'] === true), JSON.stringify(renewals.map((event) => event.fields))).toBe(true);
    // One right after registering, then one every 10 s.
    expect(renewals.length).toBe(Math.floor((65_000 - registeredAtMs) / 10_000) + 1);
    const gapsMs = renewals.slice(1).map((event, index) => event.atMs - renewals[index]!.atMs);
    for (const gapMs of gapsMs) expect(Math.abs(gapMs - 10_000)).toBeLessThanOrEqual(50);

    const lease = await drive(world, world.engine.elapsedMs(), 80_000, () => call(client.platform, '198.18.0.13', 'GET', `${LEASES}/w1`));
    expect(lease.json).toMatchObject({ kind: 'Lease', metadata: { name: 'w1', namespace: 'kube-node-lease' }, spec: { holderIdentity: 'w1', leaseDurationSeconds: 40 } });
    expect((lease.json['spec'] as { renewTime: string }).renewTime).toBe(renewals.at(-1)!.fields['renewTime']);
    expect((await drive(world, world.engine.elapsedMs(), 90_000, () => call(client.platform, '198.18.0.12', 'GET', `${NODES}/w1`))).status).toBe(200);
    expectNoFailures(world);
  }, 60_000);

  it('a kubelet keeps retrying registration with bounded backoff while no apiserver answers', async () => {
    const { world, logs } = lab(17, { kubeletArgs: ['--apiserver', '198.18.0.99:443', '--node', 'w1'] });
    await world.run({ untilMs: 60_000 });
    const attempts = logs.filter((event) => event.host === 'w1' && event.fields['event'] === 'kubelet.register');
    expect(attempts.length).toBeGreaterThan(5);
    expect(attempts.every((event) => event.fields['ok'] === false)).toBe(true);
    for (const attempt of attempts) expect(Number(attempt.fields['retryInMs'])).toBeLessThan(7_000);
    expect(logs.filter((event) => event.fields['event'] === 'kubelet.lease_renew')).toEqual([]);
    expectNoFailures(world);
  }, 60_000);

  it('is deterministic: the same seed gives the same trace, kubelet heartbeats and client calls included', async () => {
    const digest = async (): Promise<string> => {
      const { world, client } = lab(22, { kubeletArgs: ['--apiserver', '198.18.0.12:443', '--node', 'w1'] });
      await drive(world, 5_000, 40_000, async () => {
        await untilHealthy(client.platform, '198.18.0.13');
        await call(client.platform, '198.18.0.13', 'GET', NODES);
        await client.platform.clock.sleep(20_000);
      });
      return world.engine.trace.digest();
    };
    expect(await digest()).toBe(await digest());
  }, 60_000);

  it('without --etcd, /healthz is always ok, as the keepalived scenarios need', async () => {
    const { world, client } = lab(18, { apiserverArgs: [] });
    const answers = await drive(world, 500, 10_000, async () => {
      const healthz = await call(client.platform, '198.18.0.12', 'GET', '/healthz');
      const version = await call(client.platform, '198.18.0.12', 'GET', '/version');
      return { healthz, version };
    });
    expect(answers.healthz.status).toBe(200);
    expect(answers.healthz.text).toBe('ok m2\n');
    expect(answers.version.text).toBe('{"server":"m2"}\n');
    expectNoFailures(world);
  }, 30_000);
});
