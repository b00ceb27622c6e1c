// nat-proxy: six hosts reach the DU only through comms — two directly, two
// from behind a masquerading NAT, two from behind the NAT and an
// authenticating HTTP CONNECT proxy — pulling images from the DU's registry
// and calling its REST API, while the NAT's uplink loses frames, the proxy is
// cut off from the DU, and the proxy and the gateway restart.
//
//   lan 198.19.1.0/24              wan 198.18.0.0/24                dc 198.18.1.0/24
//   n1 n2 p1 p2 ── nat(masq) ───── proxy:3128, d1 d2 ── r1 ───────── du:443 (gateway)
//                                                                    registry:5000, api:8080
//
// Every host runs comms: 127.0.0.1:5001 → SNI registry.du.pf9lab,
// 127.0.0.1:5002 → SNI api.du.pf9lab, with a host certificate it enrolls at
// boot with the DU CA (key, CSR, the CA signs; files on its own disk). The
// DU gateway routes registry.du.pf9lab → registry:5000, api.du.pf9lab → api:8080.
//
// Story (fault times drawn from the seed):
//    1 s     every host starts pulling images and PUT/GET-ing items, in loops
//   ~4-13 s  the NAT's uplink loses 20% of its frames
//  ~14-20 s  the proxy is cut off from the DU network
//  ~21-23 s  the proxy process restarts
//  ~24-27 s  the gateway process restarts
//   30 s     quiet: every pull and call started from now on must succeed
//   45 s     the loops stop
//
// Fuzzed (`fuzz` below): one host per kind of access, any fault until 20 s.
import type { FuzzProfile, Scenario, ScenarioOptions, ScenarioRun } from '../sim/scenario.js';
import { invariant } from '../sim/scenario.js';
import { World } from '../sim/network/world.js';
import type { SimHost } from '../sim/network/host.js';
import { Rng } from '../sim/network/rng.js';
import type { Fault } from '../sim/network/faults.js';
import { scheduleFaults } from '../sim/network/faults.js';
import type { Platform } from '../src/runtime/platform/types.js';
import { errorCode } from '../src/runtime/platform/errors.js';
import { startProxy } from '../src/runtime/proxy/proxy-service.js';
import { commsMain } from '../src/runtime/comms/main.js';
import type { CommsService } from '../src/runtime/comms/service.js';
import { duGatewayMain } from '../src/runtime/du/main.js';
import {
  createRootCa, enrollHostCertificate, issueGatewayCertificate, loadHostIdentity, recoverHostIdentity, seededKeySource, signHostCsr,
  type CertificateAuthority, type GatewayCertificate,
} from '../src/runtime/pki/index.js';
import { DU_NETWORK_IPS, buildDuNetwork } from '../sim/workloads/du-network.js';
import { makeImage, pullImage, serveRegistry, type PullRecord, type RegistryImage } from '../sim/workloads/registry.js';
import { RestEchoState, requestLineTap, restCall, serveRestEcho, type BackendRequest, type RestCallRecord } from '../sim/workloads/rest-echo.js';

const DU_IP = DU_NETWORK_IPS.du;
const REGISTRY_IP = '198.18.1.20';
const API_IP = '198.18.1.21';
const PROXY_IP = DU_NETWORK_IPS.proxy;
const REGISTRY_PORT = 5000;
const API_PORT = 8080;
const PROXY_PORT = 3128;
const PROXY_USER = { username: 'lab', password: 'nat-proxy' };
const DU_NAME = 'du.pf9lab';
const SERVICES = [
  { name: 'registry', listenPort: 5001, sni: 'registry.du.pf9lab' },
  { name: 'api', listenPort: 5002, sni: 'api.du.pf9lab' },
] as const;
const REGISTRY_LOCAL = 5001;
const API_LOCAL = 5002;
const CERT_DIR = '/etc/pf9/certs';

const WORKLOAD_START_MS = 1_000;
/** No fault after this; every pull and call started from here must succeed. */
const QUIET_AT_MS = 30_000;
const WORKLOAD_END_MS = 45_000;
const DEADLINE_MS = 120_000;
const REQUEST_TIMEOUT_MS = 15_000;
const ITEM_IDS = ['a', 'b', 'c'] as const;

const TCP = { userTimeoutMs: 10_000, keepAliveIntervalMs: 1_000, keepAliveProbes: 3, synRetries: 3 } as const;

type Access = 'direct' | 'nat' | 'proxy';
type Client = { name: string; access: Access };
const CLIENTS: readonly Client[] = [
  { name: 'd1', access: 'direct' },
  { name: 'd2', access: 'direct' },
  { name: 'n1', access: 'nat' },
  { name: 'n2', access: 'nat' },
  { name: 'p1', access: 'proxy' },
  { name: 'p2', access: 'proxy' },
];

const IMAGES: readonly { name: string; blobSizes: number[] }[] = [
  { name: 'pf9/pause', blobSizes: [2_000, 200_000] },
  { name: 'pf9/kube-proxy', blobSizes: [50_000, 120_000, 8_000] },
  { name: 'pf9/comms', blobSizes: [210_000, 30_000, 1_000] },
];

/** The default schedule: the four faults of the story, at times drawn from the seed. */
export function faultsFor(seed: number): Fault[] {
  const rng = Rng.fromSeed(seed).fork('nat-proxy/faults');
  const lossAtMs = 4_000 + rng.int(2_000);
  const lossEndMs = lossAtMs + 4_000 + rng.int(3_000);
  const cutAtMs = 14_000 + rng.int(2_000);
  const cutEndMs = cutAtMs + 2_000 + rng.int(2_000);
  return [
    { atMs: lossAtMs, kind: 'degrade', host: 'nat', iface: 'eth1', link: { lossRate: 0.2 } },
    { atMs: lossEndMs, kind: 'restore', host: 'nat', iface: 'eth1' },
    { atMs: cutAtMs, kind: 'partition', sideA: ['proxy'], sideB: ['r1', 'du'], id: 'proxy-du' },
    { atMs: cutEndMs, kind: 'heal', id: 'proxy-du' },
    { atMs: 21_000 + rng.int(2_000), kind: 'restart-process', host: 'proxy', process: 'proxy' },
    { atMs: 24_000 + rng.int(3_000), kind: 'restart-process', host: 'du', process: 'gateway' },
  ];
}

interface Lab {
  world: World;
  clients: SimHost[];
  registry: SimHost;
  api: SimHost;
}

/**
 * What differs between the story and a fuzz run: the story runs six hosts on
 * its own fault schedule; the fuzzer a world with one host per kind of access,
 * on a shorter clock, so that a campaign gets many runs.
 */
interface Shape {
  clients: readonly Client[];
  images: readonly { name: string; blobSizes: number[] }[];
  /** No fault after this (the story moves it past its last fault). */
  quietAtMs: number;
  /**
   * Every pull and call started this long after the quiet point must succeed.
   * What started earlier may still meet the faults' wake: a neighbour
   * resolution begun while a host was down fails its 3 s later, and the
   * connections queued on it with it, as Linux's do.
   */
  settleMs: number;
  workloadEndMs: number;
  deadlineMs: number;
}

const STORY: Shape = { clients: CLIENTS, images: IMAGES, quietAtMs: QUIET_AT_MS, settleMs: 0, workloadEndMs: WORKLOAD_END_MS, deadlineMs: DEADLINE_MS };

function buildWorld(seed: number, shape: Shape): Lab {
  const world = new World({ seed });
  const { lan, wan, dc } = buildDuNetwork(world, TCP);

  let natted = 0;
  let direct = 0;
  const clients = shape.clients.map(({ name, access }) => {
    const host = world.host(name, { tcp: TCP });
    if (access === 'direct') world.attach(host, wan, `198.18.0.${21 + direct++}/24`, { gateway: '198.18.0.254' });
    else world.attach(host, lan, `198.19.1.${11 + natted++}/24`, { gateway: '198.19.1.1' });
    return host;
  });

  const du = world.host('du', { tcp: TCP });
  world.attach(du, dc, `${DU_IP}/24`, { gateway: '198.18.1.1' });
  const registry = world.host('registry', { tcp: TCP });
  world.attach(registry, dc, `${REGISTRY_IP}/24`, { gateway: '198.18.1.1' });
  const api = world.host('api', { tcp: TCP });
  world.attach(api, dc, `${API_IP}/24`, { gateway: '198.18.1.1' });
  return { world, clients, registry, api };
}

interface DuPki {
  ca: CertificateAuthority;
  gateway: GatewayCertificate;
}

async function makePki(world: World): Promise<DuPki> {
  const rng = world.engine.rng.fork('nat-proxy/pki');
  const keySource = seededKeySource(rng.fork('keys'));
  const random = rng.fork('serials');
  const nowMs = world.engine.startMs;
  const ca = await createRootCa({ keySource, random, nowMs, commonName: 'pf9lab DU CA' });
  const gateway = await issueGatewayCertificate(ca, {
    keySource, random, nowMs, dnsNames: [DU_NAME, ...SERVICES.map((service) => service.sni)], ipAddresses: [DU_IP],
  });
  return { ca, gateway };
}

function gatewayConfig(): Record<string, unknown> {
  return {
    listen: { host: '0.0.0.0', port: 443 },
    tls: { certFile: '/etc/pf9lab/du.crt', keyFile: '/etc/pf9lab/du.key', caFile: '/etc/pf9lab/ca.crt' },
    services: [
      { sni: 'registry.du.pf9lab', backend: { host: REGISTRY_IP, port: REGISTRY_PORT } },
      { sni: 'api.du.pf9lab', backend: { host: API_IP, port: API_PORT } },
    ],
    idleTimeoutMs: 60_000,
    connectTimeoutMs: 5_000,
    handshakeTimeoutMs: 10_000,
  };
}

function commsConfig(access: Access): Record<string, unknown> {
  return {
    du: { host: DU_IP, port: 443, serverName: DU_NAME },
    ...(access === 'proxy' ? { proxy: { url: `http://${PROXY_USER.username}:${PROXY_USER.password}@${PROXY_IP}:${PROXY_PORT}` } } : {}),
    tls: { caFile: `${CERT_DIR}/ca.pem`, certFile: `${CERT_DIR}/host.pem`, keyFile: `${CERT_DIR}/host.key`, reloadIntervalMs: 5_000 },
    services: SERVICES.map((service) => ({ ...service })),
    status: { listenPort: 9500 },
    limits: { dialAttemptsMax: 3, backoffBaseMs: 200, backoffCapMs: 2_000, idleTimeoutMs: 60_000, keepAliveIdleMs: 5_000 },
  };
}

/**
 * Boot: the host's identity survives a crash (finishing or discarding a
 * half-done rotation, as the PKI prescribes); the first boot enrolls — a key
 * from the host's seeded stream, a CSR, the DU CA signs. Then comms starts on
 * those files.
 */
async function bootClient(platform: Platform, pki: DuPki, caRandom: Rng, access: Access): Promise<void> {
  const paths = { keyPath: `${CERT_DIR}/host.key`, certPath: `${CERT_DIR}/host.pem` };
  await platform.files.mkdir(CERT_DIR, { recursive: true });
  await platform.files.writeFile(`${CERT_DIR}/ca.pem`, pki.ca.certPem);
  await recoverHostIdentity(platform.files, paths);
  if (!(await hasIdentity(platform, paths))) {
    await enrollHostCertificate({
      hostId: platform.hostName,
      keySource: seededKeySource(platform.random),
      sign: async (csrPem) => signHostCsr(pki.ca, csrPem, { random: caRandom, nowMs: platform.clock.now(), expectedHostId: platform.hostName }),
      files: platform.files,
      paths,
    });
  }
  await platform.files.writeFile('/etc/pf9/comms.json', JSON.stringify(commsConfig(access), null, 2));
  await platform.processes.start({ name: 'comms', module: 'comms', args: ['--config', '/etc/pf9/comms.json'] });
}

/** A first boot has no identity yet; any other problem with it (a torn or mismatched pair) is a failure, not a reason to enroll again. */
async function hasIdentity(platform: Platform, paths: { keyPath: string; certPath: string }): Promise<boolean> {
  try {
    await loadHostIdentity(platform.files, paths);
    return true;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false;
    throw error;
  }
}

interface Ledger {
  pulls: PullRecord[];
  calls: RestCallRecord[];
  /** Loops running on each host since its last boot; a crash abandons them (their awaits never settle). */
  loopsRunning: Map<string, number>;
}

async function pullLoop(world: World, host: SimHost, images: readonly RegistryImage[], ledger: Ledger, shape: Shape): Promise<void> {
  const platform = host.platform;
  while (world.engine.elapsedMs() < shape.workloadEndMs && host.up) {
    const image = images[platform.random.int(images.length)] as RegistryImage;
    ledger.pulls.push(
      await pullImage(platform, { client: host.name, image: image.name, host: '127.0.0.1', port: REGISTRY_LOCAL, timeoutMs: REQUEST_TIMEOUT_MS, runStartMs: world.engine.startMs }),
    );
    await platform.clock.sleep(1_000 + platform.random.int(1_000));
  }
}

/**
 * PUT values are unique across the host's boots (the boot is part of them).
 * A PUT is in the ledger from the moment it is sent, as an unknown outcome:
 * if the host crashes while it is in flight, its promise never settles, but
 * the DU may still apply it, so a later GET may rightly return its value.
 */
async function restLoop(world: World, host: SimHost, ledger: Ledger, shape: Shape, boot: number): Promise<void> {
  const platform = host.platform;
  let sequence = 0;
  const call = (method: 'GET' | 'PUT', id: string, value?: string): Promise<RestCallRecord> =>
    restCall(platform, {
      client: host.name, method, id, host: '127.0.0.1', port: API_LOCAL, timeoutMs: REQUEST_TIMEOUT_MS, runStartMs: world.engine.startMs,
      ...(value === undefined ? {} : { value }),
    });
  while (world.engine.elapsedMs() < shape.workloadEndMs && host.up) {
    const putId = ITEM_IDS[platform.random.int(ITEM_IDS.length)] as string;
    const value = `${host.name}-${putId}-${boot}.${++sequence}`;
    const sentAtMs = world.engine.elapsedMs();
    const slot = ledger.calls.push({
      client: host.name, method: 'PUT', id: putId, startedAtMs: sentAtMs, endedAtMs: sentAtMs, state: 'failed', value, detail: 'no answer: the host crashed with the call in flight',
    }) - 1;
    ledger.calls[slot] = await call('PUT', putId, value);
    ledger.calls.push(await call('GET', ITEM_IDS[platform.random.int(ITEM_IDS.length)] as string));
    await platform.clock.sleep(500 + platform.random.int(1_000));
  }
}

function run({ seed, faults = faultsFor(seed) }: ScenarioOptions): Promise<ScenarioRun> {
  return runNatProxy(seed, faults, { ...STORY, quietAtMs: Math.max(QUIET_AT_MS, ...faults.map((fault) => fault.atMs)) });
}

async function runNatProxy(seed: number, faults: Fault[], shape: Shape): Promise<ScenarioRun> {
  const { world, clients, registry, api } = buildWorld(seed, shape);
  const pki = await makePki(world);
  const caRandom = world.engine.rng.fork('nat-proxy/ca-serials');
  const images = shape.images.map((image) => makeImage(registry.platform, image.name, image.blobSizes));
  const registryRequests: BackendRequest[] = [];
  const restState = new RestEchoState();
  const comms = new Map<string, CommsService[]>();
  const ledger: Ledger = { pulls: [], calls: [], loopsRunning: new Map() };

  world.registerModule('comms', async (platform, args) => {
    const service = (await commsMain(platform, args)) as CommsService;
    comms.set(platform.hostName, [...(comms.get(platform.hostName) ?? []), service]);
    return service;
  });
  world.registerModule('du-gateway', duGatewayMain);
  world.registerModule('http-proxy', (platform) =>
    startProxy(platform, {
      listen: { host: '0.0.0.0', port: PROXY_PORT },
      users: [PROXY_USER],
      allowedPorts: [443],
      idleTimeoutMs: 60_000,
      connectTimeoutMs: 10_000,
    }),
  );
  world.registerModule('registry', async (platform) => {
    const server = await serveRegistry(requestLineTap(platform, registryRequests), REGISTRY_PORT, images);
    return { stop: () => server.close() };
  });
  world.registerModule('rest-echo', async (platform) => {
    const server = await serveRestEcho(platform, API_PORT, restState);
    return { stop: () => server.close() };
  });

  world.getHost('proxy').onBoot((platform) => platform.processes.start({ name: 'proxy', module: 'http-proxy' }));
  registry.onBoot((platform) => platform.processes.start({ name: 'registry', module: 'registry' }));
  api.onBoot((platform) => platform.processes.start({ name: 'rest-echo', module: 'rest-echo' }));
  world.getHost('du').onBoot(async (platform) => {
    await platform.files.mkdir('/etc/pf9lab', { recursive: true });
    await platform.files.writeFile('/etc/pf9lab/du.crt', pki.gateway.certPem);
    await platform.files.writeFile('/etc/pf9lab/du.key', pki.gateway.keyPem, { mode: 0o600 });
    await platform.files.writeFile('/etc/pf9lab/ca.crt', pki.ca.certPem);
    await platform.files.writeFile('/etc/pf9lab/du-gateway.json', JSON.stringify(gatewayConfig(), null, 2));
    await platform.processes.start({ name: 'gateway', module: 'du-gateway', args: ['--config', '/etc/pf9lab/du-gateway.json'] });
  });
  // A host's loops start once comms is up, at the first boot staggered from
  // WORKLOAD_START_MS, after a reboot at once; a crash abandons them.
  const boots = new Map<string, number>();
  world.engine.trace.subscribe('host.crash', (event) => ledger.loopsRunning.set(event.host, 0));
  clients.forEach((host, index) => {
    const access = (shape.clients[index] as Client).access;
    host.onBoot(async (platform) => {
      const boot = (boots.get(host.name) ?? 0) + 1;
      boots.set(host.name, boot);
      await bootClient(platform, pki, caRandom, access);
      await platform.clock.sleep(Math.max(0, WORKLOAD_START_MS + index * 53 - world.engine.elapsedMs()));
      if (world.engine.elapsedMs() >= shape.workloadEndMs) return;
      for (const loop of [() => pullLoop(world, host, images, ledger, shape), () => restLoop(world, host, ledger, shape, boot)]) {
        ledger.loopsRunning.set(host.name, (ledger.loopsRunning.get(host.name) ?? 0) + 1);
        void loop()
          .catch((error: unknown) => world.recordFailure(host.name, error))
          .finally(() => {
            if (boots.get(host.name) === boot) ledger.loopsRunning.set(host.name, (ledger.loopsRunning.get(host.name) ?? 1) - 1);
          });
      }
    });
  });
  scheduleFaults(world, faults);

  const loopsRunning = (): number => [...ledger.loopsRunning.values()].reduce((sum, count) => sum + count, 0);
  await world.run({ untilMs: shape.deadlineMs, stopWhen: () => world.engine.elapsedMs() > shape.workloadEndMs && loopsRunning() === 0 });

  const quietAtMs = shape.quietAtMs + shape.settleMs;
  const tunnels = new Map(clients.map((host) => [host.name, (comms.get(host.name) ?? []).reduce((sum, service) => sum + service.metrics().tunnelsTotal, 0)]));
  return {
    world,
    faults,
    invariants: [
      checkPulls(ledger.pulls),
      checkCalls(ledger.calls),
      checkTruncation(ledger.pulls, ledger.calls, faults),
      checkIsolation('registry', registryRequests, '/v2/'),
      checkIsolation('REST API', restState.requests, '/api/'),
      checkLiveness(clients.map((host) => host.name), ledger, quietAtMs),
      invariant(
        "every host's comms tunnelled",
        [...tunnels.values()].every((count) => count > 0),
        [...tunnels.entries()].map(([host, count]) => `${host}: ${count}`).join(', '),
      ),
    ],
    metrics: metricsOf(world, ledger, registryRequests, restState, comms),
  };
}

function checkPulls(pulls: readonly PullRecord[]) {
  const corrupt = pulls.filter((pull) => pull.state === 'corrupt');
  const ok = pulls.filter((pull) => pull.state === 'ok');
  return invariant(
    'no pull delivers a wrong blob',
    corrupt.length === 0,
    corrupt.length === 0
      ? `${pulls.length} pulls: ${ok.length} verified every digest (${ok.reduce((sum, pull) => sum + pull.bytes, 0)} bytes), ${pulls.length - ok.length} failed`
      : corrupt.slice(0, 5).map((pull) => `${pull.client} ${pull.image} at ${pull.startedAtMs} ms: ${pull.detail}`).join('; '),
  );
}

/**
 * Tunnel integrity's "never a silent truncation": no answer may end cleanly
 * (a FIN, no error) before it is complete, since every failure in comms, the
 * gateway and the proxy is a reset. The one excuse is the backend itself
 * stopping mid-answer: a process that exits closes its sockets with a FIN,
 * as Linux does, and the tunnel passes that end on faithfully.
 */
function checkTruncation(pulls: readonly PullRecord[], calls: readonly RestCallRecord[], faults: readonly Fault[]) {
  const stopsOf = (process: string): number[] =>
    faults.filter((fault) => (fault.kind === 'stop-process' || fault.kind === 'restart-process') && fault.process === process).map((fault) => fault.atMs);
  const registryStops = stopsOf('registry');
  const apiStops = stopsOf('rest-echo');
  const excused = (record: { startedAtMs: number; endedAtMs: number }, stops: readonly number[]): boolean =>
    stops.some((atMs) => atMs >= record.startedAtMs && atMs <= record.endedAtMs);
  const truncated = [
    ...pulls.filter((pull) => pull.state === 'truncated').map((pull) => ({ what: `${pull.client} pull ${pull.image}`, record: pull, stops: registryStops })),
    ...calls.filter((call) => call.state === 'truncated').map((call) => ({ what: `${call.client} ${call.method} ${call.id}`, record: call, stops: apiStops })),
  ];
  const silent = truncated.filter((entry) => !excused(entry.record, entry.stops));
  return invariant(
    'no answer ends cleanly before it is complete (silent truncation)',
    silent.length === 0,
    silent.length === 0
      ? `${pulls.length} pulls and ${calls.length} calls; ${truncated.length === 0 ? 'none ended short' : `${truncated.length} ended short, each while its backend stopped`}`
      : silent.slice(0, 5).map((entry) => `${entry.what} at ${entry.record.startedAtMs} ms: ${entry.record.detail}`).join('; '),
  );
}

/**
 * Per host and item, in the host's order of calls (its REST loop is
 * sequential): a GET must return the value of the last PUT the backend
 * acknowledged, or of a PUT whose outcome the client never learned (it
 * failed, so it may or may not have been applied, possibly late), or 404 if
 * no PUT was acknowledged yet. Values are unique, so another host's value,
 * another item's, or a stale acknowledged one is caught.
 */
function checkCalls(calls: readonly RestCallRecord[]) {
  const problems: string[] = [];
  const acceptable = new Map<string, { acked: string | undefined; unknown: Set<string> }>();
  for (const call of calls) {
    const key = `${call.client}/${call.id}`;
    const known = acceptable.get(key) ?? { acked: undefined, unknown: new Set<string>() };
    acceptable.set(key, known);
    if (call.state === 'wrong') {
      problems.push(`${call.client} ${call.method} ${call.id} at ${call.startedAtMs} ms: ${call.detail}`);
      continue;
    }
    if (call.method === 'PUT') {
      if (call.state === 'ok') known.acked = call.value;
      else if (call.value !== undefined) known.unknown.add(call.value);
      continue;
    }
    if (call.state !== 'ok') continue;
    const fine = call.value === known.acked || (call.value !== undefined && known.unknown.has(call.value));
    if (!fine) {
      problems.push(`${call.client} GET ${call.id} at ${call.startedAtMs} ms returned ${JSON.stringify(call.value)}, last acknowledged PUT ${JSON.stringify(known.acked)}`);
    }
  }
  const gets = calls.filter((call) => call.method === 'GET');
  return invariant(
    'every REST GET returns what its host last PUT, or fails',
    problems.length === 0,
    problems.length === 0
      ? `${calls.length} calls; ${gets.filter((call) => call.state === 'ok').length} of ${gets.length} GETs answered, each with its host's own last value; ${calls.filter((call) => call.state === 'failed').length} calls failed`
      : problems.slice(0, 5).join('; '),
  );
}

function checkIsolation(backend: string, requests: readonly BackendRequest[], prefix: string) {
  const strays = requests.filter((request) => !request.path.startsWith(prefix));
  return invariant(
    `the ${backend} backend receives only ${prefix}... requests`,
    requests.length > 0 && strays.length === 0,
    requests.length === 0
      ? 'it received nothing'
      : strays.length === 0
        ? `${requests.length} requests, all under ${prefix}`
        : strays.slice(0, 5).map((request) => `${request.method} ${request.path}`).join('; '),
  );
}

function checkLiveness(hosts: readonly string[], ledger: Ledger, quietAtMs: number) {
  const problems: string[] = [];
  let counted = 0;
  for (const host of hosts) {
    const pulls = ledger.pulls.filter((pull) => pull.client === host && pull.startedAtMs >= quietAtMs);
    const calls = ledger.calls.filter((call) => call.client === host && call.startedAtMs >= quietAtMs);
    counted += pulls.length + calls.length;
    if (pulls.length === 0 || calls.length === 0) problems.push(`${host}: ${pulls.length} pulls and ${calls.length} calls after the quiet point`);
    for (const pull of pulls.filter((record) => record.state !== 'ok')) problems.push(`${host} pull ${pull.image} at ${pull.startedAtMs} ms: ${pull.detail}`);
    for (const call of calls.filter((record) => record.state !== 'ok')) problems.push(`${host} ${call.method} ${call.id} at ${call.startedAtMs} ms: ${call.detail}`);
  }
  return invariant(
    'after the faults, every pull and REST call succeeds',
    problems.length === 0,
    problems.length === 0 ? `${counted} pulls and calls started after ${quietAtMs / 1000} s, all succeeded` : problems.slice(0, 5).join('; '),
  );
}

function metricsOf(world: World, ledger: Ledger, registryRequests: readonly BackendRequest[], restState: RestEchoState, comms: ReadonlyMap<string, CommsService[]>) {
  // From comms' own counters (host logs are a bounded ring, and a restarted process starts its stats afresh).
  const services = [...comms.values()].flat();
  const failuresByReason: Record<string, number> = {};
  for (const service of services) {
    for (const [reason, count] of Object.entries(service.metrics().failures)) {
      if (count > 0) failuresByReason[reason] = (failuresByReason[reason] ?? 0) + count;
    }
  }
  return {
    'pulls.total': ledger.pulls.length,
    'pulls.ok': ledger.pulls.filter((pull) => pull.state === 'ok').length,
    'pulls.bytes': ledger.pulls.reduce((sum, pull) => sum + pull.bytes, 0),
    'rest.total': ledger.calls.length,
    'rest.ok': ledger.calls.filter((call) => call.state === 'ok').length,
    'comms.tunnels': services.reduce((sum, service) => sum + service.metrics().tunnelsTotal, 0),
    ...Object.fromEntries(Object.entries(failuresByReason).sort().map(([reason, count]) => [`comms.failed.${reason}`, count])),
    'registry.requests': registryRequests.length,
    'api.requests': restState.requests.length,
    'frames.lost': world.drops.get('loss') ?? 0,
    'frames.partitioned': world.drops.get('partition') ?? 0,
    'nat.mappings': world.getHost('nat').stack.nat?.stats.mappingsCreated ?? 0,
  };
}

/**
 * Fuzzed: one host of each access; anything in the world may break until
 * the quiet point — partitions, crashes (the hosts' identities and the DU's
 * files must survive them), lossy links, NAT flushes, the proxy, gateway,
 * backends and comms themselves stopped or restarted. Every pull and call
 * started after the quiet point must then succeed, and the story's safety
 * invariants hold throughout.
 */
const FUZZ_SHAPE: Shape = {
  clients: [
    { name: 'd1', access: 'direct' },
    { name: 'n1', access: 'nat' },
    { name: 'p1', access: 'proxy' },
  ],
  // A tenth of the story's bytes: a campaign's time goes to more schedules, not to moving bulk.
  images: IMAGES.map((image) => ({ name: image.name, blobSizes: image.blobSizes.map((size) => Math.ceil(size / 10)) })),
  quietAtMs: 20_000,
  // ARP gives up 3 s after its first request; one more second for the tunnel that met it.
  settleMs: 4_000,
  workloadEndMs: 34_000,
  deadlineMs: 64_000,
};
const FUZZ_SERVERS = ['nat', 'proxy', 'r1', 'du', 'registry', 'api'];
const FUZZ_HOSTS = [...FUZZ_SHAPE.clients.map((client) => client.name), ...FUZZ_SERVERS];

const fuzz: FuzzProfile = {
  topology: {
    hosts: FUZZ_HOSTS,
    crashable: FUZZ_HOSTS,
    degradable: FUZZ_HOSTS,
    processes: [
      { host: 'proxy', process: 'proxy' },
      { host: 'du', process: 'gateway' },
      { host: 'registry', process: 'registry' },
      { host: 'api', process: 'rest-echo' },
      ...FUZZ_SHAPE.clients.map((client) => ({ host: client.name, process: 'comms' })),
    ],
    nats: ['nat'],
    faultsFromMs: WORKLOAD_START_MS,
    quietAtMs: FUZZ_SHAPE.quietAtMs,
    episodesMax: 6,
  },
  convergeBoundMs: FUZZ_SHAPE.workloadEndMs - FUZZ_SHAPE.quietAtMs,
  runMs: FUZZ_SHAPE.deadlineMs,
  run: ({ seed, faults }) => runNatProxy(seed, faults, FUZZ_SHAPE),
};

export const natProxy: Scenario = {
  name: 'nat-proxy',
  summary: 'hosts direct, behind a NAT and behind an authenticating proxy pull images and call a REST API through comms and the DU gateway, through loss, a partition, and proxy and gateway restarts',
  run,
  fuzz,
};
