// The DU gateway on the simulated network: a client host, the DU host running
// the gateway, and two backend hosts (registry, api). Good clients reach the
// backend their SNI names, with half-close; every bad client is refused with
// its reason logged and NOTHING delivered to any backend.
//
// The DU CA, the host certificates and the gateway certificate come from
// src/runtime/pki (seeded keys, windows in virtual time: the run starts at
// SIM_EPOCH_MS, 2026-01-01). The gateway judges certificate time on the
// platform clock, not on OpenSSL's real one (pki/README.md, "Time").
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import { World } from '../sim/network/world.js';
import type { SimHost } from '../sim/network/host.js';
import type { Platform, StreamSocket } from '../src/runtime/platform/types.js';
import { errorCode } from '../src/runtime/platform/errors.js';
import { startDuGateway, type DuGateway, type DuGatewayConfig } from '../src/runtime/du/gateway.js';
import {
  RevocationList, createHostCsr, createRootCa, issueGatewayCertificate, saveRevocationList, seededKeySource, signHostCsr, DAY_MS,
  type CertificateAuthority, type KeySource,
} from '../src/runtime/pki/index.js';
import { SIM_EPOCH_MS } from '../sim/network/engine.js';
import { Rng } from '../sim/network/rng.js';
import type { Random } from '../src/runtime/platform/types.js';
import { createCertificateAuthority, issueCertificate } from './helpers/certs.js';
import { BAD_SIGNATURE_CODES, refusalForHandshakeError } from '../src/runtime/du/refusal.js';
import { keyWithForeignSecret } from '../sim/workloads/tls-probe.js';

const DU_IP = '198.18.0.2';
const CLIENT_IP = '198.18.0.1';
const REGISTRY_IP = '198.18.0.10';
const API_IP = '198.18.0.11';
const GATEWAY_NAME = 'du.pf9lab';
const REGISTRY_SNI = 'registry.du.pf9lab';
const API_SNI = 'api.du.pf9lab';
const DOWN_SNI = 'down.du.pf9lab';
/** A client or server certificate with its key, as a TLS peer presents it. */
interface TestCert {
  certPem: string;
  keyPem: string;
  notAfterMs?: number;
  serialHex?: string;
  hostId?: string;
}

interface Pki {
  ca: CertificateAuthority;
  gateway: TestCert;
  host1: TestCert;
  host2: TestCert;
  revoked: TestCert;
  otherCa: TestCert;
  expired: TestCert;
  notYetValid: TestCert;
  selfSigned: TestCert;
  /** Valid in virtual time for one day from SIM_EPOCH_MS: long expired on the real clock. */
  realClockExpired: TestCert;
  /** Valid in virtual time for one minute only. */
  shortLived: TestCert;
  /** Revoked during its test through the PKI's revocation list. */
  toRevoke: TestCert;
}

let pki: Pki;
const SHORT_LIFETIME_MS = 60_000;

async function hostCert(
  ca: CertificateAuthority,
  keys: KeySource,
  random: Random,
  hostId: string,
  nowMs = SIM_EPOCH_MS,
  lifetimeMs = 365 * DAY_MS,
): Promise<TestCert> {
  const key = await keys.generateRsaKey();
  const issued = signHostCsr(ca, createHostCsr(hostId, key), { random, nowMs, lifetimeMs });
  return { ...issued, keyPem: key.privateKeyPem };
}

beforeAll(async () => {
  const rng = Rng.fromSeed(443);
  const keys = seededKeySource(rng.fork('keys'));
  const random = rng.fork('random');
  const ca = await createRootCa({ keySource: keys, random, nowMs: SIM_EPOCH_MS, commonName: 'pf9lab DU CA' });
  const otherCa = await createRootCa({ keySource: keys, random, nowMs: SIM_EPOCH_MS, commonName: 'someone else' });
  const host = (hostId: string, nowMs?: number, lifetimeMs?: number): Promise<TestCert> => hostCert(ca, keys, random, hostId, nowMs, lifetimeMs);
  // A self-signed certificate no CA vouches for (keys and window from node:crypto and the real clock: it is refused anyway).
  const selfSigned = issueCertificate(createCertificateAuthority({ commonName: 'unused' }), { commonName: 'host-1', selfSigned: true });
  pki = {
    ca,
    gateway: await issueGatewayCertificate(ca, {
      keySource: keys, random, nowMs: SIM_EPOCH_MS, dnsNames: [GATEWAY_NAME, REGISTRY_SNI, API_SNI, DOWN_SNI, 'other.du.pf9lab'], ipAddresses: [DU_IP],
    }),
    host1: await host('host-1'),
    host2: await host('host-2'),
    revoked: await host('host-3'),
    otherCa: await hostCert(otherCa, keys, random, 'host-1'),
    // Expired and not yet valid in VIRTUAL time (the platform clock is what counts).
    expired: await host('host-1', SIM_EPOCH_MS - 10 * DAY_MS, DAY_MS),
    notYetValid: await host('host-1', SIM_EPOCH_MS + 10 * DAY_MS, 365 * DAY_MS),
    selfSigned,
    realClockExpired: await host('host-4', SIM_EPOCH_MS, DAY_MS),
    shortLived: await host('host-5', SIM_EPOCH_MS, SHORT_LIFETIME_MS),
    toRevoke: await host('host-6'),
  };
});

function serialOf(cert: TestCert): string {
  return new X509Certificate(cert.certPem).serialNumber;
}

function revocationFile(certs: readonly TestCert[], reason: 'keyCompromise' | 'cessationOfOperation' = 'keyCompromise', revokedAtMs = 0): string {
  return RevocationList.of(certs.map((cert) => ({ serialHex: serialOf(cert), reason, revokedAtMs }))).toJson();
}

/** What one backend saw. */
interface BackendRecord {
  connections: number;
  bytes: number;
  received: string;
  resets: number;
  sockets: StreamSocket[];
}

/** What one client connection saw. */
interface ClientRecord {
  secure: boolean;
  received: string;
  ended: boolean;
  closed: boolean;
  error: string | undefined;
  socket: TLSSocket | undefined;
}

interface Lab {
  world: World;
  client: SimHost;
  du: SimHost;
  gateway: () => DuGateway;
  backends: { registry: BackendRecord; api: BackendRecord };
  connect(options: { cert?: TestCert; servername?: string; send?: string; end?: boolean }): ClientRecord;
  refusals(): { reason: unknown; sni: unknown; subject: unknown; serial: unknown }[];
  backendBytes(): number;
}

/**
 * A backend that records what it receives and, once the client's side ends,
 * answers `<name>:<everything received>` and ends its own side (half-close).
 */
async function startBackend(platform: Platform, name: string, record: BackendRecord): Promise<void> {
  await platform.streams.listen({ host: '0.0.0.0', port: 5000, allowHalfOpen: true }, (socket) => {
    record.connections += 1;
    record.sockets.push(socket);
    socket.on('data', (chunk: Buffer) => {
      record.bytes += chunk.length;
      record.received += chunk.toString();
    });
    socket.on('end', () => socket.end(`${name}:${record.received}`));
    socket.on('error', (error) => {
      if (errorCode(error) === 'ECONNRESET') record.resets += 1;
    });
  });
}

const emptyBackend = (): BackendRecord => ({ connections: 0, bytes: 0, received: '', resets: 0, sockets: [] });

async function lab(options: { seed?: number; gateway?: Partial<DuGatewayConfig>; revoked?: TestCert[] } = {}): Promise<Lab> {
  const world = new World({ seed: options.seed ?? 1 });
  const lan = world.segment('lan', { latencyMs: 1 });
  const client = world.host('client');
  const du = world.host('du');
  const registry = world.host('registry');
  const api = world.host('api');
  world.attach(client, lan, `${CLIENT_IP}/24`);
  world.attach(du, lan, `${DU_IP}/24`);
  world.attach(registry, lan, `${REGISTRY_IP}/24`);
  world.attach(api, lan, `${API_IP}/24`);
  const backends = { registry: emptyBackend(), api: emptyBackend() };
  let gateway: DuGateway | undefined;

  registry.onBoot((platform) => startBackend(platform, 'registry', backends.registry));
  api.onBoot((platform) => startBackend(platform, 'api', backends.api));
  du.onBoot(async (platform) => {
    await platform.files.mkdir('/etc/pf9lab', { recursive: true });
    await platform.files.writeFile('/etc/pf9lab/du.crt', pki.gateway.certPem);
    await platform.files.writeFile('/etc/pf9lab/du.key', pki.gateway.keyPem, { mode: 0o600 });
    await platform.files.writeFile('/etc/pf9lab/ca.crt', pki.ca.certPem);
    await platform.files.writeFile('/etc/pf9lab/revoked.json', revocationFile(options.revoked ?? []));
    gateway = await startDuGateway(platform, {
      listen: { host: '0.0.0.0', port: 443 },
      tls: { certFile: '/etc/pf9lab/du.crt', keyFile: '/etc/pf9lab/du.key', caFile: '/etc/pf9lab/ca.crt', revocationFile: '/etc/pf9lab/revoked.json' },
      services: [
        { sni: REGISTRY_SNI, backend: { host: REGISTRY_IP, port: 5000 } },
        { sni: API_SNI, backend: { host: API_IP, port: 5000 } },
        // A host on the segment with nothing listening: the dial is refused.
        { sni: DOWN_SNI, backend: { host: CLIENT_IP, port: 5999 } },
      ],
      idleTimeoutMs: 60_000,
      connectTimeoutMs: 2_000,
      handshakeTimeoutMs: 5_000,
      connectionsPerHostMax: 8,
      revocationReloadMs: 1_000,
      ...options.gateway,
    });
  });
  await world.run({ untilMs: 50 });
  expect(world.failures).toEqual([]);
  expect(gateway).toBeDefined();

  return {
    world,
    client,
    du,
    gateway: () => gateway as DuGateway,
    backends,
    connect(spec) {
      const record: ClientRecord = { secure: false, received: '', ended: false, closed: false, error: undefined, socket: undefined };
      const platform = client.platform;
      const raw = platform.streams.connect({ host: DU_IP, port: 443, allowHalfOpen: true });
      const socket = platform.tls.connect({
        socket: raw,
        servername: spec.servername ?? REGISTRY_SNI,
        ca: pki.ca.certPem,
        // The test client is not under test: OpenSSL would judge the gateway's certificate on the real clock.
        rejectUnauthorized: false,
        ...(spec.cert === undefined ? {} : { key: spec.cert.keyPem, cert: spec.cert.certPem }),
        minVersion: 'TLSv1.3',
        handshakeTimeoutMs: 5_000,
        // The gateway's certificate names every service; an unknown SNI is the gateway's call, not the client's.
        checkServerIdentity: () => undefined,
      });
      record.socket = socket;
      socket.on('secureConnect', () => {
        record.secure = true;
        if (spec.send !== undefined) socket.write(spec.send);
        if (spec.end !== false) socket.end();
      });
      socket.on('data', (chunk: Buffer) => {
        record.received += chunk.toString();
      });
      socket.on('end', () => {
        record.ended = true;
      });
      socket.on('error', (error) => {
        record.error = errorCode(error) ?? error.message;
      });
      socket.on('close', () => {
        record.closed = true;
      });
      return record;
    },
    refusals() {
      return du
        .logs()
        .filter((entry) => entry.event === 'du.refused')
        .map((entry) => ({ reason: entry.fields['reason'], sni: entry.fields['sni'], subject: entry.fields['subject'], serial: entry.fields['serial'] }));
    },
    backendBytes: () => backends.registry.bytes + backends.api.bytes,
  };
}

describe('DU gateway: good clients', () => {
  it('routes a client with a DU certificate by SNI; bytes flow both ways with half-close', async () => {
    const { world, backends, gateway, connect } = await lab();
    const registryClient = connect({ cert: pki.host1, servername: REGISTRY_SNI, send: 'GET /v2/pause' });
    const apiClient = connect({ cert: pki.host2, servername: API_SNI, send: 'GET /v1/hosts' });
    await world.run({ forMs: 2_000 });
    expect(world.failures).toEqual([]);

    // Each backend got exactly its own client's bytes, and answered after the client's FIN.
    expect(backends.registry).toMatchObject({ connections: 1, received: 'GET /v2/pause' });
    expect(backends.api).toMatchObject({ connections: 1, received: 'GET /v1/hosts' });
    expect(registryClient).toMatchObject({ secure: true, received: 'registry:GET /v2/pause', ended: true, closed: true, error: undefined });
    expect(apiClient).toMatchObject({ secure: true, received: 'api:GET /v1/hosts', ended: true, closed: true, error: undefined });

    const stats = gateway().stats();
    expect(stats.tunnelsTotal).toBe(2);
    expect(stats.tunnelsOpen).toBe(0);
    expect(stats.bytesUp).toBe('GET /v2/pause'.length + 'GET /v1/hosts'.length);
    expect(stats.bytesDown).toBe('registry:GET /v2/pause'.length + 'api:GET /v1/hosts'.length);
    expect(stats.tunnelsClosedByReason).toEqual({ completed: 2 });
    expect(stats.refusedByReason).toEqual({});
  });

  it('matches the SNI case-insensitively', async () => {
    const { world, backends, connect } = await lab();
    const client = connect({ cert: pki.host1, servername: 'Registry.DU.pf9lab', send: 'x' });
    await world.run({ forMs: 2_000 });
    expect(client.received).toBe('registry:x');
    expect(backends.registry.connections).toBe(1);
  });

  it('carries a large transfer intact in both directions with backpressure', async () => {
    const { world, backends, gateway, connect } = await lab();
    const payload = 'abcdefghij'.repeat(50_000); // 500 kB up; the backend echoes it back down
    const client = connect({ cert: pki.host1, servername: API_SNI, send: payload });
    await world.run({ forMs: 30_000 });
    expect(backends.api.received).toBe(payload);
    expect(client.received).toBe(`api:${payload}`);
    expect(client.ended).toBe(true);
    expect(gateway().stats().bytesUp).toBe(payload.length);
  });
});

describe('DU gateway: refusals deliver nothing to any backend', () => {
  it.each([
    ['an unknown SNI', { cert: 'host1', servername: 'other.du.pf9lab' }, 'unknown-sni', 'host-1'],
    ['no SNI', { cert: 'host1', servername: '' }, 'no-sni', 'host-1'],
    ['no client certificate', { servername: REGISTRY_SNI }, 'no-client-cert', undefined],
    ['a certificate from another CA', { cert: 'otherCa', servername: REGISTRY_SNI }, 'bad-cert', 'host-1'],
    ['a self-signed certificate', { cert: 'selfSigned', servername: REGISTRY_SNI }, 'bad-cert', 'host-1'],
    ['an expired certificate', { cert: 'expired', servername: REGISTRY_SNI }, 'cert-expired', 'host-1'],
    ['a not-yet-valid certificate', { cert: 'notYetValid', servername: REGISTRY_SNI }, 'cert-not-yet-valid', 'host-1'],
    ['a revoked certificate', { cert: 'revoked', servername: REGISTRY_SNI }, 'revoked', 'host-3'],
  ] as const)('refuses %s (%s)', async (_label, spec, reason, subject) => {
    const { world, backends, gateway, connect, refusals } = await lab({ revoked: [pki.revoked] });
    const cert = 'cert' in spec ? pki[spec.cert] : undefined;
    const client = connect({ ...(cert === undefined ? {} : { cert }), servername: spec.servername, send: 'secret bytes', end: false });
    await world.run({ forMs: 3_000 });
    expect(world.failures).toEqual([]);

    expect(backends.registry.connections + backends.api.connections).toBe(0);
    expect(backends.registry.bytes + backends.api.bytes).toBe(0);
    expect(client.received).toBe('');
    const stats = gateway().stats();
    expect(stats.refusedByReason).toEqual({ [reason]: 1 });
    expect(stats.tunnelsTotal).toBe(0);
    expect(stats.bytesUp).toBe(0);
    const [refusal, ...more] = refusals();
    expect(more).toEqual([]);
    expect(refusal?.reason).toBe(reason);
    expect(refusal?.subject).toBe(subject);
    if (cert !== undefined) expect(refusal?.serial).toBe(serialOf(cert));
    if (reason === 'unknown-sni') expect(refusal?.sni).toBe('other.du.pf9lab');
    // Certificate refusals end in a reset, as haproxy's `verify required` does;
    // an unknown SNI is closed without a byte (the half-open client sees the end of an empty stream).
    if (reason === 'unknown-sni' || reason === 'no-sni') expect(client).toMatchObject({ ended: true, error: undefined });
    else expect(client).toMatchObject({ closed: true, error: 'ECONNRESET' });
  });

  it('refuses beyond the per-host limit (by the host id the PKI verified), and other hosts still get through', async () => {
    const { world, backends, gateway, connect, refusals } = await lab({ gateway: { connectionsPerHostMax: 2 } });
    const held = [connect({ cert: pki.host1, send: 'a', end: false }), connect({ cert: pki.host1, send: 'b', end: false })];
    await world.run({ forMs: 1_000 });
    const third = connect({ cert: pki.host1, send: 'c', end: false });
    const otherHost = connect({ cert: pki.host2, send: 'd', end: false });
    await world.run({ forMs: 1_000 });

    expect(third.closed).toBe(true);
    expect(third.error).toBe('ECONNRESET');
    expect(refusals()).toEqual([{ reason: 'per-host-limit', sni: REGISTRY_SNI, subject: 'host-1', serial: serialOf(pki.host1) }]);
    expect(backends.registry.connections).toBe(3);
    expect(backends.registry.received.split('').sort().join('')).toBe('abd');
    expect(gateway().stats().tunnelsOpen).toBe(3);
    expect(held.every((record) => !record.closed) && !otherHost.closed).toBe(true);

    // A tunnel that ends frees its slot.
    held[0]?.socket?.end();
    await world.run({ forMs: 1_000 });
    const again = connect({ cert: pki.host1, send: 'e' });
    await world.run({ forMs: 1_000 });
    expect(again.received).toBe(`registry:${backends.registry.received}`);
    expect(again.error).toBeUndefined();
  });

  it('picks up a newly revoked serial from the revocation file on its timer', async () => {
    const { world, du, backends, gateway, connect, refusals } = await lab();
    const before = connect({ cert: pki.host2, send: 'x' });
    await world.run({ forMs: 500 });
    expect(before.received).toBe('registry:x');

    await du.platform.files.writeFile('/etc/pf9lab/revoked.json', revocationFile([pki.host2], 'cessationOfOperation', 5));
    await world.run({ forMs: 1_500 });
    expect(gateway().stats().revokedSerials).toBe(1);
    const after = connect({ cert: pki.host2, send: 'y' });
    await world.run({ forMs: 1_000 });
    expect(after.received).toBe('');
    expect(after.error).toBe('ECONNRESET');
    expect(refusals().map((refusal) => refusal.reason)).toEqual(['revoked']);
    expect(backends.registry.received).toBe('x');

    // A broken file keeps the list in force.
    await du.platform.files.writeFile('/etc/pf9lab/revoked.json', '{"revoked": [');
    await world.run({ forMs: 1_500 });
    expect(gateway().stats().revokedSerials).toBe(1);
    expect(du.logs().some((entry) => entry.event === 'du.revocation_reload_failed')).toBe(true);
  });
});

describe('DU gateway: tunnels that fail end in an error at the client, never a clean end', () => {
  it('resets an idle tunnel after idleTimeoutMs, both sides', async () => {
    const { world, backends, gateway, connect } = await lab({ gateway: { idleTimeoutMs: 3_000 } });
    const client = connect({ cert: pki.host1, send: 'hi', end: false });
    await world.run({ forMs: 2_000 });
    expect(client.closed).toBe(false);
    await world.run({ forMs: 3_000 });
    expect(client.closed).toBe(true);
    expect(client.ended).toBe(false);
    expect(client.error).toBe('ECONNRESET');
    expect(backends.registry.resets).toBe(1);
    expect(gateway().stats().tunnelsClosedByReason).toEqual({ 'idle-timeout': 1 });
  });

  it('frees the tunnel of a client whose host died without a word, by keepalive, long before idleTimeoutMs', async () => {
    const { world, client: clientHost, backends, gateway, connect } = await lab({ gateway: { idleTimeoutMs: 3_600_000, keepAliveIdleMs: 5_000 } });
    connect({ cert: pki.host1, send: 'hi', end: false });
    await world.run({ forMs: 1_000 });
    expect(gateway().stats().tunnelsOpen).toBe(1);
    clientHost.crash();
    // 5 s of silence, then the DU host's probes go unanswered: its TCP settings here are Linux's
    // defaults (9 probes 75 s apart), so about 11 minutes, against the hour of idleTimeoutMs.
    await world.run({ forMs: 600_000 });
    expect(gateway().stats().tunnelsOpen).toBe(1);
    await world.run({ forMs: 120_000 });
    expect(gateway().stats().tunnelsOpen).toBe(0);
    expect(backends.registry.resets).toBe(1);
    expect(Object.keys(gateway().stats().tunnelsClosedByReason)).not.toContain('idle-timeout');
  });

  it('resets the client when its backend is down', async () => {
    const { world, gateway, connect } = await lab();
    const client = connect({ cert: pki.host1, servername: DOWN_SNI, send: 'hello' });
    await world.run({ forMs: 2_000 });
    expect(client.received).toBe('');
    expect(client.ended).toBe(false);
    expect(client.error).toBe('ECONNRESET');
    expect(gateway().stats().backendFailuresByCode).toEqual({ ECONNREFUSED: 1 });
    expect(gateway().stats().tunnelsOpen).toBe(0);
  });

  it('resets the client when its backend resets mid-stream', async () => {
    const { world, backends, gateway, connect } = await lab();
    const client = connect({ cert: pki.host1, send: 'part one', end: false });
    await world.run({ forMs: 1_000 });
    expect(backends.registry.received).toBe('part one');
    backends.registry.sockets[0]?.write('partial answer');
    await world.run({ forMs: 100 });
    backends.registry.sockets[0]?.resetAndDestroy();
    await world.run({ forMs: 1_000 });
    expect(client.received).toBe('partial answer');
    expect(client.ended).toBe(false);
    expect(client.error).toBe('ECONNRESET');
    expect(gateway().stats().tunnelsClosedByReason).toEqual({ 'backend-error': 1 });
  });

  it('gives the same trace for the same seed', async () => {
    const digests: string[] = [];
    for (let run = 0; run < 2; run++) {
      const { world, connect } = await lab({ seed: 9 });
      connect({ cert: pki.host1, send: 'same' });
      connect({ cert: pki.host1, servername: 'other.du.pf9lab', send: 'same' });
      await world.run({ forMs: 2_000 });
      digests.push(world.engine.trace.digest());
    }
    expect(digests[1]).toBe(digests[0]);
  });
});

describe('DU gateway: certificate time is judged on the platform clock (PKI certificates)', () => {
  it('accepts and relays a host certificate valid in virtual time but long expired on the real clock', async () => {
    const { world, backends, gateway, connect, refusals } = await lab();
    // The precondition that makes this test mean something: OpenSSL, on the real clock, calls it expired.
    const realNowMs = Date.now();
    expect(Date.parse(new X509Certificate(pki.realClockExpired.certPem).validTo)).toBeLessThan(realNowMs);
    expect(world.engine.now()).toBeLessThan(pki.realClockExpired.notAfterMs ?? 0);

    const client = connect({ cert: pki.realClockExpired, servername: API_SNI, send: 'GET /v1/hosts' });
    await world.run({ forMs: 2_000 });
    expect(world.failures).toEqual([]);
    expect(refusals()).toEqual([]);
    expect(backends.api).toMatchObject({ connections: 1, received: 'GET /v1/hosts' });
    expect(client).toMatchObject({ secure: true, received: 'api:GET /v1/hosts', ended: true, error: undefined });
    expect(gateway().stats().tunnelsClosedByReason).toEqual({ completed: 1 });
  });

  it('refuses cert-expired once virtual time passes the certificate\'s notAfter, and nothing reaches a backend', async () => {
    const { world, backends, gateway, connect, refusals } = await lab();
    const before = connect({ cert: pki.shortLived, send: 'in time' });
    await world.run({ forMs: 1_000 });
    expect(before.received).toBe('registry:in time');

    // Past notAfter on the virtual clock (the certificate lives SHORT_LIFETIME_MS from SIM_EPOCH_MS).
    await world.run({ untilMs: (pki.shortLived.notAfterMs ?? 0) - SIM_EPOCH_MS + 1_000 });
    expect(world.engine.now()).toBeGreaterThan(pki.shortLived.notAfterMs ?? Infinity);
    const after = connect({ cert: pki.shortLived, send: 'too late', end: false });
    await world.run({ forMs: 2_000 });
    expect(world.failures).toEqual([]);
    expect(after).toMatchObject({ received: '', closed: true, error: 'ECONNRESET' });
    expect(refusals()).toEqual([{ reason: 'cert-expired', sni: REGISTRY_SNI, subject: 'host-5', serial: serialOf(pki.shortLived) }]);
    expect(backends.registry).toMatchObject({ connections: 1, received: 'in time' });
    expect(backends.api.connections).toBe(0);
    expect(gateway().stats()).toMatchObject({ tunnelsTotal: 1, refusedByReason: { 'cert-expired': 1 } });
  });

  it('refuses revoked once the PKI\'s revocation list names the serial', async () => {
    const { world, du, backends, gateway, connect, refusals } = await lab();
    const before = connect({ cert: pki.toRevoke, send: 'before' });
    await world.run({ forMs: 1_000 });
    expect(before.received).toBe('registry:before');

    const cert = pki.toRevoke;
    const list = RevocationList.empty().revoke({
      serialHex: cert.serialHex ?? '', reason: 'keyCompromise', revokedAtMs: du.platform.clock.now(), hostId: cert.hostId ?? '',
    });
    // The atomic write (temp file, fsync, rename) takes virtual time: the world runs while it completes.
    let saved = false;
    void saveRevocationList(du.platform.files, '/etc/pf9lab/revoked.json', list).then(() => {
      saved = true;
    });
    await world.run({ forMs: 1_000, stopWhen: () => saved });
    expect(saved).toBe(true);
    await world.run({ forMs: 1_500 }); // the reload timer (revocationReloadMs 1 000)
    expect(gateway().stats().revokedSerials).toBe(1);

    const after = connect({ cert, send: 'after', end: false });
    const other = connect({ cert: pki.host1, send: 'other host' });
    await world.run({ forMs: 2_000 });
    expect(after).toMatchObject({ received: '', closed: true, error: 'ECONNRESET' });
    // (The test backend answers with everything it received on all connections.)
    expect(other.received).toBe('registry:beforeother host');
    expect(refusals()).toEqual([{ reason: 'revoked', sni: REGISTRY_SNI, subject: 'host-6', serial: serialOf(cert) }]);
    expect(backends.registry.received).toBe('beforeother host');
    expect(backends.registry.connections).toBe(2);
  });
});

describe('DU gateway: a certificate without its key (bad-signature)', () => {
  it('classifies every OpenSSL signature-check code as bad-signature, and only those', () => {
    // What the gateway saw in 4 000 handshakes with a copied certificate (see BAD_SIGNATURE_CODES), and the siblings of those checks.
    for (const code of ['ERR_SSL_LAST_OCTET_INVALID', 'ERR_SSL_FIRST_OCTET_INVALID', 'ERR_SSL_SALT_LENGTH_RECOVERY_FAILED', 'ERR_SSL_INVALID_PADDING', 'ERR_SSL_BLOCK_TYPE_IS_NOT_01']) {
      expect(BAD_SIGNATURE_CODES.has(code), code).toBe(true);
    }
    for (const code of BAD_SIGNATURE_CODES) expect(refusalForHandshakeError(code), code).toBe('bad-signature');
    expect(refusalForHandshakeError('ETIMEDOUT')).toBe('handshake-timeout');
    expect(refusalForHandshakeError('ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE')).toBe('no-client-cert');
    for (const code of ['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_NO_SHARED_CIPHER', 'ECONNRESET', 'ERR_SSL_BAD_SIGNATURE_TYPE', undefined]) {
      expect(refusalForHandshakeError(code), String(code)).toBe('tls-error');
    }
  });

  it('refuses a valid DU certificate offered with a key that only looks like its key, with a detail that does not vary', async () => {
    const { world, backends, gateway, connect, refusals, du } = await lab();
    // host-1's certificate (public) paired with another key's secret half: the CertificateVerify cannot verify.
    const thief = await seededKeySource(Rng.fromSeed(7).fork('thief')).generateRsaKey();
    const stolen: TestCert = { certPem: pki.host1.certPem, keyPem: keyWithForeignSecret(pki.host1.certPem, thief.privateKey) };
    const attemptsMax = 6;
    const clients: ClientRecord[] = [];
    for (let attempt = 0; attempt < attemptsMax; attempt++) {
      clients.push(connect({ cert: stolen, servername: attempt % 2 === 0 ? REGISTRY_SNI : API_SNI, send: 'secret bytes', end: false }));
      await world.run({ forMs: 500 });
    }
    await world.run({ forMs: 2_000 });
    expect(world.failures).toEqual([]);

    expect(backends.registry.connections + backends.api.connections).toBe(0);
    for (const client of clients) {
      expect(client.received).toBe('');
      expect(client.closed).toBe(true);
      // The server's alert 51 (decrypt_error), unless the reset right behind it overtook it.
      expect(['ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR', 'ECONNRESET']).toContain(client.error);
    }
    const stats = gateway().stats();
    expect(stats.refusedByReason).toEqual({ 'bad-signature': attemptsMax });
    expect(stats.tunnelsTotal).toBe(0);
    expect(refusals().map((refusal) => refusal.reason)).toEqual(Array(attemptsMax).fill('bad-signature'));
    // Which padding check failed is random (OpenSSL: first or last octet): the trace must not say.
    const details = new Set(du.logs().filter((entry) => entry.event === 'du.refused').map((entry) => entry.fields['detail']));
    expect(details).toEqual(new Set(["CertificateVerify does not verify with the certificate's public key"]));
  });
});

describe('DU gateway: session tickets do not make the trace random', () => {
  it('sends session tickets of one size whatever the client certificate, and the client still gets them', async () => {
    const { world, client } = await lab();
    const rng = Rng.fromSeed(11);
    const keys = seededKeySource(rng.fork('keys'));
    const random = rng.fork('random');
    // Host ids of 1 to 8 characters: certificate lengths in steps of 2 bytes. With OpenSSL's stateless
    // tickets the encrypted session (holding the certificate) varied by a cipher block from one
    // handshake to the next for some lengths (measured: "good", 4 characters, under this CA's name).
    const hostIds = ['a', 'ab', 'abc', 'good', 'abcde', 'abcdef', 'abcdefg', 'abcdefgh'];
    const handshakesPerHost = 5;
    const bytesDownByHost = new Map<string, Set<number>>();
    let sessionsMin = Infinity;
    for (const hostId of hostIds) {
      const cert = await hostCert(pki.ca, keys, random, hostId);
      const sizes = new Set<number>();
      for (let handshake = 0; handshake < handshakesPerHost; handshake++) {
        const record = { bytesDown: 0, sessions: 0, closed: false };
        const raw = client.platform.streams.connect({ host: DU_IP, port: 443, allowHalfOpen: true });
        raw.on('data', (chunk: Buffer) => {
          record.bytesDown += chunk.length;
        });
        const socket = client.platform.tls.connect({
          socket: raw, servername: REGISTRY_SNI, ca: pki.ca.certPem, cert: cert.certPem, key: cert.keyPem,
          rejectUnauthorized: false, checkServerIdentity: () => undefined, minVersion: 'TLSv1.3',
        });
        socket.on('session', () => {
          record.sessions += 1;
        });
        // Nothing written: the test backend then answers a constant 'registry:'.
        socket.on('secureConnect', () => socket.end());
        socket.on('data', () => undefined);
        socket.on('error', () => undefined);
        socket.on('close', () => {
          record.closed = true;
        });
        await world.run({ forMs: 1_000, stopWhen: () => record.closed });
        expect(record.closed).toBe(true);
        sizes.add(record.bytesDown);
        sessionsMin = Math.min(sessionsMin, record.sessions);
      }
      bytesDownByHost.set(hostId, sizes);
    }
    expect(world.failures).toEqual([]);
    for (const [hostId, sizes] of bytesDownByHost) expect([...sizes], hostId).toHaveLength(1);
    // comms takes a session ticket as the DU's word that it accepted the certificate.
    expect(sessionsMin).toBeGreaterThanOrEqual(1);
  });
});
