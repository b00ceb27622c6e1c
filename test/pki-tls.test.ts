// TLS 1.3 with mutual authentication over the simulated network, with a host
// certificate and a gateway certificate issued by src/runtime/pki in virtual
// time (the run starts at 2026-01-01). OpenSSL judges validity on the real
// wall clock, so the peers here follow the PKI's rule (README.md, "Time"):
// OpenSSL's time verdict is replaced by verifyPeerCertificate on the platform clock.
import { describe, expect, it, beforeAll } from 'vitest';
import type { TLSSocket } from 'node:tls';
import { World } from '../sim/network/world.js';
import { SIM_EPOCH_MS } from '../sim/network/engine.js';
import { Rng } from '../sim/network/rng.js';
import type { Platform } from '../src/runtime/platform/types.js';
import {
  OPENSSL_TIME_ERRORS,
  PkiError,
  RevocationList,
  createHostCsr,
  createRootCa,
  issueGatewayCertificate,
  seededKeySource,
  signHostCsr,
  verifyPeerCertificate,
  DAY_MS,
  type CertificateAuthority,
  type GatewayCertificate,
  type HostCertificate,
} from '../src/runtime/pki/index.js';

const DU_NAME = 'du.pf9lab.test';
const DU_IP = '198.18.0.2';

interface Pki {
  ca: CertificateAuthority;
  gateway: GatewayCertificate;
  host: HostCertificate & { keyPem: string };
  otherHost: HostCertificate & { keyPem: string };
}
let pki: Pki;

beforeAll(async () => {
  const rng = Rng.fromSeed(40);
  const keys = seededKeySource(rng.fork('keys'));
  const random = rng.fork('random');
  const ca = await createRootCa({ keySource: keys, random, nowMs: SIM_EPOCH_MS });
  const gateway = await issueGatewayCertificate(ca, { keySource: keys, random, nowMs: SIM_EPOCH_MS, dnsNames: [DU_NAME], ipAddresses: [DU_IP] });
  const hostCert = async (hostId: string) => {
    const key = await keys.generateRsaKey();
    // A one-day host certificate: valid in virtual time, long expired on the real clock.
    const issued = signHostCsr(ca, createHostCsr(hostId, key), { random, nowMs: SIM_EPOCH_MS, lifetimeMs: DAY_MS });
    return { ...issued, keyPem: key.privateKeyPem };
  };
  pki = { ca, gateway, host: await hostCert('h1'), otherHost: await hostCert('h2') };
});

interface Outcome {
  /** socket.authorizationError as OpenSSL set it (judged on the real clock). */
  gatewayOpenSslErrors: string[];
  gatewayAccepted: string[];
  gatewayRefused: string[];
  gatewayReceived: string;
  clientReceived: string;
  clientRefusal: string | undefined;
  traceHash: string;
}

interface Setup {
  seed: number;
  host: 'host' | 'otherHost';
  revocations?: RevocationList;
  /** Let OpenSSL's real-clock verdict stand on the gateway (the pitfall). */
  gatewayTrustsOpenSslTime?: boolean;
  /** Virtual ms to wait before dialling. */
  dialAfterMs?: number;
}

async function exchange(setup: Setup): Promise<Outcome> {
  const world = new World({ seed: setup.seed });
  const lan = world.segment('lan', { latencyMs: 5 });
  const du = world.host('du');
  const node = world.host('node');
  world.attach(du, lan, `${DU_IP}/24`);
  world.attach(node, lan, '198.18.0.1/24');
  const outcome: Outcome = { gatewayOpenSslErrors: [], gatewayAccepted: [], gatewayRefused: [], gatewayReceived: '', clientReceived: '', clientRefusal: undefined, traceHash: '' };
  const caCertificate = pki.ca.certificate;

  du.onBoot(async (platform: Platform) => {
    const acceptor = platform.tls.createAcceptor({
      key: pki.gateway.keyPem,
      cert: pki.gateway.certPem,
      ca: pki.ca.certPem,
      requestCert: true,
      rejectUnauthorized: setup.gatewayTrustsOpenSslTime === true,
      minVersion: 'TLSv1.3',
    });
    acceptor.on('secureConnection', (socket: TLSSocket) => {
      try {
        const openSslError = socket.authorizationError === null ? undefined : String(socket.authorizationError);
        if (openSslError !== undefined) outcome.gatewayOpenSslErrors.push(openSslError);
        if (openSslError !== undefined && !OPENSSL_TIME_ERRORS.has(openSslError)) throw new Error(openSslError);
        const raw = socket.getPeerCertificate(true).raw;
        const identity = verifyPeerCertificate(raw, {
          caCertificate,
          nowMs: platform.clock.now(),
          purpose: 'clientAuth',
          ...(setup.revocations === undefined ? {} : { revocations: setup.revocations }),
        });
        outcome.gatewayAccepted.push(identity.hostId ?? '?');
      } catch (error) {
        outcome.gatewayRefused.push(error instanceof PkiError ? error.code : (error as Error).message);
        socket.destroy();
        return;
      }
      socket.on('data', (data: Buffer) => {
        outcome.gatewayReceived += data.toString();
        socket.write(`echo:${data.toString()}`);
      });
      socket.on('end', () => socket.end());
      socket.on('error', () => undefined);
    });
    acceptor.on('tlsClientError', (error: Error) => {
      outcome.gatewayRefused.push((error as { code?: string }).code ?? error.message);
    });
    await platform.streams.listen({ host: '0.0.0.0', port: 443 }, (socket) => acceptor.accept(socket));
  });

  node.onBoot(async (platform: Platform) => {
    await platform.clock.sleep(10 + (setup.dialAfterMs ?? 0));
    const cert = pki[setup.host];
    const tlsSocket = platform.tls.connect({
      socket: platform.streams.connect({ host: DU_IP, port: 443 }),
      servername: DU_NAME,
      ca: pki.ca.certPem,
      key: cert.keyPem,
      cert: cert.certPem,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.3',
      handshakeTimeoutMs: 5_000,
    });
    tlsSocket.on('secureConnect', () => {
      try {
        verifyPeerCertificate(tlsSocket.getPeerCertificate(true).raw, { caCertificate, nowMs: platform.clock.now(), purpose: 'serverAuth', expectedName: DU_NAME });
      } catch (error) {
        outcome.clientRefusal = (error as PkiError).code;
        tlsSocket.destroy();
        return;
      }
      tlsSocket.write('hello');
    });
    tlsSocket.on('data', (data: Buffer) => {
      outcome.clientReceived += data.toString();
      tlsSocket.end();
    });
    tlsSocket.on('error', () => undefined);
  });

  await world.run({ untilMs: 30_000 + (setup.dialAfterMs ?? 0) });
  expect(world.failures).toEqual([]);
  outcome.traceHash = world.engine.trace.digest();
  return outcome;
}

describe('mutual TLS 1.3 in the simulation with certificates from src/runtime/pki', () => {
  it('a host certificate valid in virtual time is accepted, and the gateway learns the host id', async () => {
    const outcome = await exchange({ seed: 1, host: 'host' });
    expect(outcome.gatewayAccepted).toEqual(['h1']);
    expect(outcome.gatewayRefused).toEqual([]);
    // OpenSSL did flag it, on the real clock; the platform-clock check overrode that verdict.
    expect(outcome.gatewayOpenSslErrors).toEqual(['CERT_HAS_EXPIRED']);
    expect(outcome.clientRefusal).toBeUndefined();
    expect(outcome.gatewayReceived).toBe('hello');
    expect(outcome.clientReceived).toBe('echo:hello');
  });

  it('the pitfall: left to OpenSSL, the same certificate is refused on the real clock', async () => {
    // The host certificate ends a day after 2026-01-01; this only holds while the real clock is past that.
    expect(Date.now()).toBeGreaterThan(pki.host.notAfterMs);
    const outcome = await exchange({ seed: 1, host: 'host', gatewayTrustsOpenSslTime: true });
    expect(outcome.gatewayAccepted).toEqual([]);
    // OpenSSL aborts the handshake itself; the acceptor reports it as the connection's failure.
    expect(outcome.gatewayRefused.length).toBe(1);
    expect(outcome.gatewayReceived).toBe('');
  });

  it('a certificate that expires in virtual time is refused, before any byte is delivered', async () => {
    const outcome = await exchange({ seed: 2, host: 'host', dialAfterMs: DAY_MS });
    expect(outcome.gatewayRefused).toEqual(['ERR_PKI_EXPIRED']);
    expect(outcome.gatewayReceived).toBe('');
    expect(outcome.clientReceived).toBe('');
  });

  it('a revoked certificate is refused; another host is not affected', async () => {
    const revocations = RevocationList.empty().revoke({ serialHex: pki.host.serialHex, reason: 'keyCompromise', revokedAtMs: SIM_EPOCH_MS });
    const revoked = await exchange({ seed: 3, host: 'host', revocations });
    expect(revoked.gatewayRefused).toEqual(['ERR_PKI_REVOKED']);
    expect(revoked.gatewayReceived).toBe('');
    const other = await exchange({ seed: 3, host: 'otherHost', revocations });
    expect(other.gatewayAccepted).toEqual(['h2']);
    expect(other.clientReceived).toBe('echo:hello');
  });

  it('gives the same trace hash for the same seed', async () => {
    const first = await exchange({ seed: 7, host: 'host' });
    const second = await exchange({ seed: 7, host: 'host' });
    expect(second.traceHash).toBe(first.traceHash);
  });
});
