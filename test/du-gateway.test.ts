// The DU gateway on the simulated network: a client host, the DU host running
// the gateway, and two backend hosts (registry, api). Good clients reach the
// backend their SNI names, with half-close; every bad client is refused with
// its reason logged and NOTHING delivered to any backend.
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import { World } from '../sim/network/world.js';
import type { SimHost } from '../sim/network/host.js';
import type { Platform, StreamSocket } from '../src/runtime/platform/types.js';
import { errorCode } from '../src/runtime/platform/errors.js';
import { startDuGateway, type DuGateway, type DuGatewayConfig } from '../src/runtime/du/gateway.js';
import { createCertificateAuthority, issueCertificate, type CertificateAuthority, type IssuedCertificate } from './helpers/certs.js';

const DU_IP = '198.18.0.2';
const CLIENT_IP = '198.18.0.1';
const REGISTRY_IP = '198.18.0.10';
const API_IP = '198.18.0.11';
const GATEWAY_NAME = 'du.pf9lab';
const REGISTRY_SNI = 'registry.du.pf9lab';
const API_SNI = 'api.du.pf9lab';
const DOWN_SNI = 'down.du.pf9lab';
const dayMs = 24 * 60 * 60 * 1000;

interface Pki {
  ca: CertificateAuthority;
  gateway: IssuedCertificate;
  host1: IssuedCertificate;
  host2: IssuedCertificate;
  revoked: IssuedCertificate;
  otherCa: IssuedCertificate;
  expired: IssuedCertificate;
  notYetValid: IssuedCertificate;
  selfSigned: IssuedCertificate;
}

let pki: Pki;

beforeAll(() => {
  const ca = createCertificateAuthority({ commonName: 'pf9lab DU CA' });
  const otherCa = createCertificateAuthority({ commonName: 'someone else' });
  // OpenSSL checks validity against the real clock, even in the simulation.
  const realNowMs = Date.now();
  pki = {
    ca,
    gateway: issueCertificate(ca, { commonName: GATEWAY_NAME, subjectAltNames: [GATEWAY_NAME, REGISTRY_SNI, API_SNI, DOWN_SNI, 'other.du.pf9lab'] }),
    host1: issueCertificate(ca, { commonName: 'host-1' }),
    host2: issueCertificate(ca, { commonName: 'host-2' }),
    revoked: issueCertificate(ca, { commonName: 'host-3' }),
    otherCa: issueCertificate(otherCa, { commonName: 'host-1' }),
    expired: issueCertificate(ca, { commonName: 'host-1', notBefore: new Date(realNowMs - 10 * dayMs), notAfter: new Date(realNowMs - dayMs) }),
    notYetValid: issueCertificate(ca, { commonName: 'host-1', notBefore: new Date(realNowMs + dayMs), notAfter: new Date(realNowMs + 10 * dayMs) }),
    selfSigned: issueCertificate(ca, { commonName: 'host-1', selfSigned: true }),
  };
});

function serialOf(cert: IssuedCertificate): string {
  return new X509Certificate(cert.certPem).serialNumber;
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
  connect(options: { cert?: IssuedCertificate; servername?: string; send?: string; end?: boolean }): ClientRecord;
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

async function lab(options: { seed?: number; gateway?: Partial<DuGatewayConfig>; revoked?: IssuedCertificate[] } = {}): Promise<Lab> {
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
    const revoked = (options.revoked ?? []).map((cert) => ({ serial: serialOf(cert), reason: 'test', atMs: 0 }));
    await platform.files.writeFile('/etc/pf9lab/revoked.json', JSON.stringify({ revoked }));
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

  it('refuses beyond the per-host limit (by certificate CN), and other hosts still get through', async () => {
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

    await du.platform.files.writeFile('/etc/pf9lab/revoked.json', JSON.stringify({ revoked: [{ serial: serialOf(pki.host2).toLowerCase(), reason: 'decommissioned', atMs: 5 }] }));
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
