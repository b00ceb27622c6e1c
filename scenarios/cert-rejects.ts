// cert-rejects: a matrix of bad clients knock on the DU gateway, each on its
// own host, while one good host works through comms; every bad client is
// refused, for its own reason, and nothing of theirs reaches a backend.
//
//   wan 198.18.0.0/24                                  dc 198.18.1.0/24
//   good (comms) .20                                   du:443 (gateway) .10
//   no-cert .21  other-ca .22  expired .23   ── r1 ──  registry:5000 .20
//   not-yet-valid .24  revoked .25  unknown-sni .26    api:8080 .21
//   no-sni .27  stolen-key .28
//
// The good host enrolls with the DU CA at boot and runs comms (127.0.0.1:5001
// → SNI registry.du.pf9lab, 127.0.0.1:5002 → SNI api.du.pf9lab); from 1 s to
// 26 s it pulls images and PUTs and GETs items, before, between and after the
// bad clients' attempts. Each bad host dials the gateway itself with a raw
// TLS client (sim/workloads/tls-probe.ts) and writes a request naming a
// unique marker as soon as its handshake is done; it tries three times, at
// times drawn from the seed between 2.5 and 20 s:
//   no-cert        no client certificate                       → no-client-cert
//   other-ca       a host certificate from a second root CA
//                  with the DU CA's very name                  → bad-cert
//   expired        a DU certificate whose window ended 9 days
//                  before the run (virtual time)               → cert-expired
//   not-yet-valid  one whose window starts 10 days after it    → cert-not-yet-valid
//   revoked        a valid DU certificate: it gets through twice; then (7-8.5 s)
//                  the DU revokes its serial in the revocation file, the gateway
//                  reloads it within revocationReloadMs, and it is refused  → revoked
//   unknown-sni    a valid certificate, SNI admin.du.pf9lab    → unknown-sni
//   no-sni         a valid certificate, no SNI at all          → no-sni
//   stolen-key     the good host's own certificate, copied, with a key that
//                  only looks like its key                     → bad-signature
//
// Backends are tapped at the TCP level (every accepted connection and every
// byte), so a connection that delivers nothing is still seen.
import type { Scenario, ScenarioOptions, ScenarioRun } from '../sim/scenario.js';
import { invariant } from '../sim/scenario.js';
import { World } from '../sim/network/world.js';
import type { SimHost } from '../sim/network/host.js';
import type { Rng } from '../sim/network/rng.js';
import type { TraceValue } from '../sim/network/trace.js';
import { scheduleFaults } from '../sim/network/faults.js';
import type { Platform, StreamSocket } from '../src/runtime/platform/types.js';
import { configArgument, readJsonConfig } from '../src/runtime/config/load.js';
import { commsMain } from '../src/runtime/comms/main.js';
import type { CommsService } from '../src/runtime/comms/service.js';
import { loadDuGatewayConfig } from '../src/runtime/du/config.js';
import { startDuGateway, type DuGateway } from '../src/runtime/du/gateway.js';
import type { RefusalReason } from '../src/runtime/du/refusal.js';
import {
  DAY_MS, RevocationList, createHostCsr, createRootCa, enrollHostCertificate, issueGatewayCertificate, saveRevocationList, seededKeySource, signHostCsr,
  type CertificateAuthority, type GatewayCertificate, type RsaKeyPair,
} from '../src/runtime/pki/index.js';
import { makeImage, pullImage, serveRegistry, type PullRecord, type RegistryImage } from '../sim/workloads/registry.js';
import { RestEchoState, restCall, serveRestEcho, type RestCallRecord } from '../sim/workloads/rest-echo.js';
import { keyWithForeignSecret, probeTls, type ProbeCredentials, type ProbeEnd, type ProbeRecord } from '../sim/workloads/tls-probe.js';
import { tapAcceptedStreams } from '../sim/workloads/accept-tap.js';

const DU_IP = '198.18.1.10';
const REGISTRY_IP = '198.18.1.20';
const API_IP = '198.18.1.21';
const REGISTRY_PORT = 5000;
const API_PORT = 8080;
const DU_NAME = 'du.pf9lab';
const REGISTRY_SNI = 'registry.du.pf9lab';
const API_SNI = 'api.du.pf9lab';
const UNKNOWN_SNI = 'admin.du.pf9lab';
const SERVICES = [
  { name: 'registry', listenPort: 5001, sni: REGISTRY_SNI },
  { name: 'api', listenPort: 5002, sni: API_SNI },
] as const;
const REGISTRY_LOCAL = 5001;
const API_LOCAL = 5002;
const CERT_DIR = '/etc/pf9/certs';
const DU_DIR = '/etc/pf9lab';
const REVOCATION_FILE = `${DU_DIR}/revoked.json`;
const GOOD_HOST = 'good';

const WORKLOAD_START_MS = 1_000;
const GOOD_END_MS = 26_000;
const DEADLINE_MS = 60_000;
const REQUEST_TIMEOUT_MS = 10_000;
const PROBE_TIMEOUT_MS = 5_000;
const REVOCATION_RELOAD_MS = 1_000;
const ATTEMPTS_PER_KIND = 3;
const REVOKED_ATTEMPTS_BEFORE = 2;
/** Every bad client's payload names this; no backend may ever see it. */
const MARKER = 'pf9lab-reject';
const ITEM_IDS = ['a', 'b', 'c'] as const;

const TCP = { userTimeoutMs: 10_000, keepAliveIntervalMs: 1_000, keepAliveProbes: 3, synRetries: 3 } as const;

type BadHost = 'no-cert' | 'other-ca' | 'expired' | 'not-yet-valid' | 'revoked' | 'unknown-sni' | 'no-sni' | 'stolen-key';

interface BadKind {
  host: BadHost;
  /** What the gateway must log and count for each of its attempts. */
  reason: RefusalReason;
  label: string;
  /** The SNI it sends on attempt n (1-based); '' for none. */
  servername(attempt: number): string;
  /**
   * How the client may see its connection end. A certificate refusal is a
   * reset, as haproxy's `verify required`; an unrouted name a close without
   * a byte (DESIGN.md, "Measured on the real components"). A bad signature
   * fails the handshake itself: the server's alert 51 (decrypt_error), or the
   * reset that follows it if that overtakes it.
   */
  clientSees: readonly ProbeEnd[];
}

/** Alternating registry and api, so both backends are knocked on. */
const serviceSni = (attempt: number): string => (attempt % 2 === 1 ? REGISTRY_SNI : API_SNI);

const RESET: readonly ProbeEnd[] = ['reset'];
const CLOSED: readonly ProbeEnd[] = ['closed'];

const BAD_KINDS: readonly BadKind[] = [
  { host: 'no-cert', reason: 'no-client-cert', label: 'no client certificate', servername: serviceSni, clientSees: RESET },
  { host: 'other-ca', reason: 'bad-cert', label: 'a certificate from another CA of the same name', servername: serviceSni, clientSees: RESET },
  { host: 'expired', reason: 'cert-expired', label: 'an expired certificate', servername: serviceSni, clientSees: RESET },
  { host: 'not-yet-valid', reason: 'cert-not-yet-valid', label: 'a not yet valid certificate', servername: serviceSni, clientSees: RESET },
  { host: 'revoked', reason: 'revoked', label: 'a certificate revoked during the run', servername: serviceSni, clientSees: RESET },
  { host: 'unknown-sni', reason: 'unknown-sni', label: 'an unknown SNI', servername: () => UNKNOWN_SNI, clientSees: CLOSED },
  { host: 'no-sni', reason: 'no-sni', label: 'no SNI', servername: () => '', clientSees: CLOSED },
  { host: 'stolen-key', reason: 'bad-signature', label: 'a copied certificate without its key', servername: serviceSni, clientSees: ['alert', 'reset'] },
];

const IMAGES: readonly { name: string; blobSizes: number[] }[] = [
  { name: 'pf9/pause', blobSizes: [2_000, 20_000] },
  { name: 'pf9/kube-proxy', blobSizes: [30_000, 8_000] },
];

const goodIp = '198.18.0.20';
const badIp = (index: number): string => `198.18.0.${21 + index}`;

/** When things happen, drawn from the seed. */
interface Schedule {
  /** Per bad host, the start of each refused attempt (ms since the run's start). */
  attemptsAtMs: ReadonlyMap<BadHost, readonly number[]>;
  /** The revoked host's attempts before its revocation, which must get through. */
  revokedBeforeAtMs: readonly number[];
  revokeAtMs: number;
}

function scheduleFor(rng: Rng): Schedule {
  const revokeAtMs = 7_000 + rng.int(1_500);
  const attemptsAtMs = new Map<BadHost, number[]>();
  for (const kind of BAD_KINDS) {
    const times: number[] = [];
    for (let i = 0; i < ATTEMPTS_PER_KIND; i++) {
      // The revoked host's refused attempts come after its revocation has had time to load.
      times.push(kind.host === 'revoked' ? revokeAtMs + 2_500 + i * 3_500 + rng.int(2_000) : 2_500 + i * 6_000 + rng.int(5_000));
    }
    attemptsAtMs.set(kind.host, times);
  }
  return { attemptsAtMs, revokedBeforeAtMs: [2_500 + rng.int(2_000), 5_000 + rng.int(1_500)], revokeAtMs };
}

interface Lab {
  world: World;
  good: SimHost;
  bad: Map<BadHost, SimHost>;
  registry: SimHost;
  api: SimHost;
  du: SimHost;
}

function buildWorld(seed: number): Lab {
  const world = new World({ seed });
  const wan = world.segment('wan', { latencyMs: 2, jitterMs: 1, distribution: 'normal', bandwidthBytesPerSec: 12_500_000 });
  const dc = world.segment('dc', { latencyMs: 0.5 });
  const r1 = world.router('r1');
  world.attach(r1, wan, '198.18.0.254/24');
  world.attach(r1, dc, '198.18.1.1/24');
  const good = world.host(GOOD_HOST, { tcp: TCP });
  world.attach(good, wan, `${goodIp}/24`, { gateway: '198.18.0.254' });
  const bad = new Map<BadHost, SimHost>();
  BAD_KINDS.forEach((kind, index) => {
    const host = world.host(kind.host, { tcp: TCP });
    world.attach(host, wan, `${badIp(index)}/24`, { gateway: '198.18.0.254' });
    bad.set(kind.host, host);
  });
  const du = world.host('du', { tcp: TCP });
  world.attach(du, dc, `${DU_IP}/24`, { gateway: '198.18.1.1' });
  const registry = world.host('registry', { tcp: TCP });
  world.attach(registry, dc, `${REGISTRY_IP}/24`, { gateway: '198.18.1.1' });
  const api = world.host('api', { tcp: TCP });
  world.attach(api, dc, `${API_IP}/24`, { gateway: '198.18.1.1' });
  return { world, good, bad, registry, api, du };
}

interface DuPki {
  ca: CertificateAuthority;
  gateway: GatewayCertificate;
  /** What each bad host presents, except stolen-key's (made once the good host has its certificate). */
  credentials: Map<BadHost, ProbeCredentials | undefined>;
  revokedSerialHex: string;
  /** The stolen-key host's own key, whose secret half it pairs with the copied certificate. */
  thiefKey: RsaKeyPair;
}

async function makePki(world: World): Promise<DuPki> {
  const rng = world.engine.rng.fork('cert-rejects/pki');
  const keySource = seededKeySource(rng.fork('keys'));
  const random = rng.fork('serials');
  const nowMs = world.engine.startMs;
  const ca = await createRootCa({ keySource, random, nowMs, commonName: 'pf9lab DU CA' });
  // An impostor CA with the DU CA's very name: only the signature tells them apart.
  const otherCa = await createRootCa({ keySource, random, nowMs, commonName: 'pf9lab DU CA' });
  const gateway = await issueGatewayCertificate(ca, {
    keySource, random, nowMs, dnsNames: [DU_NAME, REGISTRY_SNI, API_SNI, UNKNOWN_SNI], ipAddresses: [DU_IP],
  });
  const issue = async (issuer: CertificateAuthority, hostId: string, window: { nowMs: number; lifetimeMs: number }): Promise<ProbeCredentials & { serialHex: string }> => {
    const key = await keySource.generateRsaKey();
    const issued = signHostCsr(issuer, createHostCsr(hostId, key), { random, ...window, expectedHostId: hostId });
    return { certPem: issued.certPem, keyPem: key.privateKeyPem, serialHex: issued.serialHex };
  };
  const year = { nowMs, lifetimeMs: 365 * DAY_MS };
  const revoked = await issue(ca, 'revoked', year);
  const credentials = new Map<BadHost, ProbeCredentials | undefined>([
    ['no-cert', undefined],
    ['other-ca', await issue(otherCa, 'other-ca', year)],
    // Windows in VIRTUAL time: the gateway judges them on the platform clock (pki/README.md, "Time").
    ['expired', await issue(ca, 'expired', { nowMs: nowMs - 10 * DAY_MS, lifetimeMs: DAY_MS })],
    ['not-yet-valid', await issue(ca, 'not-yet-valid', { nowMs: nowMs + 10 * DAY_MS, lifetimeMs: 365 * DAY_MS })],
    ['revoked', revoked],
    ['unknown-sni', await issue(ca, 'unknown-sni', year)],
    ['no-sni', await issue(ca, 'no-sni', year)],
  ]);
  return { ca, gateway, credentials, revokedSerialHex: revoked.serialHex, thiefKey: await keySource.generateRsaKey() };
}

function gatewayConfig(): Record<string, unknown> {
  return {
    listen: { host: '0.0.0.0', port: 443 },
    tls: { certFile: `${DU_DIR}/du.crt`, keyFile: `${DU_DIR}/du.key`, caFile: `${DU_DIR}/ca.crt`, revocationFile: REVOCATION_FILE },
    services: [
      { sni: REGISTRY_SNI, backend: { host: REGISTRY_IP, port: REGISTRY_PORT } },
      { sni: API_SNI, backend: { host: API_IP, port: API_PORT } },
    ],
    idleTimeoutMs: 60_000,
    connectTimeoutMs: 5_000,
    handshakeTimeoutMs: 5_000,
    revocationReloadMs: REVOCATION_RELOAD_MS,
  };
}

function commsConfig(): Record<string, unknown> {
  return {
    du: { host: DU_IP, port: 443, serverName: DU_NAME },
    tls: { caFile: `${CERT_DIR}/ca.pem`, certFile: `${CERT_DIR}/host.pem`, keyFile: `${CERT_DIR}/host.key`, reloadIntervalMs: 5_000 },
    services: SERVICES.map((service) => ({ ...service })),
    status: { listenPort: 9500 },
    limits: { dialAttemptsMax: 3, backoffBaseMs: 200, backoffCapMs: 2_000, idleTimeoutMs: 60_000 },
  };
}

/** What a backend received, at the TCP level: every connection, every byte, and any marker. */
interface BackendTap {
  connections: number;
  bytes: number;
  markers: number;
}

/**
 * A platform whose stream listeners count every accepted connection and every
 * byte received before the server sees them, and look for MARKER across
 * chunk boundaries (the tail of each chunk is kept).
 */
function byteTap(platform: Platform, tap: BackendTap): Platform {
  const watch = (socket: StreamSocket): void => {
    tap.connections += 1;
    let tail = '';
    socket.on('data', (chunk: Buffer) => {
      tap.bytes += chunk.length;
      const text = tail + chunk.toString('latin1');
      for (let at = text.indexOf(MARKER); at >= 0; at = text.indexOf(MARKER, at + 1)) tap.markers += 1;
      tail = text.slice(-(MARKER.length - 1));
    });
  };
  return tapAcceptedStreams(platform, watch);
}

/** One event of the gateway's log, as the trace carried it. */
interface GatewayEvent {
  atMs: number;
  event: string;
  fields: Readonly<Record<string, TraceValue | undefined>>;
}

interface Ledger {
  pulls: PullRecord[];
  calls: RestCallRecord[];
  probes: Map<BadHost, ProbeRecord[]>;
  revokedBefore: ProbeRecord[];
  /** When the DU's revocation file held the revoked serial (ms since start), once written. */
  revocationSavedAtMs: number | undefined;
  running: number;
}

function requestFor(host: string, attempt: number, servername: string, marked: boolean): string {
  const path = servername === API_SNI
    ? `/api/items/${marked ? `${MARKER}-${host}-${attempt}` : 'a'}`
    : `/v2/${marked ? `${MARKER}/${host}/${attempt}` : ''}`;
  return `GET ${path} HTTP/1.1\r\nhost: ${servername || DU_IP}\r\nx-pf9lab-host: ${host}\r\nconnection: close\r\n\r\n`;
}

async function goodLoop(world: World, host: SimHost, images: readonly RegistryImage[], ledger: Ledger): Promise<void> {
  const platform = host.platform;
  const runStartMs = world.engine.startMs;
  let sequence = 0;
  while (world.engine.elapsedMs() < GOOD_END_MS && host.up) {
    const image = images[platform.random.int(images.length)] as RegistryImage;
    ledger.pulls.push(await pullImage(platform, { client: host.name, image: image.name, host: '127.0.0.1', port: REGISTRY_LOCAL, timeoutMs: REQUEST_TIMEOUT_MS, runStartMs }));
    const id = ITEM_IDS[platform.random.int(ITEM_IDS.length)] as string;
    const call = { client: host.name, id, host: '127.0.0.1', port: API_LOCAL, timeoutMs: REQUEST_TIMEOUT_MS, runStartMs } as const;
    ledger.calls.push(await restCall(platform, { ...call, method: 'PUT', value: `${host.name}-${id}-${++sequence}` }));
    ledger.calls.push(await restCall(platform, { ...call, method: 'GET' }));
    await platform.clock.sleep(800 + platform.random.int(800));
  }
}

async function run({ seed, faults = [] }: ScenarioOptions): Promise<ScenarioRun> {
  const { world, good, bad, registry, api, du } = buildWorld(seed);
  const pki = await makePki(world);
  const schedule = scheduleFor(world.engine.rng.fork('cert-rejects/schedule'));
  const caRandom = world.engine.rng.fork('cert-rejects/ca-serials');
  const images = IMAGES.map((image) => makeImage(registry.platform, image.name, image.blobSizes));
  const taps = { registry: { connections: 0, bytes: 0, markers: 0 }, api: { connections: 0, bytes: 0, markers: 0 } };
  const gateways: DuGateway[] = [];
  const comms: CommsService[] = [];
  const gatewayEvents: GatewayEvent[] = [];
  const ledger: Ledger = { pulls: [], calls: [], probes: new Map(), revokedBefore: [], revocationSavedAtMs: undefined, running: 0 };
  /** The good host's certificate, as anyone who saw it on the wire could copy it. */
  let goodCertPem: string | undefined;

  // The gateway's own log, whole: a host's log ring is bounded, the trace is not.
  world.engine.trace.subscribe('log.', (event) => {
    const name = event.fields['event'];
    if (event.host === 'du' && (name === 'du.refused' || name === 'du.tunnel_opened' || name === 'du.revocations_loaded')) {
      gatewayEvents.push({ atMs: event.atMs, event: name, fields: event.fields });
    }
  });
  world.registerModule('comms', async (platform, args) => {
    const service = (await commsMain(platform, args)) as CommsService;
    comms.push(service);
    return service;
  });
  // duGatewayMain's three steps, keeping the gateway so its counters can be read.
  world.registerModule('du-gateway', async (platform, args) => {
    const file = configArgument(args, 'du-gateway');
    const gateway = await startDuGateway(platform, loadDuGatewayConfig(await readJsonConfig(platform.files, file), file));
    gateways.push(gateway);
    return { stop: () => gateway.stop() };
  });
  world.registerModule('registry', async (platform) => {
    const server = await serveRegistry(byteTap(platform, taps.registry), REGISTRY_PORT, images);
    return { stop: () => server.close() };
  });
  world.registerModule('rest-echo', async (platform) => {
    const server = await serveRestEcho(byteTap(platform, taps.api), API_PORT, new RestEchoState());
    return { stop: () => server.close() };
  });

  registry.onBoot((platform) => platform.processes.start({ name: 'registry', module: 'registry' }));
  api.onBoot((platform) => platform.processes.start({ name: 'rest-echo', module: 'rest-echo' }));
  du.onBoot(async (platform) => {
    await platform.files.mkdir(DU_DIR, { recursive: true });
    await platform.files.writeFile(`${DU_DIR}/du.crt`, pki.gateway.certPem);
    await platform.files.writeFile(`${DU_DIR}/du.key`, pki.gateway.keyPem, { mode: 0o600 });
    await platform.files.writeFile(`${DU_DIR}/ca.crt`, pki.ca.certPem);
    await saveRevocationList(platform.files, REVOCATION_FILE, RevocationList.empty());
    await platform.files.writeFile(`${DU_DIR}/du-gateway.json`, JSON.stringify(gatewayConfig(), null, 2));
    await platform.processes.start({ name: 'gateway', module: 'du-gateway', args: ['--config', `${DU_DIR}/du-gateway.json`] });
  });
  good.onBoot(async (platform) => {
    await platform.files.mkdir(CERT_DIR, { recursive: true });
    await platform.files.writeFile(`${CERT_DIR}/ca.pem`, pki.ca.certPem);
    const issued = await enrollHostCertificate({
      hostId: platform.hostName,
      keySource: seededKeySource(platform.random),
      sign: async (csrPem) => signHostCsr(pki.ca, csrPem, { random: caRandom, nowMs: platform.clock.now(), expectedHostId: platform.hostName }),
      files: platform.files,
      paths: { keyPath: `${CERT_DIR}/host.key`, certPath: `${CERT_DIR}/host.pem` },
    });
    goodCertPem = issued.certPem;
    await platform.files.writeFile('/etc/pf9/comms.json', JSON.stringify(commsConfig(), null, 2));
    await platform.processes.start({ name: 'comms', module: 'comms', args: ['--config', '/etc/pf9/comms.json'] });
  });

  const track = (host: string, work: () => Promise<void>): void => {
    ledger.running++;
    void work()
      .catch((error: unknown) => world.recordFailure(host, error))
      .finally(() => ledger.running--);
  };
  world.engine.schedule(WORKLOAD_START_MS, () => track(GOOD_HOST, () => goodLoop(world, good, images, ledger)));

  const credentialsOf = (kind: BadKind): ProbeCredentials | undefined => {
    if (kind.host !== 'stolen-key') return pki.credentials.get(kind.host);
    if (goodCertPem === undefined) throw new Error('cert-rejects: the good host has no certificate to copy yet');
    return { certPem: goodCertPem, keyPem: keyWithForeignSecret(goodCertPem, pki.thiefKey.privateKey) };
  };
  const probe = (host: SimHost, kind: BadKind, attempt: number, marked: boolean): Promise<ProbeRecord> => {
    const servername = kind.servername(attempt);
    return probeTls(host.platform, {
      client: host.name, attempt, host: DU_IP, port: 443, servername, credentials: credentialsOf(kind), caPem: pki.ca.certPem,
      payload: requestFor(host.name, attempt, servername, marked), timeoutMs: PROBE_TIMEOUT_MS, runStartMs: world.engine.startMs,
    });
  };
  for (const kind of BAD_KINDS) {
    const host = bad.get(kind.host) as SimHost;
    const records: ProbeRecord[] = [];
    ledger.probes.set(kind.host, records);
    const before = kind.host === 'revoked' ? schedule.revokedBeforeAtMs.length : 0;
    (schedule.attemptsAtMs.get(kind.host) ?? []).forEach((atMs, index) => {
      world.engine.schedule(atMs, () => track(host.name, async () => {
        records.push(await probe(host, kind, before + index + 1, true));
      }));
    });
  }
  const revokedHost = bad.get('revoked') as SimHost;
  const revokedKind = BAD_KINDS.find((kind) => kind.host === 'revoked') as BadKind;
  schedule.revokedBeforeAtMs.forEach((atMs, index) => {
    world.engine.schedule(atMs, () => track(revokedHost.name, async () => {
      ledger.revokedBefore.push(await probe(revokedHost, revokedKind, index + 1, false));
    }));
  });
  // The DU revokes the serial: the CA side writes the list the gateway re-reads on its timer.
  world.engine.schedule(schedule.revokeAtMs, () => track('du', async () => {
    const list = RevocationList.empty().revoke({
      serialHex: pki.revokedSerialHex, reason: 'keyCompromise', revokedAtMs: du.platform.clock.now(), hostId: 'revoked',
    });
    await saveRevocationList(du.platform.files, REVOCATION_FILE, list);
    ledger.revocationSavedAtMs = world.engine.elapsedMs();
  }));

  // None of its own; a schedule given from outside (a replay) still applies.
  scheduleFaults(world, faults);
  await world.run({ untilMs: DEADLINE_MS, stopWhen: () => world.engine.elapsedMs() > GOOD_END_MS && ledger.running === 0 });

  const gateway = gateways[0];
  const facts: Facts = {
    ledger,
    schedule,
    taps,
    gatewayEvents,
    gateways: gateways.length,
    stats: gateway?.stats(),
    goodTunnels: comms.reduce((sum, service) => sum + service.metrics().tunnelsTotal, 0),
    hostOfIp: new Map([[goodIp, GOOD_HOST], ...BAD_KINDS.map((kind, index): [string, string] => [badIp(index), kind.host])]),
  };
  return {
    world,
    faults,
    invariants: [
      ...BAD_KINDS.map((kind) => checkKind(kind, facts)),
      checkRevocation(facts),
      checkNothingDelivered(facts),
      checkBackendAccounting(facts),
      checkGood(facts),
    ],
    metrics: metricsOf(facts),
  };
}

interface Facts {
  ledger: Ledger;
  schedule: Schedule;
  taps: { registry: BackendTap; api: BackendTap };
  gatewayEvents: readonly GatewayEvent[];
  gateways: number;
  stats: ReturnType<DuGateway['stats']> | undefined;
  goodTunnels: number;
  hostOfIp: ReadonlyMap<string, string>;
}

/** The host a gateway event's `remote` (ip:port) names, or '?' if it names none of ours. */
function hostOf(facts: Facts, event: GatewayEvent): string {
  const remote = event.fields['remote'];
  return typeof remote === 'string' ? (facts.hostOfIp.get(remote.split(':')[0] ?? '') ?? '?') : '?';
}

/** Refused: not one application byte, and the connection ended the way this kind's refusal ends. */
function refused(kind: BadKind, record: ProbeRecord): boolean {
  return record.bytesReceived === 0 && kind.clientSees.includes(record.end);
}

function describeProbe(record: ProbeRecord): string {
  const seen = record.errorCodes.length === 0 ? record.end : `${record.end} (${record.errorCodes.join(', ')})`;
  return `#${record.attempt} at ${(record.startedAtMs / 1000).toFixed(1)} s: ${record.secure ? 'secureConnect, ' : ''}${seen}, ${record.bytesReceived} bytes`;
}

/** Every attempt refused with no application byte, and the gateway logged and counted this kind's reason once per attempt. */
function checkKind(kind: BadKind, facts: Facts) {
  const records = facts.ledger.probes.get(kind.host) ?? [];
  const expected = facts.schedule.attemptsAtMs.get(kind.host)?.length ?? 0;
  const refusals = facts.gatewayEvents.filter((event) => event.event === 'du.refused' && event.fields['reason'] === kind.reason);
  const fromHost = refusals.filter((event) => hostOf(facts, event) === kind.host).length;
  // A handshake error leaves the gateway no stream to name (remote '?'); only this kind's reason is counted then.
  const unattributed = refusals.filter((event) => hostOf(facts, event) === '?').length;
  const strays = refusals.length - fromHost - unattributed;
  const counted = facts.stats?.refusedByReason[kind.reason] ?? 0;
  const passed = records.length === expected && records.every((record) => refused(kind, record)) && refusals.length === expected && strays === 0 && counted === expected;
  return invariant(
    `${kind.label} (${kind.host}): every attempt refused, as ${kind.reason}`,
    passed,
    `${records.length} of ${expected} attempts: ${records.map(describeProbe).join('; ')}; gateway: ${kind.reason} ×${counted} counted, ` +
      `${refusals.length} logged (${fromHost} from ${kind.host}${unattributed > 0 ? `, ${unattributed} without a remote` : ''}${strays > 0 ? `, ${strays} from OTHER hosts` : ''})`,
  );
}

/** The revoked host got through before its revocation, and was refused once the gateway had reloaded the list. */
function checkRevocation(facts: Facts) {
  const { ledger, schedule } = facts;
  const before = ledger.revokedBefore;
  const through = before.filter((record) => record.head.startsWith('HTTP/1.1 '));
  const savedAtMs = ledger.revocationSavedAtMs;
  const loaded = facts.gatewayEvents.find((event) => event.event === 'du.revocations_loaded' && event.fields['entries'] === 1);
  const lagMs = savedAtMs === undefined || loaded === undefined ? undefined : loaded.atMs - savedAtMs;
  const after = ledger.probes.get('revoked') ?? [];
  const revokedKind = BAD_KINDS.find((kind) => kind.host === 'revoked') as BadKind;
  const afterLoad = loaded !== undefined && after.every((record) => record.startedAtMs > loaded.atMs);
  const passed = through.length === REVOKED_ATTEMPTS_BEFORE && before.length === REVOKED_ATTEMPTS_BEFORE
    && lagMs !== undefined && lagMs >= 0 && lagMs <= REVOCATION_RELOAD_MS && afterLoad && after.length > 0 && after.every((record) => refused(revokedKind, record));
  return invariant(
    'the revoked host got through before its revocation and is refused after the gateway reloads the list',
    passed,
    `before: ${through.length} of ${before.length} got an HTTP answer from a backend (${before.map(describeProbe).join('; ')}); ` +
      `revoked at ${schedule.revokeAtMs} ms, file written at ${savedAtMs ?? 'never'} ms, loaded by the gateway ${lagMs === undefined ? 'never' : `${lagMs} ms later (bound ${REVOCATION_RELOAD_MS})`}; ` +
      `after: ${after.filter((record) => refused(revokedKind, record)).length} of ${after.length} refused, ${afterLoad ? 'all' : 'NOT all'} started after the reload`,
  );
}

/** No marker at any backend; no tunnel for a bad host, except the revoked host's before its revocation. */
function checkNothingDelivered(facts: Facts) {
  const { taps } = facts;
  const opened = facts.gatewayEvents.filter((event) => event.event === 'du.tunnel_opened');
  const byHost = new Map<string, number>();
  for (const event of opened) {
    const host = hostOf(facts, event);
    byHost.set(host, (byHost.get(host) ?? 0) + 1);
  }
  const badTunnels = [...byHost.entries()].filter(([host]) => host !== GOOD_HOST && host !== 'revoked');
  const revokedTunnels = byHost.get('revoked') ?? 0;
  const markers = taps.registry.markers + taps.api.markers;
  const passed = markers === 0 && badTunnels.length === 0 && revokedTunnels === REVOKED_ATTEMPTS_BEFORE;
  return invariant(
    'nothing from a bad client reaches a backend',
    passed,
    `markers seen: registry ${taps.registry.markers}, api ${taps.api.markers}; gateway tunnels by host: ` +
      `${[...byHost.entries()].sort().map(([host, count]) => `${host} ${count}`).join(', ')} (the revoked host's ${revokedTunnels} all before its revocation)`,
  );
}

/** Every backend connection is a tunnel the gateway opened, and every byte a backend got came up a tunnel. */
function checkBackendAccounting(facts: Facts) {
  const { taps, stats } = facts;
  const connections = taps.registry.connections + taps.api.connections;
  const bytes = taps.registry.bytes + taps.api.bytes;
  const opened = facts.gatewayEvents.filter((event) => event.event === 'du.tunnel_opened');
  const fromGood = opened.filter((event) => hostOf(facts, event) === GOOD_HOST).length;
  const passed = facts.gateways === 1 && stats !== undefined && connections === stats.tunnelsTotal && connections === opened.length
    && bytes === stats.bytesUp && fromGood === facts.goodTunnels && stats.tunnelsOpen === 0;
  return invariant(
    'every backend connection and byte came through a tunnel the gateway opened for a verified host',
    passed,
    `backends accepted ${connections} connections (registry ${taps.registry.connections}, api ${taps.api.connections}) and ${bytes} bytes; ` +
      `gateway: ${stats?.tunnelsTotal ?? '?'} tunnels (${opened.length} logged, ${fromGood} from ${GOOD_HOST}, whose comms opened ${facts.goodTunnels}), ` +
      `${stats?.bytesUp ?? '?'} bytes up, ${stats?.tunnelsOpen ?? '?'} still open; ${facts.gateways} gateway process(es)`,
  );
}

/** The control: the good host's work all succeeds, before the first bad attempt, while they run, and after the last. */
function checkGood(facts: Facts) {
  const { ledger } = facts;
  const probes = [...ledger.probes.values(), ledger.revokedBefore].flat();
  const firstBadMs = Math.min(...probes.map((record) => record.startedAtMs));
  const lastBadMs = Math.max(...probes.map((record) => record.endedAtMs));
  const operations = [...ledger.pulls, ...ledger.calls];
  const failed = operations.filter((operation) => operation.state !== 'ok');
  const phase = (from: number, to: number): number => operations.filter((operation) => operation.startedAtMs >= from && operation.endedAtMs <= to).length;
  const phases = [phase(0, firstBadMs), phase(firstBadMs, lastBadMs), phase(lastBadMs, Infinity)];
  const passed = probes.length > 0 && failed.length === 0 && phases.every((count) => count > 0);
  return invariant(
    "the good host's pulls and calls all succeed, before, during and after the bad clients",
    passed,
    failed.length > 0
      ? failed.slice(0, 5).map((operation) => `${'image' in operation ? `pull ${operation.image}` : `${operation.method} ${operation.id}`} at ${operation.startedAtMs} ms: ${operation.detail}`).join('; ')
      : `${ledger.pulls.length} pulls and ${ledger.calls.length} calls, all ok: ${phases[0]} before the first bad attempt (${firstBadMs} ms), ` +
        `${phases[1]} while they ran, ${phases[2]} after the last ended (${lastBadMs} ms)`,
  );
}

function metricsOf(facts: Facts) {
  const { ledger, taps, stats } = facts;
  const refusedByReason = Object.entries(stats?.refusedByReason ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  const saved = ledger.revocationSavedAtMs;
  const loaded = facts.gatewayEvents.find((event) => event.event === 'du.revocations_loaded' && event.fields['entries'] === 1);
  return {
    ...Object.fromEntries(BAD_KINDS.map((kind) => [`attempts.${kind.host}`, ledger.probes.get(kind.host)?.length ?? 0])),
    'attempts.revoked.before': ledger.revokedBefore.length,
    ...Object.fromEntries(refusedByReason.map(([reason, count]) => [`refused.${reason}`, count ?? 0])),
    'good.pulls.ok': ledger.pulls.filter((pull) => pull.state === 'ok').length,
    'good.calls.ok': ledger.calls.filter((call) => call.state === 'ok').length,
    'good.tunnels': facts.goodTunnels,
    'gateway.tunnels': stats?.tunnelsTotal ?? 0,
    'gateway.accepted': stats?.accepted ?? 0,
    'backend.registry.connections': taps.registry.connections,
    'backend.api.connections': taps.api.connections,
    'backend.bytes': taps.registry.bytes + taps.api.bytes,
    'revocation.reloadLagMs': saved === undefined || loaded === undefined ? -1 : loaded.atMs - saved,
  };
}

export const certRejects: Scenario = {
  name: 'cert-rejects',
  summary: 'bad clients (no or foreign-CA certificate, expired, not yet valid, revoked mid-run, unknown or no SNI, a copied certificate without its key) are each refused for their own reason while a good host works through comms; nothing of theirs reaches a backend',
  run,
};
