// comms on the simulated network, against a stand-in DU written here (a TLS
// 1.3 acceptor that requires client certificates from the DU CA and routes by
// SNI to echo, talker and sink backends). Hosts reach the DU directly, from
// behind a NAT, and through the project's authenticating CONNECT proxy.
//
//   lan 198.19.1.0/24            wan 198.18.0.0/24                 dc 198.18.1.0/24
//   natted ── nat(masq) ─────── proxy:3128, direct ── r1 ─────────── du:443
import { beforeAll, describe, expect, it } from 'vitest';
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { World } from '../sim/network/world.js';
import type { SimHost } from '../sim/network/host.js';
import { parseIpv4 } from '../sim/network/ip.js';
import type { Platform, StreamSocket } from '../src/runtime/platform/types.js';
import { startProxy } from '../src/runtime/proxy/proxy-service.js';
import { commsMain } from '../src/runtime/comms/main.js';
import type { CommsService } from '../src/runtime/comms/service.js';
import { SIM_EPOCH_MS } from '../sim/network/engine.js';
import { Rng } from '../sim/network/rng.js';
import {
  createRootCa, issueGatewayCertificate, seededKeySource, DAY_MS, type CertificateAuthority as PkiCa, type KeySource,
} from '../src/runtime/pki/index.js';
import type { Random } from '../src/runtime/platform/types.js';
import { createCertificateAuthority, issueCertificate, type CertificateAuthority, type IssuedCertificate } from './helpers/certs.js';
import { expectNoFailures, pattern, record, runUntil as runUntilAt, writeAll, type StreamRecording } from './helpers/sim-world.js';

const DU_IP = '198.18.1.10';
const PROXY_IP = '198.18.0.10';
const DIRECT_IP = '198.18.0.20';
const PROXY_USER = { username: 'lab', password: 'p@ss:word' };
const DU_NAME = 'du.pf9lab';
const SNI = { echo: 'registry.du.pf9lab', talker: 'talker.du.pf9lab', sink: 'sink.du.pf9lab', unknown: 'nobody.du.pf9lab' } as const;
const PORTS = { echo: 5001, talker: 5002, sink: 5003, unknown: 5004 } as const;
const STATUS_PORT = 9500;
const TCP = { userTimeoutMs: 10_000, keepAliveIntervalMs: 1_000, keepAliveProbes: 3, synRetries: 2 } as const;

interface Pki {
  /** The DU CA, made by src/runtime/pki at the virtual epoch. */
  root: PkiCa;
  /** The same CA for the helpers' issueCertificate. */
  ca: CertificateAuthority;
  otherCa: CertificateAuthority;
  /** The DU's gateway certificate from src/runtime/pki, issued at the virtual epoch (397 days). */
  du: IssuedCertificate;
  hostA: IssuedCertificate;
  hostB: IssuedCertificate;
  hostOfOtherCa: IssuedCertificate;
  keys: KeySource;
  random: Random;
}
let pki: Pki;

/** A gateway certificate for the stand-in DU from src/runtime/pki, issued at virtual `nowMs`. */
async function duCertificate(options: { nowMs?: number; lifetimeMs?: number } = {}): Promise<IssuedCertificate> {
  const issued = await issueGatewayCertificate(pki.root, {
    keySource: pki.keys, random: pki.random, nowMs: options.nowMs ?? SIM_EPOCH_MS, dnsNames: [DU_NAME], ipAddresses: [DU_IP],
    ...(options.lifetimeMs === undefined ? {} : { lifetimeMs: options.lifetimeMs }),
  });
  return { commonName: DU_NAME, keyPem: issued.keyPem, certPem: issued.certPem };
}

beforeAll(async () => {
  // The DU CA and the DU's certificate come from the PKI in virtual time (the
  // run starts at SIM_EPOCH_MS): comms judges the DU's certificate on the
  // platform clock. The host certificates are only judged by the stand-in
  // DU's OpenSSL (real clock), so they are the helpers' real-time ones, signed by the same CA.
  const rng = Rng.fromSeed(77);
  const keys = seededKeySource(rng.fork('keys'));
  const random = rng.fork('random');
  const root = await createRootCa({ keySource: keys, random, nowMs: SIM_EPOCH_MS, commonName: 'pf9lab DU CA' });
  const ca: CertificateAuthority = { commonName: 'pf9lab DU CA', keyPem: root.keyPem, certPem: root.certPem, privateKey: root.privateKey, certificate: root.certificate };
  const otherCa = createCertificateAuthority({ commonName: 'someone else' });
  pki = {
    root,
    ca,
    otherCa,
    du: { commonName: DU_NAME, keyPem: '', certPem: '' },
    hostA: issueCertificate(ca, { commonName: 'host-a' }),
    hostB: issueCertificate(ca, { commonName: 'host-b' }),
    hostOfOtherCa: issueCertificate(otherCa, { commonName: 'host-a' }),
    keys,
    random,
  };
  pki.du = await duCertificate();
});

// ---------------------------------------------------------------- the stand-in DU

/** One TLS connection as a backend saw it. */
interface BackendConnection {
  sni: string;
  peer: string;
  received: Buffer[];
  ended: boolean;
  error: string | undefined;
  closed: boolean;
  bytes(): Buffer;
}

interface StandInDu {
  connections: BackendConnection[];
  tlsClientErrors: string[];
  refusedSni: string[];
  bySni(sni: string): BackendConnection[];
}

/** echo: sends back every byte, ends after the client's end. talker: sends 'hello from DU' and ends at once, then reads. sink: reads. */
function startStandInDu(platform: Platform, options: { trustCa: CertificateAuthority; cert: IssuedCertificate }): Promise<StandInDu> {
  const du: StandInDu = {
    connections: [],
    tlsClientErrors: [],
    refusedSni: [],
    bySni: (sni) => du.connections.filter((connection) => connection.sni === sni),
  };
  const acceptor = platform.tls.createAcceptor({
    key: options.cert.keyPem,
    cert: options.cert.certPem,
    ca: options.trustCa.certPem,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.3',
    handshakeTimeoutMs: 10_000,
  });
  acceptor.on('tlsClientError', (error: Error) => du.tlsClientErrors.push((error as { code?: string }).code ?? error.message));
  acceptor.on('secureConnection', (socket: TLSSocket) => {
    const sni = typeof socket.servername === 'string' ? socket.servername : '';
    socket.on('error', () => undefined);
    if (!Object.values(SNI).includes(sni as never) || sni === SNI.unknown) {
      // Never an open proxy: an unknown SNI is closed without a byte.
      du.refusedSni.push(sni);
      socket.destroy();
      return;
    }
    const connection: BackendConnection = {
      sni,
      peer: String(socket.getPeerCertificate().subject?.CN),
      received: [],
      ended: false,
      error: undefined,
      closed: false,
      bytes: () => Buffer.concat(connection.received),
    };
    du.connections.push(connection);
    socket.on('data', (chunk: Buffer) => {
      connection.received.push(chunk);
      if (sni === SNI.echo && !socket.write(chunk)) {
        socket.pause();
        socket.once('drain', () => socket.resume());
      }
    });
    socket.on('end', () => {
      connection.ended = true;
      if (sni !== SNI.talker) socket.end();
    });
    socket.on('error', (error: Error) => {
      connection.error = (error as { code?: string }).code ?? error.message;
    });
    socket.on('close', () => {
      connection.closed = true;
    });
    if (sni === SNI.talker) socket.end('hello from DU');
  });
  return platform.streams.listen({ host: '0.0.0.0', port: 443, allowHalfOpen: true }, (socket) => acceptor.accept(socket)).then(() => du);
}

// ---------------------------------------------------------------- the world

interface Lab {
  world: World;
  du: SimHost;
  natted: SimHost;
  direct: SimHost;
  proxy: SimHost;
  /** Services started by processes.start('comms'), by host name. */
  comms: Map<string, CommsService>;
  standIn: StandInDu | undefined;
}

function buildLab(seed: number, options: { duTrusts?: 'ca' | 'otherCa'; duListens?: boolean; duCert?: IssuedCertificate } = {}): Lab {
  const world = new World({ seed });
  const lan = world.segment('lan', { latencyMs: 1 });
  const wan = world.segment('wan', { latencyMs: 5, jitterMs: 1 });
  const dc = world.segment('dc', { latencyMs: 0.5 });
  const natted = world.host('natted', { tcp: TCP });
  world.attach(natted, lan, '198.19.1.11/24', { gateway: '198.19.1.1' });
  const nat = world.router('nat', { tcp: TCP });
  world.attach(nat, lan, '198.19.1.1/24', { iface: 'eth0' });
  world.attach(nat, wan, '198.18.0.1/24', { iface: 'eth1', gateway: '198.18.0.254' });
  world.nat(nat, { inside: 'eth0', outside: 'eth1' });
  const proxy = world.host('proxy', { tcp: TCP });
  world.attach(proxy, wan, `${PROXY_IP}/24`, { gateway: '198.18.0.254' });
  const direct = world.host('direct', { tcp: TCP });
  world.attach(direct, wan, `${DIRECT_IP}/24`, { gateway: '198.18.0.254' });
  const r1 = world.router('r1');
  world.attach(r1, wan, '198.18.0.254/24');
  world.attach(r1, dc, '198.18.1.1/24');
  const du = world.host('du', { tcp: TCP });
  world.attach(du, dc, `${DU_IP}/24`, { gateway: '198.18.1.1' });

  const lab: Lab = { world, du, natted, direct, proxy, comms: new Map(), standIn: undefined };
  world.registerModule('comms', async (platform, args) => {
    const service = (await commsMain(platform, args)) as CommsService;
    lab.comms.set(platform.hostName, service);
    return service;
  });
  world.registerModule('http-proxy', (platform) =>
    startProxy(platform, { listen: { host: '0.0.0.0', port: 3128 }, users: [PROXY_USER], allowedPorts: [443] }),
  );
  proxy.onBoot((platform) => platform.processes.start({ name: 'proxy', module: 'http-proxy' }));
  if (options.duListens ?? true) {
    du.onBoot(async (platform) => {
      lab.standIn = await startStandInDu(platform, { trustCa: options.duTrusts === 'otherCa' ? pki.otherCa : pki.ca, cert: options.duCert ?? pki.du });
    });
  }
  return lab;
}

interface CommsSetup {
  cert?: IssuedCertificate;
  viaProxy?: boolean;
  proxyPassword?: string;
  duHost?: string;
  extra?: Record<string, unknown>;
}

function commsConfig(setup: CommsSetup): Record<string, unknown> {
  const password = encodeURIComponent(setup.proxyPassword ?? PROXY_USER.password);
  return {
    du: { host: setup.duHost ?? DU_IP, port: 443, serverName: DU_NAME },
    ...(setup.viaProxy === true ? { proxy: { url: `http://${PROXY_USER.username}:${password}@${PROXY_IP}:3128` } } : {}),
    tls: { caFile: '/etc/pf9/certs/ca.pem', certFile: '/etc/pf9/certs/host.pem', keyFile: '/etc/pf9/certs/host.key', reloadIntervalMs: 1_000 },
    services: (Object.keys(PORTS) as (keyof typeof PORTS)[]).map((name) => ({ name, listenPort: PORTS[name], sni: SNI[name] })),
    status: { listenPort: STATUS_PORT },
    limits: { dialAttemptsMax: 3, backoffBaseMs: 200, backoffCapMs: 2_000, idleTimeoutMs: 60_000 },
    ...setup.extra,
  };
}

async function writeCerts(platform: Platform, cert: IssuedCertificate, key = cert): Promise<void> {
  await platform.files.mkdir('/etc/pf9/certs', { recursive: true });
  await platform.files.writeFile('/etc/pf9/certs/ca.pem', pki.ca.certPem);
  await platform.files.writeFile('/etc/pf9/certs/host.pem', cert.certPem);
  await platform.files.writeFile('/etc/pf9/certs/host.key', key.keyPem, { mode: 0o600 });
}

/** Installs certificates and config on `host` and starts comms there at boot. */
function installComms(host: SimHost, setup: CommsSetup): void {
  host.onBoot(async (platform) => {
    await writeCerts(platform, setup.cert ?? pki.hostA);
    await platform.files.writeFile('/etc/pf9/comms.json', JSON.stringify(commsConfig(setup), null, 2));
    await platform.processes.start({ name: 'comms', module: 'comms', args: ['--config', '/etc/pf9/comms.json'] });
  });
}

interface LocalExchange {
  recording: StreamRecording;
  socket: StreamSocket;
  sent: Buffer;
}

/** A local client on `host`: writes `data` into 127.0.0.1:port (chunked, with backpressure), then ends. */
function localClient(lab: Lab, host: SimHost, port: number, data: Buffer, options: { end?: boolean } = {}): LocalExchange {
  const socket = host.platform.streams.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  const recording = record(lab.world, socket);
  writeAll(lab.world, socket, data, { chunkSizes: [1000, 7, 16 * 1024, 3333], end: options.end ?? true });
  return { recording, socket, sent: data };
}

async function bootLab(lab: Lab, host: SimHost): Promise<CommsService> {
  await runUntil(lab.world, () => lab.comms.has(host.name) && lab.standIn !== undefined, 5_000);
  return lab.comms.get(host.name) as CommsService;
}

/** Runs until `done()` holds, failing if it does not within `forMs` (virtual) from now. */
function runUntil(world: World, done: () => boolean, forMs: number): Promise<number> {
  return runUntilAt(world, done, world.engine.elapsedMs() + forMs);
}

function failedReasons(host: SimHost): string[] {
  return host.logs().filter((entry) => entry.event === 'comms.tunnel_failed').map((entry) => String(entry.fields['reason']));
}

function settled(recording: StreamRecording): boolean {
  return recording.closed;
}

// ---------------------------------------------------------------- tests

describe('comms tunnels on the simulated network', () => {
  it.each([
    ['a host with direct access', 'direct', false],
    ['a host behind NAT', 'natted', false],
    ['a host through the authenticating CONNECT proxy', 'direct', true],
    ['a host behind NAT and the proxy', 'natted', true],
  ] as const)('%s: bytes reach the backend its SNI picks, intact both ways, with half-close', async (_name, hostName, viaProxy) => {
    const lab = buildLab(11);
    const host = lab.world.getHost(hostName);
    installComms(host, { viaProxy });
    const comms = await bootLab(lab, host);
    const echoData = pattern(300_000, 1);
    const sinkData = pattern(120_000, 2);
    const echo = localClient(lab, host, PORTS.echo, echoData);
    const sink = localClient(lab, host, PORTS.sink, sinkData);
    await runUntil(lab.world, () => settled(echo.recording) && settled(sink.recording), 60_000);
    expectNoFailures(lab.world);

    // Echo: every byte came back, in order, then a clean end (the DU ended after our end).
    expect(echo.recording.error).toBeUndefined();
    expect(echo.recording.ended).toBe(true);
    expect(echo.recording.received().equals(echoData)).toBe(true);
    const [echoBackend] = lab.standIn!.bySni(SNI.echo);
    expect(echoBackend?.bytes().equals(echoData)).toBe(true);
    expect(echoBackend?.ended).toBe(true);
    expect(echoBackend?.peer).toBe('host-a');
    // Sink: all bytes, and our end arrived as its end. It ended without a byte, which comms never
    // passes on as an empty answer (nothing tells it from haproxy's refusal of an SNI it does not
    // route, after its tickets): a reset, counted as empty-close.
    expect((sink.recording.error as NodeJS.ErrnoException | undefined)?.code).toBe('ECONNRESET');
    expect(sink.recording.ended).toBe(false);
    expect(sink.recording.bytes).toBe(0);
    const [sinkBackend] = lab.standIn!.bySni(SNI.sink);
    expect(sinkBackend?.bytes().equals(sinkData)).toBe(true);
    expect(sinkBackend?.ended).toBe(true);
    // SNI isolation: nothing went to another backend.
    expect(lab.standIn!.connections.map((connection) => connection.sni).sort()).toEqual([SNI.echo, SNI.sink].sort());

    const metrics = comms.metrics();
    expect(metrics.bytes['echo']).toEqual({ up: echoData.length, down: echoData.length });
    expect(metrics.bytes['sink']).toEqual({ up: sinkData.length, down: 0 });
    expect(metrics.tunnelsTotal).toBe(2);
    expect(metrics.tunnelsOpen).toBe(0);
    expect(metrics.failures['empty-close']).toBe(1);
    expect(Object.values(metrics.failures).reduce((sum, count) => sum + count, 0)).toBe(1);
    // Through the proxy exactly when configured so: both tunnels were CONNECTs with valid credentials.
    const proxyTunnels = lab.proxy.logs().filter((entry) => entry.event === 'proxy.tunnel_opened').length;
    expect(proxyTunnels).toBe(viaProxy ? 2 : 0);
  }, 60_000);

  it('half-close from the DU first: the DU ends its direction, the local client keeps sending, the DU gets it all', async () => {
    const lab = buildLab(12);
    installComms(lab.natted, { viaProxy: true });
    await bootLab(lab, lab.natted);
    const socket = lab.natted.platform.streams.connect({ host: '127.0.0.1', port: PORTS.talker, allowHalfOpen: true });
    const recording = record(lab.world, socket);
    const late = pattern(50_000, 3);
    // Only after the DU's FIN do we send: the down direction ended, the up one must still work.
    socket.once('end', () => writeAll(lab.world, socket, late, { chunkSizes: [4096] }));
    await runUntil(lab.world, () => recording.closed && lab.standIn!.bySni(SNI.talker)[0]?.closed === true, 30_000);
    expectNoFailures(lab.world);
    expect(recording.error).toBeUndefined();
    expect(recording.received().toString()).toBe('hello from DU');
    const [backend] = lab.standIn!.bySni(SNI.talker);
    expect(backend?.bytes().equals(late)).toBe(true);
    expect(backend?.ended).toBe(true);
  }, 30_000);

  it('a DU that refuses the client certificate: the local client sees a reset, the failure is auth-refused, no backend gets a byte', async () => {
    const lab = buildLab(13, { duTrusts: 'otherCa' });
    installComms(lab.natted, {});
    const comms = await bootLab(lab, lab.natted);
    const exchange = localClient(lab, lab.natted, PORTS.echo, pattern(10_000, 4));
    await runUntil(lab.world, () => settled(exchange.recording), 30_000);
    expectNoFailures(lab.world);
    expect(exchange.recording.errorCode).toBe('ECONNRESET');
    expect(exchange.recording.ended).toBe(false);
    expect(exchange.recording.bytes).toBe(0);
    expect(lab.standIn!.connections).toEqual([]);
    expect(lab.standIn!.tlsClientErrors.length).toBe(1);
    expect(failedReasons(lab.natted)).toEqual(['auth-refused']);
    // The TLS 1.3 shape: secureConnect came, then the DU's reset, before any ticket or byte.
    const [failure] = lab.natted.logs().filter((entry) => entry.event === 'comms.tunnel_failed');
    expect(failure?.fields['phase']).toBe('unconfirmed');
    expect(comms.metrics().failures['auth-refused']).toBe(1);
    // Not a network problem: no re-dial.
    expect(lab.natted.logs().filter((entry) => entry.event === 'comms.dial_retry')).toEqual([]);
    // Direct: a reset before confirmation is unambiguous, never retried.
    expect(comms.metrics().failures['ambiguous-reset']).toBe(0);
  }, 30_000);

  it('through the proxy, a DU that refuses the client certificate: retried exactly once (ambiguous-reset), then auth-refused and a reset', async () => {
    const lab = buildLab(31, { duTrusts: 'otherCa' });
    installComms(lab.natted, { viaProxy: true });
    const comms = await bootLab(lab, lab.natted);
    const exchange = localClient(lab, lab.natted, PORTS.echo, pattern(10_000, 4));
    await runUntil(lab.world, () => settled(exchange.recording), 30_000);
    expectNoFailures(lab.world);
    expect(exchange.recording.errorCode).toBe('ECONNRESET');
    expect(exchange.recording.ended).toBe(false);
    expect(exchange.recording.bytes).toBe(0);
    expect(lab.standIn!.connections).toEqual([]);
    // Two handshakes reached the DU: the first and its one retry.
    expect(lab.standIn!.tlsClientErrors.length).toBe(2);
    expect(failedReasons(lab.natted)).toEqual(['auth-refused']);
    const retries = lab.natted.logs().filter((entry) => entry.event === 'comms.dial_retry');
    expect(retries.map((entry) => entry.fields['reason'])).toEqual(['ambiguous-reset']);
    expect(comms.metrics().failures['ambiguous-reset']).toBe(1);
    expect(comms.metrics().failures['auth-refused']).toBe(1);
  }, 30_000);

  it('through the proxy, a proxy restart during the handshake: the tunnel is re-dialled and the local client is served', async () => {
    const lab = buildLab(32);
    installComms(lab.natted, { viaProxy: true, extra: { limits: { dialAttemptsMax: 6, backoffBaseMs: 200, backoffCapMs: 2_000 } } });
    const comms = await bootLab(lab, lab.natted);
    const data = pattern(20_000, 12);
    const exchange = localClient(lab, lab.natted, PORTS.echo, data);
    // The first CONNECT is up: the TLS handshake is under way through it. The proxy restarts and resets it.
    await runUntil(lab.world, () => lab.proxy.logs().some((entry) => entry.event === 'proxy.tunnel_opened'), 10_000);
    void lab.proxy.processes.restart('proxy');
    await runUntil(lab.world, () => settled(exchange.recording), 30_000);
    expectNoFailures(lab.world);
    expect(exchange.recording.error).toBeUndefined();
    expect(exchange.recording.ended).toBe(true);
    expect(exchange.recording.received().equals(data)).toBe(true);
    expect(failedReasons(lab.natted)).toEqual([]);
    const retries = lab.natted.logs().filter((entry) => entry.event === 'comms.dial_retry').map((entry) => entry.fields['reason']);
    expect(retries[0]).toBe('ambiguous-reset');
    expect(comms.metrics().failures['ambiguous-reset']).toBe(1);
    expect(comms.metrics().failures['auth-refused']).toBe(0);
  }, 30_000);

  it('a client certificate from another CA is refused the same way (auth-refused, reset)', async () => {
    const lab = buildLab(14);
    installComms(lab.direct, { cert: pki.hostOfOtherCa, viaProxy: true });
    await bootLab(lab, lab.direct);
    const exchange = localClient(lab, lab.direct, PORTS.sink, pattern(5_000, 5));
    await runUntil(lab.world, () => settled(exchange.recording), 30_000);
    expect(exchange.recording.errorCode).toBe('ECONNRESET');
    expect(lab.standIn!.connections).toEqual([]);
    expect(failedReasons(lab.direct)).toEqual(['auth-refused']);
  }, 30_000);

  it('a DU whose certificate does not name du.serverName is refused by comms (server-untrusted, reset)', async () => {
    const lab = buildLab(25);
    installComms(lab.direct, { extra: { du: { host: DU_IP, port: 443, serverName: 'elsewhere.pf9lab' } } });
    await bootLab(lab, lab.direct);
    const exchange = localClient(lab, lab.direct, PORTS.echo, pattern(100, 40));
    await runUntil(lab.world, () => settled(exchange.recording), 30_000);
    expect(exchange.recording.errorCode).toBe('ECONNRESET');
    expect(lab.standIn!.connections.every((connection) => connection.received.length === 0)).toBe(true);
    expect(failedReasons(lab.direct)).toEqual(['server-untrusted']);
  }, 30_000);

  it('a DU certificate valid in virtual time but expired on the real clock: the tunnel works (the platform clock decides)', async () => {
    const oneDay = await duCertificate({ nowMs: SIM_EPOCH_MS, lifetimeMs: DAY_MS });
    // OpenSSL (real clock) sees this certificate as expired; the PKI on the virtual clock does not.
    expect(Date.parse(new X509Certificate(oneDay.certPem).validTo)).toBeLessThan(Date.now());
    const lab = buildLab(26, { duCert: oneDay });
    installComms(lab.direct, {});
    const comms = await bootLab(lab, lab.direct);
    const data = pattern(20_000, 41);
    const exchange = localClient(lab, lab.direct, PORTS.echo, data);
    await runUntil(lab.world, () => settled(exchange.recording), 30_000);
    expectNoFailures(lab.world);
    expect(exchange.recording.error).toBeUndefined();
    expect(exchange.recording.ended).toBe(true);
    expect(exchange.recording.received().equals(data)).toBe(true);
    expect(lab.standIn!.bySni(SNI.echo)[0]?.bytes().equals(data)).toBe(true);
    expect(failedReasons(lab.direct)).toEqual([]);
    expect(comms.metrics().failures['server-untrusted']).toBe(0);
  }, 30_000);

  it('a DU certificate whose virtual window has passed: reset before any byte, server-untrusted, nothing reaches the backend', async () => {
    const lifetimeMs = 10 * 60_000;
    const shortLived = await duCertificate({ nowMs: SIM_EPOCH_MS, lifetimeMs });
    const lab = buildLab(27, { duCert: shortLived });
    installComms(lab.direct, {});
    const comms = await bootLab(lab, lab.direct);
    // Inside the window: a tunnel works.
    const before = localClient(lab, lab.direct, PORTS.echo, pattern(1_000, 42));
    await runUntil(lab.world, () => settled(before.recording), 30_000);
    expect(before.recording.error).toBeUndefined();
    expect(before.recording.received().equals(before.sent)).toBe(true);
    // Past notAfter in virtual time.
    await lab.world.run({ untilMs: lifetimeMs + 60_000 });
    expect(lab.direct.platform.clock.now()).toBeGreaterThan(SIM_EPOCH_MS + lifetimeMs);
    const connectionsBefore = lab.standIn!.connections.length;
    const after = localClient(lab, lab.direct, PORTS.echo, pattern(5_000, 43));
    await runUntil(lab.world, () => settled(after.recording), 30_000);
    expect(after.recording.errorCode).toBe('ECONNRESET');
    expect(after.recording.ended).toBe(false);
    expect(after.recording.bytes).toBe(0);
    expect(lab.standIn!.connections.slice(connectionsBefore).every((connection) => connection.received.length === 0)).toBe(true);
    expect(failedReasons(lab.direct)).toEqual(['server-untrusted']);
    const [failure] = lab.direct.logs().filter((entry) => entry.event === 'comms.tunnel_failed');
    expect(failure?.fields['code']).toBe('ERR_PKI_EXPIRED');
    expect(comms.metrics().failures['server-untrusted']).toBe(1);
    expect(lab.direct.logs().filter((entry) => entry.event === 'comms.dial_retry')).toEqual([]);
  }, 30_000);

  it('an unknown SNI closed by the DU without a byte: a reset, never a clean empty answer', async () => {
    const lab = buildLab(15);
    installComms(lab.direct, {});
    await bootLab(lab, lab.direct);
    const exchange = localClient(lab, lab.direct, PORTS.unknown, pattern(100, 6));
    await runUntil(lab.world, () => settled(exchange.recording), 30_000);
    expect(exchange.recording.errorCode).toBe('ECONNRESET');
    expect(exchange.recording.ended).toBe(false);
    expect(lab.standIn!.refusedSni).toEqual([SNI.unknown]);
    expect(failedReasons(lab.direct)).toEqual(['auth-refused']);
  }, 30_000);

  it('a DU that is unreachable: the dial is retried with backoff, then the local client sees a reset and the failure is network', async () => {
    const lab = buildLab(16, { duListens: false });
    installComms(lab.natted, {});
    await runUntil(lab.world, () => lab.comms.has('natted'), 5_000);
    const comms = lab.comms.get('natted')!;
    const exchange = localClient(lab, lab.natted, PORTS.echo, pattern(1_000, 7));
    await runUntil(lab.world, () => settled(exchange.recording), 30_000);
    expectNoFailures(lab.world);
    expect(exchange.recording.errorCode).toBe('ECONNRESET');
    expect(exchange.recording.ended).toBe(false);
    expect(failedReasons(lab.natted)).toEqual(['network']);
    expect(lab.natted.logs().filter((entry) => entry.event === 'comms.dial_retry').length).toBe(2);
    expect(comms.metrics().failures['network']).toBe(1);
  }, 30_000);

  it('the DU unreachable through the proxy (502): reset and network', async () => {
    const lab = buildLab(17, { duListens: false });
    installComms(lab.direct, { viaProxy: true, extra: { limits: { dialAttemptsMax: 1 } } });
    await runUntil(lab.world, () => lab.comms.has('direct'), 5_000);
    const exchange = localClient(lab, lab.direct, PORTS.echo, pattern(1_000, 8));
    await runUntil(lab.world, () => settled(exchange.recording), 30_000);
    expect(exchange.recording.errorCode).toBe('ECONNRESET');
    expect(failedReasons(lab.direct)).toEqual(['network']);
  }, 30_000);

  it('wrong proxy credentials: reset and proxy-refused, not retried', async () => {
    const lab = buildLab(18);
    installComms(lab.direct, { viaProxy: true, proxyPassword: 'wrong' });
    await bootLab(lab, lab.direct);
    const exchange = localClient(lab, lab.direct, PORTS.echo, pattern(1_000, 9));
    await runUntil(lab.world, () => settled(exchange.recording), 30_000);
    expect(exchange.recording.errorCode).toBe('ECONNRESET');
    expect(failedReasons(lab.direct)).toEqual(['proxy-refused']);
    expect(lab.standIn!.connections).toEqual([]);
  }, 30_000);

  it('a DU reset in the middle of a confirmed tunnel: the local client sees a reset (no silent truncation), reason remote-reset', async () => {
    const lab = buildLab(19);
    installComms(lab.natted, {});
    await bootLab(lab, lab.natted);
    const exchange = localClient(lab, lab.natted, PORTS.echo, pattern(200_000, 10), { end: false });
    await runUntil(lab.world, () => exchange.recording.bytes > 50_000, 30_000);
    // The DU host loses power: its side vanishes; then it comes back and answers with RSTs.
    lab.du.crash();
    lab.world.engine.schedule(100, () => lab.du.restart());
    exchange.socket.write(pattern(1_000, 11));
    await runUntil(lab.world, () => settled(exchange.recording), 60_000);
    expect(exchange.recording.error).toBeDefined();
    expect(exchange.recording.ended).toBe(false);
    expect(failedReasons(lab.natted)).toEqual(['remote-reset']);
  }, 60_000);

  it('reloads the certificate when its files change: new tunnels use the new one, without a restart', async () => {
    const lab = buildLab(20);
    installComms(lab.natted, { viaProxy: true });
    const comms = await bootLab(lab, lab.natted);
    const first = localClient(lab, lab.natted, PORTS.echo, pattern(1_000, 12));
    await runUntil(lab.world, () => settled(first.recording), 30_000);

    // A half-written rotation (new certificate, old key) is not taken…
    const platform = lab.natted.platform;
    let written = false;
    void platform.files.writeFile('/etc/pf9/certs/host.pem', pki.hostB.certPem).then(() => (written = true));
    await runUntil(lab.world, () => written, 1_000);
    await lab.world.run({ untilMs: lab.world.engine.elapsedMs() + 1_500 });
    expect(lab.natted.logs().some((entry) => entry.event === 'comms.cert_reload_failed')).toBe(true);
    const second = localClient(lab, lab.natted, PORTS.echo, pattern(1_000, 13));
    await runUntil(lab.world, () => settled(second.recording), 30_000);

    // …until the key arrives too; the timer picks it up.
    written = false;
    void platform.files.writeFile('/etc/pf9/certs/host.key', pki.hostB.keyPem, { mode: 0o600 }).then(() => (written = true));
    await runUntil(lab.world, () => written, 1_000);
    await runUntil(lab.world, () => comms.metrics().certReloads === 1, 5_000);
    const third = localClient(lab, lab.natted, PORTS.echo, pattern(1_000, 14));
    await runUntil(lab.world, () => settled(third.recording), 30_000);
    expectNoFailures(lab.world);

    expect([first, second, third].map((exchange) => exchange.recording.error)).toEqual([undefined, undefined, undefined]);
    expect(lab.standIn!.bySni(SNI.echo).map((connection) => connection.peer)).toEqual(['host-a', 'host-a', 'host-b']);
    expect(lab.natted.processes.status('comms')?.state).toBe('running');
  }, 60_000);

  it('listens on 127.0.0.1 only: another host cannot reach the service ports', async () => {
    const lab = buildLab(21);
    installComms(lab.direct, {});
    await bootLab(lab, lab.direct);
    const stack = lab.direct.stack.tcp;
    expect(stack.hasListener(parseIpv4('127.0.0.1'), PORTS.echo)).toBe(true);
    expect(stack.hasListener(parseIpv4(DIRECT_IP), PORTS.echo)).toBe(false);
    expect(stack.hasListener(parseIpv4(DIRECT_IP), STATUS_PORT)).toBe(false);
    const outsider = lab.proxy.platform.streams.connect({ host: DIRECT_IP, port: PORTS.echo });
    const recording = record(lab.world, outsider);
    await runUntil(lab.world, () => recording.closed, 10_000);
    expect(recording.errorCode).toBe('ECONNREFUSED');
  }, 30_000);

  it('serves Prometheus counters on the loopback status endpoint', async () => {
    const lab = buildLab(22, { duTrusts: 'ca' });
    installComms(lab.natted, { viaProxy: true });
    await bootLab(lab, lab.natted);
    const good = localClient(lab, lab.natted, PORTS.echo, pattern(4_321, 15));
    const unknown = localClient(lab, lab.natted, PORTS.unknown, pattern(10, 16));
    await runUntil(lab.world, () => settled(good.recording) && settled(unknown.recording), 30_000);
    const socket = lab.natted.platform.streams.connect({ host: '127.0.0.1', port: STATUS_PORT });
    const status = record(lab.world, socket);
    socket.write('GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await runUntil(lab.world, () => status.ended, 5_000);
    const text = status.received().toString();
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(text).toContain('Content-Type: text/plain; version=0.0.4');
    expect(text).toContain('\ncomms_tunnels_open 0\n');
    expect(text).toContain('\ncomms_tunnels_total 2\n');
    expect(text).toContain('\ncomms_bytes_total{direction="up",service="echo"} 4321\n');
    expect(text).toContain('\ncomms_bytes_total{direction="down",service="echo"} 4321\n');
    expect(text).toContain('\ncomms_tunnel_failures_total{reason="auth-refused"} 1\n');
    expect(text).toContain('\ncomms_tunnel_failures_total{reason="network"} 0\n');
    expect(text).toContain('# TYPE comms_bytes_total counter');
  }, 30_000);

  it('bounds the tunnels: over limits.tunnelsMax a new local connection is reset (reason limit)', async () => {
    const lab = buildLab(23);
    installComms(lab.direct, { extra: { limits: { tunnelsMax: 2 } } });
    const comms = await bootLab(lab, lab.direct);
    const open = [0, 1].map((index) => localClient(lab, lab.direct, PORTS.echo, pattern(100, 20 + index), { end: false }));
    await runUntil(lab.world, () => open.every((exchange) => exchange.recording.bytes === 100), 10_000);
    const third = localClient(lab, lab.direct, PORTS.echo, pattern(100, 22));
    await runUntil(lab.world, () => settled(third.recording), 10_000);
    expect(third.recording.errorCode).toBe('ECONNRESET');
    expect(comms.metrics().failures.limit).toBe(1);
    expect(comms.metrics().tunnelsOpen).toBe(2);
    for (const exchange of open) exchange.socket.end();
    await runUntil(lab.world, () => open.every((exchange) => settled(exchange.recording)), 10_000);
    expect(comms.metrics().tunnelsOpen).toBe(0);
  }, 30_000);

  it('stops cleanly: listeners closed, open tunnels reset', async () => {
    const lab = buildLab(24);
    installComms(lab.direct, {});
    await bootLab(lab, lab.direct);
    const exchange = localClient(lab, lab.direct, PORTS.echo, pattern(100, 30), { end: false });
    await runUntil(lab.world, () => exchange.recording.bytes === 100, 10_000);
    let stopped = false;
    void lab.direct.platform.processes.stop('comms').then(() => (stopped = true));
    await runUntil(lab.world, () => stopped && settled(exchange.recording), 10_000);
    expect(exchange.recording.errorCode).toBe('ECONNRESET');
    expect(lab.direct.stack.tcp.hasListener(parseIpv4('127.0.0.1'), PORTS.echo)).toBe(false);
  }, 30_000);

  it('gives the same trace for the same seed', async () => {
    const digest = async (): Promise<string> => {
      const lab = buildLab(31);
      installComms(lab.natted, { viaProxy: true });
      await bootLab(lab, lab.natted);
      const exchange = localClient(lab, lab.natted, PORTS.echo, pattern(20_000, 31));
      await runUntil(lab.world, () => settled(exchange.recording), 30_000);
      return lab.world.engine.trace.digest();
    };
    expect(await digest()).toBe(await digest());
  }, 30_000);
});
