// The etcd cluster the etcd scenarios share: three masters on one LAN, each
// running an etcd member (peers on 2380, clients on 2379) and the apiserver
// stand-in on top of its local member, and history clients on every master
// that read and write a few keys through their local apiserver (as node
// Leases), recording what they saw.
//
//   lan 198.18.0.0/24:  m1 .11   m2 .12   m3 .13
import { World } from '../network/world.js';
import type { SimHost } from '../network/host.js';
import type { TraceEvent } from '../network/trace.js';
import { etcdMemberMain } from './member/member.js';
import { CLIENT_PORT } from './member/flags.js';
import { apiserverKvTarget } from './apiserver-kv-target.js';
import { apiserverStandinMain, APISERVER_PORT } from '../../src/runtime/kube/apiserver-standin.js';
import { runKvClient } from '../workloads/kv-history.js';
import type { KvOperation } from './linearizability/index.js';

export const ETCD_MASTERS = ['m1', 'm2', 'm3'] as const;
const KEYS = ['/k/a', '/k/b', '/k/c', '/k/d'];
const CLIENTS_PER_MASTER = 2;
/** Longer than the apiserver's etcd timeout (8 s), so the apiserver answers first. */
const CLIENT_TIMEOUT_MS = 12_000;
const THINK_MS_MAX = 200;
const HISTORY_MAX = 20_000;

export interface EtcdClusterOptions {
  seed: number;
  /** Clients read and write from clientsFromMs to clientsUntilMs (virtual, from the run's start). */
  clientsFromMs: number;
  clientsUntilMs: number;
  /** Every client reads every key once, at this time, to pin down the final state. */
  finalReadsAtMs: number;
}

export interface LeadershipRecord {
  atMs: number;
  member: string;
  role: string;
  leader: string | undefined;
  term: number;
}

export interface EtcdCluster {
  world: World;
  masters: SimHost[];
  history: KvOperation[];
  leadership: LeadershipRecord[];
  /** Client ids by the master they run on (every boot brings new ones). */
  clientsOn: Map<string, Set<number>>;
}

export function ipOf(master: string): string {
  return `198.18.0.${11 + ETCD_MASTERS.indexOf(master as (typeof ETCD_MASTERS)[number])}`;
}

export function buildEtcdCluster(options: EtcdClusterOptions): EtcdCluster {
  const world = new World({ seed: options.seed });
  const lan = world.segment('lan', { latencyMs: 0.5, jitterMs: 0.5 });
  world.registerModule('etcd', etcdMemberMain);
  world.registerModule('apiserver', apiserverStandinMain);
  const initialCluster = ETCD_MASTERS.map((name) => `${name}=${ipOf(name)}`).join(',');
  const history: KvOperation[] = [];
  const clientsOn = new Map<string, Set<number>>();
  const runStartMs = world.engine.startMs;

  const masters = ETCD_MASTERS.map((name, masterIndex) => {
    const host = world.host(name, { schedulerJitterMs: 2 });
    world.attach(host, lan, `${ipOf(name)}/24`, { iface: 'eth0' });
    clientsOn.set(name, new Set());
    host.onBoot(async (platform) => {
      await platform.processes.start({ name: 'etcd', module: 'etcd', args: ['--name', name, '--initial-cluster', initialCluster, '--data-dir', '/var/lib/etcd'] });
      await platform.processes.start({ name: 'apiserver', module: 'apiserver', args: ['--etcd', `127.0.0.1:${CLIENT_PORT}`] });
      const target = apiserverKvTarget(platform, { host: '127.0.0.1', port: APISERVER_PORT }, CLIENT_TIMEOUT_MS);
      // A client's operations must be sequential: each boot's clients are new clients.
      const firstClient = 1 + (host.boots - 1) * 100 + masterIndex * CLIENTS_PER_MASTER;
      for (let k = 0; k < CLIENTS_PER_MASTER; k++) {
        const client = firstClient + k;
        clientsOn.get(name)?.add(client);
        const startInMs = Math.max(0, options.clientsFromMs - (platform.clock.now() - runStartMs));
        void platform.clock.sleep(startInMs).then(() =>
          runKvClient(platform, target, { client, host: name, keys: KEYS, history, historyMax: HISTORY_MAX, runStartMs, untilMs: options.clientsUntilMs, thinkMsMax: THINK_MS_MAX }),
        );
      }
      const finalInMs = options.finalReadsAtMs - (platform.clock.now() - runStartMs);
      if (finalInMs > 0) {
        const client = firstClient + CLIENTS_PER_MASTER + 50;
        clientsOn.get(name)?.add(client);
        void platform.clock.sleep(finalInMs).then(async () => {
          for (const key of KEYS) {
            const invokeMs = platform.clock.now() - runStartMs;
            // A read that fails changes nothing: it is simply not recorded.
            const result = await target.get(key).catch(() => undefined);
            if (result !== undefined) history.push({ client, op: 'get', key, invokeMs, returnMs: platform.clock.now() - runStartMs, result, meta: { host: name, final: true } });
          }
        });
      }
    });
    return host;
  });

  const leadership: LeadershipRecord[] = [];
  world.engine.trace.subscribe('log.info', (event: TraceEvent) => {
    if (event.fields['event'] !== 'etcd.leadership') return;
    const leader = event.fields['leader'];
    leadership.push({ atMs: event.atMs, member: event.host, role: String(event.fields['role']), leader: typeof leader === 'string' ? leader : undefined, term: Number(event.fields['term']) });
  });
  return { world, masters, history, leadership, clientsOn };
}
