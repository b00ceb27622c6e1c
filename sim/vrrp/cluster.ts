// The keepalived cluster the VRRP scenarios share: masters on one LAN, each
// running the apiserver stand-in and keepalived with the product's
// configuration (or a variation), and workers probing the API via the VIP.
//
//   lan 198.18.N.0/24
//   m1 .11  m2 .12  m3 .13  (VIP .10)      w1 .21  w2 .22  w3 .23
//
// A world may hold several clusters, each on its own LAN with its own host
// name prefix (the preempt scenario runs one with and one without nopreempt).
import { World } from '../network/world.js';
import type { SimHost } from '../network/host.js';
import { keepalivedMain } from '../../src/runtime/keepalived/daemon.js';
import { renderProductKeepalivedConf, type ProductConfOptions } from '../../src/runtime/keepalived/product-conf.js';
import { apiserverStandinMain, APISERVER_PORT } from '../../src/runtime/kube/apiserver-standin.js';
import { checkApiserverMain, CHECK_APISERVER_PATH } from '../../src/runtime/kube/check-apiserver.js';
import { startApiProbes, type ProbeRecord } from '../workloads/api-probe.js';
import { VipObserver } from './vip-observer.js';
import { VRRP_IFACE } from './timeline.js';
import { etcdMemberMain } from '../etcd/member/member.js';
import { kubeletMain } from '../../src/runtime/kube/kubelet.js';
import { CLIENT_PORT } from '../etcd/member/flags.js';

export const KEEPALIVED_CONF_PATH = '/etc/keepalived/keepalived.conf';
/** The product's AH password in the lab (8 characters, keepalived's limit). */
const AUTH_PASS = 'pf9lab01';
export const PROBE_INTERVAL_MS = 100;
const PROBE_TIMEOUT_MS = 1_000;
const PROBE_RECORDS_MAX = 20_000;

export interface MasterSpec {
  name: string;
  /** When the master boots, in virtual ms from the start (staggered boots make the first holder predictable). */
  bootAtMs: number;
  conf?: Partial<ProductConfOptions>;
}

/** Three masters booting 2 s apart and then 0.5 s: m1 is alone long enough to become the first holder. */
export const STAGGERED_MASTERS: readonly MasterSpec[] = [
  { name: 'm1', bootAtMs: 0 },
  { name: 'm2', bootAtMs: 2_000 },
  { name: 'm3', bootAtMs: 2_500 },
];

export interface VrrpClusterOptions {
  masters: readonly MasterSpec[];
  workers: number;
  /** Applies to every master unless its own spec overrides it. */
  conf?: Partial<ProductConfOptions>;
  /** Third octet of the cluster's 198.18.N.0/24 LAN. */
  subnet?: number;
  /** Prefixed to host and segment names. */
  prefix?: string;
  /** How often each worker probes the API through the VIP; PROBE_INTERVAL_MS unless set. */
  probeIntervalMs?: number;
  /**
   * Masters also run etcd, meshed over a second network (eth1 on
   * 198.18.<subnet>.0/24), and their apiservers use the local member: /healthz
   * then fails on a master whose member lost the quorum. Workers run a
   * kubelet that renews its node lease every 10 s through the VIP.
   */
  etcd?: { subnet: number };
}

export interface VrrpCluster {
  world: World;
  vip: string;
  masters: SimHost[];
  workers: SimHost[];
  observer: VipObserver;
  probes: ProbeRecord[];
  confOf(master: string): ProductConfOptions;
}

export function buildVrrpCluster(options: VrrpClusterOptions & { seed: number }): VrrpCluster {
  return addVrrpCluster(new World({ seed: options.seed }), options);
}

export function addVrrpCluster(world: World, options: VrrpClusterOptions): VrrpCluster {
  const { subnet = 0, prefix = '', probeIntervalMs = PROBE_INTERVAL_MS } = options;
  const vip = `198.18.${subnet}.10`;
  // A switched LAN: sub-millisecond latency (rounded to whole ms by the
  // engine), a little jitter, no loss unless a fault adds it.
  const lan = world.segment(`${prefix}lan`, { latencyMs: 0.5, jitterMs: 0.5 });
  if (!world.modules.has('keepalived')) {
    world.registerModule('apiserver', apiserverStandinMain);
    world.registerModule('keepalived', keepalivedMain);
    world.registerCommand(CHECK_APISERVER_PATH, checkApiserverMain);
  }

  const confs = new Map<string, ProductConfOptions>();
  const etcdNet = options.etcd === undefined ? undefined : world.segment(`${prefix}etcd`, { latencyMs: 0.5, jitterMs: 0.5 });
  const etcdIpOf = (index: number): string => `198.18.${options.etcd?.subnet}.${11 + index}`;
  const initialCluster = options.masters.map((spec, index) => `${prefix}${spec.name}=${etcdIpOf(index)}`).join(',');
  if (etcdNet !== undefined && !world.modules.has('etcd')) {
    world.registerModule('etcd', etcdMemberMain);
    world.registerModule('kubelet', kubeletMain);
  }
  const masters = options.masters.map((spec, index) => {
    const host = world.host(`${prefix}${spec.name}`, { schedulerJitterMs: 4 });
    world.attach(host, lan, `198.18.${subnet}.${11 + index}/24`, { iface: VRRP_IFACE });
    if (etcdNet !== undefined) world.attach(host, etcdNet, `${etcdIpOf(index)}/24`, { iface: 'eth1' });
    const conf: ProductConfOptions = { vip, password: AUTH_PASS, ...options.conf, ...spec.conf };
    confs.set(host.name, conf);
    world.engine.schedule(spec.bootAtMs, () => {
      host.onBoot(async (platform) => {
        await platform.files.mkdir('/etc/keepalived', { recursive: true });
        await platform.files.writeFile(KEEPALIVED_CONF_PATH, renderProductKeepalivedConf(conf));
        // The apiserver first: keepalived's first health check must find it.
        if (etcdNet === undefined) await platform.processes.start({ name: 'apiserver', module: 'apiserver' });
        else {
          await platform.processes.start({ name: 'etcd', module: 'etcd', args: ['--name', host.name, '--initial-cluster', initialCluster, '--data-dir', '/var/lib/etcd'] });
          await platform.processes.start({ name: 'apiserver', module: 'apiserver', args: ['--etcd', `127.0.0.1:${CLIENT_PORT}`] });
        }
        await platform.processes.start({ name: 'keepalived', module: 'keepalived', args: ['-f', KEEPALIVED_CONF_PATH, '-n', '-l'] });
      });
    });
    return host;
  });

  const probes: ProbeRecord[] = [];
  const workers = Array.from({ length: options.workers }, (_, index) => {
    const host = world.host(`${prefix}w${index + 1}`);
    world.attach(host, lan, `198.18.${subnet}.${21 + index}/24`, { iface: VRRP_IFACE });
    host.onBoot((platform) =>
      startApiProbes(platform, {
        worker: host.name,
        host: vip,
        port: APISERVER_PORT,
        intervalMs: probeIntervalMs,
        timeoutMs: PROBE_TIMEOUT_MS,
        runStartMs: world.engine.startMs,
        records: probes,
        recordsMax: PROBE_RECORDS_MAX,
      }),
    );
    // With an etcd-backed API, each worker's kubelet registers its node and renews its lease through the VIP.
    if (etcdNet !== undefined) host.onBoot((platform) => platform.processes.start({ name: 'kubelet', module: 'kubelet', args: ['--apiserver', `${vip}:${APISERVER_PORT}`, '--node', host.name] }));
    return host;
  });

  const observer = new VipObserver(world, vip);
  return {
    world,
    vip,
    masters,
    workers,
    observer,
    probes,
    confOf: (master) => {
      const conf = confs.get(master);
      if (conf === undefined) throw new Error(`no master named ${master}`);
      return conf;
    },
  };
}
