// The runtime etcd client, against the simulated member and against Debian's
// real etcd 3.4 on loopback, with the same assertions: what the apiserver
// stand-in relies on must hold for both.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { World } from '../sim/network/world.js';
import { etcdMemberMain } from '../sim/etcd/member/member.js';
import { EtcdClient, EtcdClientError } from '../src/runtime/etcd/client.js';
import { createRealPlatform } from '../src/runtime/platform/real/index.js';
import type { Platform } from '../src/runtime/platform/types.js';
import type { KeyValue, WatchResponse } from '../src/runtime/etcd/api/index.js';
import { skipLiveEtcd, startLiveEtcd, type LiveEtcd } from './helpers/live-etcd.js';
import { LogCapture } from './helpers/real-net.js';

/** The story both targets must tell. `wait` lets virtual or real time pass. */
async function story(client: EtcdClient, wait: (ms: number) => Promise<void>): Promise<void> {
  const put = await client.request({ type: 'put', key: '/registry/nodes/w1', value: 'Ready' });
  expect(put.header.revision).toBeGreaterThan(0);
  const range = await client.request({ type: 'range', key: '/registry/nodes/w1' });
  expect(range.kvs.map((kv: KeyValue) => kv.value)).toEqual(['Ready']);
  const modRevision = range.kvs[0]!.modRevision;

  // Compare-and-swap: succeeds against the revision just read, fails against a stale one.
  const swap = await client.request({
    type: 'txn',
    compare: [{ key: '/registry/nodes/w1', target: 'MOD', result: 'EQUAL', modRevision }],
    success: [{ type: 'put', key: '/registry/nodes/w1', value: 'NotReady' }],
    failure: [],
  });
  expect(swap.succeeded).toBe(true);
  const stale = await client.request({
    type: 'txn',
    compare: [{ key: '/registry/nodes/w1', target: 'MOD', result: 'EQUAL', modRevision }],
    success: [{ type: 'put', key: '/registry/nodes/w1', value: 'lost' }],
    failure: [],
  });
  expect(stale.succeeded).toBe(false);

  // A lease: a key on it goes when it expires; a keepalive on a gone lease is refused.
  const lease = await client.request({ type: 'leaseGrant', ttlS: 2 });
  await client.request({ type: 'put', key: '/registry/leases/w1', value: 'renew', lease: lease.id });
  await wait(1_000);
  const kept = await client.request({ type: 'leaseKeepAlive', id: lease.id });
  expect(kept.ttlS).toBeGreaterThan(0);
  await wait(5_000);
  const gone = await client.request({ type: 'range', key: '/registry/leases/w1' });
  expect(gone.kvs).toEqual([]);
  const refused = await client.request({ type: 'leaseRevoke', id: lease.id }).catch((error: unknown) => error);
  expect(refused).toBeInstanceOf(EtcdClientError);
  expect((refused as EtcdClientError).outcome).toBe('failed');
  expect((refused as EtcdClientError).status?.message).toBe('etcdserver: requested lease not found');
}

async function watchStory(client: EtcdClient, wait: (ms: number) => Promise<void>): Promise<WatchResponse[]> {
  const responses: WatchResponse[] = [];
  const watch = client.watch({ key: '/registry/nodes/', rangeEnd: '/registry/nodes0' }, (response) => responses.push(response), () => {});
  await wait(500);
  await client.request({ type: 'put', key: '/registry/nodes/w2', value: 'a' });
  await client.request({ type: 'deleteRange', key: '/registry/nodes/w2' });
  await wait(500);
  watch.close();
  return responses;
}

function eventsOf(responses: WatchResponse[]): string[] {
  return responses.flatMap((response) => response.events.map((event) => `${event.type} ${event.kv.key}`));
}

describe('the etcd client against the simulated member', () => {
  function simulated(body: (client: EtcdClient, wait: (ms: number) => Promise<void>) => Promise<unknown>): Promise<unknown> {
    const world = new World({ seed: 7 });
    const lan = world.segment('lan', { latencyMs: 0.5 });
    world.registerModule('etcd', etcdMemberMain);
    const cluster = 'm1=198.18.0.11,m2=198.18.0.12,m3=198.18.0.13';
    const hosts = ['m1', 'm2', 'm3'].map((name, index) => {
      const host = world.host(name);
      world.attach(host, lan, `198.18.0.${11 + index}/24`);
      host.onBoot((platform) => platform.processes.start({ name: 'etcd', module: 'etcd', args: ['--name', name, '--initial-cluster', cluster] }));
      return host;
    });
    const platform: Platform = hosts[2]!.platform;
    let result: unknown;
    let failure: unknown;
    world.engine.schedule(3_000, () => {
      body(new EtcdClient(platform, { host: '127.0.0.1', port: 2379, timeoutMs: 10_000 }), (ms) => platform.clock.sleep(ms)).then(
        (value) => (result = value ?? 'done'),
        (error: unknown) => (failure = error),
      );
    });
    return world.run({ untilMs: 60_000, stopWhen: () => result !== undefined || failure !== undefined }).then(() => {
      if (failure !== undefined) throw failure;
      if (result === undefined) throw new Error('the story did not finish within 60 s of virtual time');
      return result;
    });
  }

  it('puts, ranges, compare-and-swaps, and leases expire', async () => {
    await simulated(story);
  });

  it('watches a prefix', async () => {
    const responses = (await simulated(watchStory)) as WatchResponse[];
    expect(eventsOf(responses)).toEqual(['PUT /registry/nodes/w2', 'DELETE /registry/nodes/w2']);
  });
});

describe.skipIf(skipLiveEtcd('etcd-client'))("the etcd client against Debian's etcd 3.4 (loopback)", () => {
  let etcd: LiveEtcd | undefined;
  const platform = createRealPlatform({ hostName: 'test-etcd-client', logStream: new LogCapture() });
  const wait = (ms: number): Promise<void> => platform.clock.sleep(ms);

  beforeAll(async () => {
    etcd = await startLiveEtcd('client');
  }, 30_000);
  afterAll(() => etcd?.stop());

  it('puts, ranges, compare-and-swaps, and leases expire', async () => {
    await story(new EtcdClient(platform, { host: '127.0.0.1', port: etcd!.clientPort, timeoutMs: 5_000 }), wait);
  }, 30_000);

  it('watches a prefix', async () => {
    const responses = await watchStory(new EtcdClient(platform, { host: '127.0.0.1', port: etcd!.clientPort, timeoutMs: 5_000 }), wait);
    expect(eventsOf(responses)).toEqual(['PUT /registry/nodes/w2', 'DELETE /registry/nodes/w2']);
  }, 30_000);
});
