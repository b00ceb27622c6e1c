// The DU gateway on the real platform over 127.0.0.1: a client with a DU
// certificate reaches the backend its SNI names, with half-close; an unknown
// SNI is closed without a byte and nothing reaches the backend.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRealPlatform } from '../src/runtime/platform/real/index.js';
import type { StreamListener, StreamSocket } from '../src/runtime/platform/types.js';
import { startDuGateway, type DuGateway } from '../src/runtime/du/gateway.js';
import {
  RevocationList, createHostCsr, createRootCa, issueGatewayCertificate, nodeCryptoKeySource, signHostCsr, type CertificateAuthority,
} from '../src/runtime/pki/index.js';
import { LogCapture, onceWithin, readToEnd } from './helpers/real-net.js';

const logs = new LogCapture();
const platform = createRealPlatform({ hostName: 'test-du', logStream: logs });
const REGISTRY_SNI = 'registry.du.pf9lab';

let dir: string;
let ca: CertificateAuthority;
let clientCert: { certPem: string; keyPem: string };
let gateway: DuGateway;
let backend: StreamListener;
const backendSockets: StreamSocket[] = [];
let backendBytes = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pf9lab-du-'));
  // The DU PKI on the real clock (real keys): on a real host OpenSSL's clock and the platform's agree.
  const keys = nodeCryptoKeySource();
  const nowMs = platform.clock.now();
  ca = await createRootCa({ keySource: keys, random: platform.random, nowMs, commonName: 'pf9lab DU CA' });
  const serverCert = await issueGatewayCertificate(ca, { keySource: keys, random: platform.random, nowMs, dnsNames: ['du.pf9lab', REGISTRY_SNI, 'other.du.pf9lab'] });
  const clientKey = await keys.generateRsaKey();
  clientCert = { ...signHostCsr(ca, createHostCsr('host-1', clientKey), { random: platform.random, nowMs }), keyPem: clientKey.privateKeyPem };
  await writeFile(join(dir, 'du.crt'), serverCert.certPem);
  await writeFile(join(dir, 'du.key'), serverCert.keyPem, { mode: 0o600 });
  await writeFile(join(dir, 'ca.crt'), ca.certPem);
  await writeFile(join(dir, 'revoked.json'), RevocationList.empty().toJson());

  // The backend answers "registry:<what it got>" once the client's side ends.
  backend = await platform.streams.listen({ host: '127.0.0.1', port: 0, allowHalfOpen: true }, (socket) => {
    backendSockets.push(socket);
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      backendBytes += chunk.length;
      received += chunk.toString();
    });
    socket.on('end', () => socket.end(`registry:${received}`));
    socket.on('error', () => undefined);
  });
  gateway = await startDuGateway(platform, {
    listen: { host: '127.0.0.1', port: 0 },
    tls: { certFile: join(dir, 'du.crt'), keyFile: join(dir, 'du.key'), caFile: join(dir, 'ca.crt'), revocationFile: join(dir, 'revoked.json') },
    services: [{ sni: REGISTRY_SNI, backend: { host: '127.0.0.1', port: backend.port } }],
    idleTimeoutMs: 10_000,
    connectTimeoutMs: 2_000,
    handshakeTimeoutMs: 2_000,
  });
});

afterAll(async () => {
  await gateway?.stop();
  for (const socket of backendSockets) socket.destroy();
  await backend?.close();
  await rm(dir, { recursive: true, force: true });
});

function connect(servername: string, withCert = true): TLSSocket {
  const socket = platform.streams.connect({ host: '127.0.0.1', port: gateway.port, allowHalfOpen: true });
  const tlsSocket = platform.tls.connect({
    socket, servername, ca: [ca.certPem], ...(withCert ? { key: clientCert.keyPem, cert: clientCert.certPem } : {}), minVersion: 'TLSv1.3', handshakeTimeoutMs: 5_000,
  });
  tlsSocket.on('error', () => undefined);
  return tlsSocket;
}

describe('DU gateway on real loopback sockets', () => {
  it('relays a good client to the backend its SNI names, both ways, with half-close', async () => {
    const client = connect(REGISTRY_SNI);
    await onceWithin(client, 'secureConnect');
    client.end('GET /v2/pause');
    expect((await readToEnd(client)).toString()).toBe('registry:GET /v2/pause');
    await expect.poll(() => gateway.stats().tunnelsClosedByReason.completed).toBe(1);
    expect(gateway.stats().bytesUp).toBe('GET /v2/pause'.length);
  });

  it('closes an unknown SNI without a byte, and nothing reaches the backend', async () => {
    const bytesBefore = backendBytes;
    const connectionsBefore = backendSockets.length;
    const client = connect('other.du.pf9lab');
    await onceWithin(client, 'secureConnect');
    client.write('secret');
    expect((await readToEnd(client)).length).toBe(0);
    await expect.poll(() => gateway.stats().refusedByReason['unknown-sni']).toBe(1);
    expect(backendBytes).toBe(bytesBefore);
    expect(backendSockets.length).toBe(connectionsBefore);
    const refusal = logs.events('du.refused')[0];
    expect(refusal).toMatchObject({ reason: 'unknown-sni', sni: 'other.du.pf9lab', subject: 'host-1' });
  });

  it('resets a client without a certificate (the real TCP stream under TLS is found and reset)', async () => {
    const bytesBefore = backendBytes;
    const client = connect(REGISTRY_SNI, false);
    const errors: string[] = [];
    client.on('error', (error: NodeJS.ErrnoException) => errors.push(error.code ?? error.message));
    client.write('secret');
    await readToEnd(client);
    await expect.poll(() => gateway.stats().refusedByReason['no-client-cert']).toBe(1);
    await expect.poll(() => errors).toContain('ECONNRESET');
    expect(backendBytes).toBe(bytesBefore);
  });
});
