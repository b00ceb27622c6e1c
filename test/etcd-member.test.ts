// Simulated etcd members as a client sees them, through the v3 JSON gateway on
// each master's port 2379: writes from any member, reads everywhere, the
// minority side of a partition refusing writes with etcd's own error, a
// watch streaming events, and a member that crashes and comes back.
import { describe, expect, it } from 'vitest';
import { World } from '../sim/network/world.js';
import type { SimHost } from '../sim/network/host.js';
import { etcdMemberMain } from '../sim/etcd/member/member.js';
import { httpRequest, httpStream } from '../src/runtime/net/http1/index.js';

const MASTERS = [
  ['m1', '198.18.0.11'],
  ['m2', '198.18.0.12'],
  ['m3', '198.18.0.13'],
] as const;
const INITIAL_CLUSTER = MASTERS.map(([name, ip]) => `${name}=${ip}`).join(',');

function b64(text: string): string {
  return Buffer.from(text).toString('base64');
}

function cluster(seed: number): { world: World; hosts: Map<string, SimHost> } {
  const world = new World({ seed });
  const lan = world.segment('lan', { latencyMs: 0.5, jitterMs: 0.5 });
  world.registerModule('etcd', etcdMemberMain);
  const hosts = new Map<string, SimHost>();
  for (const [name, ip] of MASTERS) {
    const host = world.host(name);
    world.attach(host, lan, `${ip}/24`);
    host.onBoot((platform) => platform.processes.start({ name: 'etcd', module: 'etcd', args: ['--name', name, '--initial-cluster', INITIAL_CLUSTER, '--data-dir', '/var/lib/etcd'] }));
    hosts.set(name, host);
  }
  return { world, hosts };
}

/** POSTs to a member's own gateway (127.0.0.1:2379) at `atMs`; the answer lands in the returned record. */
function post(world: World, host: SimHost, atMs: number, path: string, body: unknown): { status?: number; json?: Record<string, unknown>; error?: string } {
  const outcome: { status?: number; json?: Record<string, unknown>; error?: string } = {};
  world.engine.schedule(Math.max(0, atMs - world.engine.elapsedMs()), () => {
    httpRequest(host.platform, { host: '127.0.0.1', port: 2379, method: 'POST', path, body: JSON.stringify(body), timeoutMs: 15_000 }).then(
      (response) => {
        outcome.status = response.status;
        outcome.json = JSON.parse(response.body.toString('utf8')) as Record<string, unknown>;
      },
      (error: unknown) => (outcome.error = String(error)),
    );
  });
  return outcome;
}

function valueOf(range: { json?: Record<string, unknown> }): string | undefined {
  const kvs = range.json?.['kvs'] as { value?: string }[] | undefined;
  return kvs?.[0]?.value === undefined ? undefined : Buffer.from(kvs[0].value, 'base64').toString('utf8');
}

describe('simulated etcd members through the JSON gateway', () => {
  it('write on any member, read on every member; the minority side refuses writes; the healed member catches up', async () => {
    const { world, hosts } = cluster(1);
    const m1 = hosts.get('m1')!;
    const m2 = hosts.get('m2')!;
    const m3 = hosts.get('m3')!;
    const puts = MASTERS.map(([name], index) => post(world, hosts.get(name)!, 5_000 + index * 100, '/v3/kv/put', { key: b64(`/k${index}`), value: b64(`from ${name}`) }));
    await world.run({ untilMs: 7_000 });
    for (const put of puts) expect(put.status, JSON.stringify(put)).toBe(200);
    const reads = MASTERS.map(([name]) => post(world, hosts.get(name)!, 7_000, '/v3/kv/range', { key: b64('/k2') }));
    await world.run({ untilMs: 8_000 });
    for (const read of reads) expect(valueOf(read)).toBe('from m3');

    world.engine.schedule(0, () => world.partition(['m3'], ['m1', 'm2']));
    const minorityPut = post(world, m3, 9_000, '/v3/kv/put', { key: b64('/minority'), value: b64('lost?') });
    const majorityPut = post(world, m1, 9_000, '/v3/kv/put', { key: b64('/majority'), value: b64('kept') });
    const minorityRead = post(world, m3, 9_000, '/v3/kv/range', { key: b64('/majority') });
    const staleRead = post(world, m3, 12_000, '/v3/kv/range', { key: b64('/k0'), serializable: true });
    await world.run({ untilMs: 25_000 });
    expect(majorityPut.status).toBe(200);
    expect(minorityPut.status).toBe(503);
    expect(minorityPut.json?.['message']).toMatch(/^etcdserver: (request timed out|no leader)/);
    expect(minorityRead.status).toBe(503);
    // A serializable read answers from the member's own state, cut off or not.
    expect(valueOf(staleRead)).toBe('from m1');

    world.engine.schedule(0, () => world.heal());
    const healed = post(world, m3, 30_000, '/v3/kv/range', { key: b64('/majority') });
    const never = post(world, m2, 30_000, '/v3/kv/range', { key: b64('/minority') });
    await world.run({ untilMs: 32_000 });
    expect(valueOf(healed), JSON.stringify(healed)).toBe('kept');
    expect(never.json?.['kvs']).toBeUndefined();
    void m2;
  }, 30_000);

  it('a watch from a member streams the created answer, then each put', async () => {
    const { world, hosts } = cluster(2);
    const m2 = hosts.get('m2')!;
    const lines: string[] = [];
    world.engine.schedule(5_000, () => {
      const watch = httpStream(m2.platform, { host: '127.0.0.1', port: 2379, method: 'POST', path: '/v3/watch', body: JSON.stringify({ create_request: { key: b64('/w') } }), timeoutMs: 5_000 });
      void (async () => {
        for await (const line of watch.lines) lines.push(line);
      })().catch(() => {});
      world.engine.schedule(5_000, () => watch.close());
    });
    post(world, hosts.get('m1')!, 6_000, '/v3/kv/put', { key: b64('/w'), value: b64('one') });
    post(world, hosts.get('m3')!, 7_000, '/v3/kv/put', { key: b64('/w'), value: b64('two') });
    await world.run({ untilMs: 11_000 });
    const results = lines.map((line) => (JSON.parse(line) as { result: Record<string, unknown> }).result);
    expect(results[0]?.['created']).toBe(true);
    const values = results.flatMap((result) => ((result['events'] as { kv: { value: string } }[] | undefined) ?? []).map((event) => Buffer.from(event.kv.value, 'base64').toString()));
    expect(values).toEqual(['one', 'two']);
  }, 30_000);

  it('a crashed member comes back from its disk with what was committed', async () => {
    const { world, hosts } = cluster(3);
    const m1 = hosts.get('m1')!;
    post(world, m1, 5_000, '/v3/kv/put', { key: b64('/durable'), value: b64('yes') });
    await world.run({ untilMs: 6_000 });
    for (const host of hosts.values()) world.engine.schedule(0, () => host.crash());
    await world.run({ untilMs: 7_000 });
    for (const host of hosts.values()) world.engine.schedule(0, () => host.restart());
    const read = post(world, hosts.get('m2')!, 12_000, '/v3/kv/range', { key: b64('/durable') });
    await world.run({ untilMs: 14_000 });
    expect(valueOf(read)).toBe('yes');
  }, 30_000);
});
