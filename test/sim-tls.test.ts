// Node's own TLS 1.3, with client certificates from a node-forge RSA CA,
// running over simulated TCP streams: good peers are accepted, bad ones are
// refused before any application byte is delivered, and the trace is the
// same on every run (RSA signatures have a fixed length; see DESIGN.md).
import { describe, expect, it, beforeAll } from 'vitest';
import type { TLSSocket } from 'node:tls';
import { World } from '../sim/network/world.js';
import type { Platform } from '../src/runtime/platform/types.js';
import { createCertificateAuthority, issueCertificate, type CertificateAuthority, type IssuedCertificate } from './helpers/certs.js';

const SERVER_NAME = 'du.pf9lab.test';
const SERVER_IP = '198.18.0.2';

interface Pki {
  ca: CertificateAuthority;
  otherCa: CertificateAuthority;
  server: IssuedCertificate;
  client: IssuedCertificate;
  clientOfOtherCa: IssuedCertificate;
  serverOfOtherCa: IssuedCertificate;
}

let pki: Pki;

beforeAll(() => {
  const ca = createCertificateAuthority({ commonName: 'pf9lab DU CA' });
  const otherCa = createCertificateAuthority({ commonName: 'someone else' });
  pki = {
    ca,
    otherCa,
    server: issueCertificate(ca, { commonName: SERVER_NAME, subjectAltNames: [SERVER_NAME] }),
    client: issueCertificate(ca, { commonName: 'host-0001' }),
    clientOfOtherCa: issueCertificate(otherCa, { commonName: 'host-0001' }),
    serverOfOtherCa: issueCertificate(otherCa, { commonName: SERVER_NAME, subjectAltNames: [SERVER_NAME] }),
  };
});

interface ClientIdentity {
  cert?: IssuedCertificate;
  servername?: string;
}

interface Outcome {
  serverAuthorized: boolean[];
  serverPeerNames: string[];
  serverClientErrors: string[];
  /** Application bytes the server received from any client. */
  serverReceived: string;
  clientSecure: boolean;
  clientProtocol: string | null;
  clientReceived: string;
  clientError: string | undefined;
  clientClosed: boolean;
  traceHash: string;
}

async function exchange(seed: number, identity: ClientIdentity, serverCert: IssuedCertificate = pki.server): Promise<Outcome> {
  const world = new World({ seed });
  const lan = world.segment('lan', { latencyMs: 5 });
  const server = world.host('server');
  const client = world.host('client');
  world.attach(server, lan, `${SERVER_IP}/24`);
  world.attach(client, lan, '198.18.0.1/24');
  const outcome: Outcome = {
    serverAuthorized: [],
    serverPeerNames: [],
    serverClientErrors: [],
    serverReceived: '',
    clientSecure: false,
    clientProtocol: null,
    clientReceived: '',
    clientError: undefined,
    clientClosed: false,
    traceHash: '',
  };

  server.onBoot(async (platform: Platform) => {
    const acceptor = platform.tls.createAcceptor({
      key: serverCert.keyPem,
      cert: serverCert.certPem,
      ca: pki.ca.certPem,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.3',
    });
    acceptor.on('secureConnection', (socket: TLSSocket) => {
      outcome.serverAuthorized.push(socket.authorized);
      outcome.serverPeerNames.push(String(socket.getPeerCertificate().subject?.CN));
      socket.on('data', (data: Buffer) => {
        outcome.serverReceived += data.toString();
        socket.write(`echo:${data.toString()}`);
      });
      socket.on('end', () => socket.end());
      socket.on('error', () => undefined);
    });
    acceptor.on('tlsClientError', (error: Error) => {
      outcome.serverClientErrors.push((error as { code?: string }).code ?? error.message);
    });
    await platform.streams.listen({ host: '0.0.0.0', port: 443 }, (socket) => acceptor.accept(socket));
  });

  client.onBoot(async (platform: Platform) => {
    await platform.clock.sleep(10);
    const raw = platform.streams.connect({ host: SERVER_IP, port: 443 });
    const tlsSocket = platform.tls.connect({
      socket: raw,
      servername: identity.servername ?? SERVER_NAME,
      ca: pki.ca.certPem,
      ...(identity.cert === undefined ? {} : { key: identity.cert.keyPem, cert: identity.cert.certPem }),
      minVersion: 'TLSv1.3',
      handshakeTimeoutMs: 5_000,
    });
    tlsSocket.on('secureConnect', () => {
      outcome.clientSecure = true;
      outcome.clientProtocol = tlsSocket.getProtocol();
      tlsSocket.write('hello');
    });
    tlsSocket.on('data', (data: Buffer) => {
      outcome.clientReceived += data.toString();
      tlsSocket.end();
    });
    tlsSocket.on('error', (error: Error) => {
      outcome.clientError = (error as { code?: string }).code ?? error.message;
    });
    tlsSocket.on('close', () => {
      outcome.clientClosed = true;
    });
  });

  await world.run({ untilMs: 30_000 });
  expect(world.failures).toEqual([]);
  outcome.traceHash = world.engine.trace.digest();
  return outcome;
}

describe('TLS 1.3 over simulated streams', () => {
  it('accepts a client with a certificate from the DU CA, both ways authenticated', async () => {
    const outcome = await exchange(1, { cert: pki.client });
    expect(outcome.clientSecure).toBe(true);
    expect(outcome.clientProtocol).toBe('TLSv1.3');
    expect(outcome.serverAuthorized).toEqual([true]);
    expect(outcome.serverPeerNames).toEqual(['host-0001']);
    expect(outcome.serverReceived).toBe('hello');
    expect(outcome.clientReceived).toBe('echo:hello');
    expect(outcome.clientError).toBeUndefined();
  });

  it('gives the same trace hash for the same seed, and another for another seed', async () => {
    const first = await exchange(7, { cert: pki.client });
    const second = await exchange(7, { cert: pki.client });
    const other = await exchange(8, { cert: pki.client });
    expect(second.traceHash).toBe(first.traceHash);
    expect(other.traceHash).not.toBe(first.traceHash);
  });

  it.each([
    ['without a client certificate', { cert: undefined }],
    ['with a certificate from another CA', { cert: 'clientOfOtherCa' as const }],
  ])('refuses a client %s before any application byte is delivered', async (_name, spec) => {
    const cert = spec.cert === undefined ? undefined : pki[spec.cert];
    const outcome = await exchange(2, cert === undefined ? {} : { cert });
    // TLS 1.3: the client may finish its side of the handshake before the
    // server judges its certificate, so refusal shows as an error or an early close.
    expect(outcome.serverAuthorized).toEqual([]);
    expect(outcome.serverReceived).toBe('');
    expect(outcome.clientReceived).toBe('');
    expect(outcome.clientClosed).toBe(true);
    expect(outcome.serverClientErrors.length + (outcome.clientError === undefined ? 0 : 1)).toBeGreaterThan(0);
  });

  it('the client refuses a server whose certificate does not match the name it asked for', async () => {
    const outcome = await exchange(3, { cert: pki.client, servername: 'registry.pf9lab.test' });
    expect(outcome.clientError).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(outcome.serverReceived).toBe('');
  });

  it('the client refuses a server certificate from another CA', async () => {
    const outcome = await exchange(4, { cert: pki.client }, pki.serverOfOtherCa);
    expect(outcome.clientSecure).toBe(false);
    expect(outcome.clientError).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT/);
    expect(outcome.serverReceived).toBe('');
  });
});
