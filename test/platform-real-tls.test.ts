// createNodeTls over real loopback sockets (net.Socket) and over plain
// in-memory Duplex pairs (what the simulation hands it): TLS 1.3, mutual
// authentication with a test CA, handshake and idle timeouts on the
// platform clock.
import { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { createClock } from '@sinonjs/fake-timers';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createNodeTls } from '../src/runtime/platform/node-tls.js';
import { createRealPlatform } from '../src/runtime/platform/real/index.js';
import type { Clock, StreamListener, StreamSocket, TimerHandle, TlsAcceptor } from '../src/runtime/platform/types.js';
import { createCertificateAuthority, issueCertificate } from './helpers/certs.js';
import type { CertificateAuthority, IssuedCertificate } from './helpers/certs.js';
import { LogCapture, onceWithin, readUntil } from './helpers/real-net.js';

const platform = createRealPlatform({ hostName: 'test-tls', logStream: new LogCapture() });
const serverName = 'du.pf9lab.test';

let ca: CertificateAuthority;
let otherCa: CertificateAuthority;
let serverCert: IssuedCertificate;
let clientCert: IssuedCertificate;
let foreignClientCert: IssuedCertificate;
let expiredClientCert: IssuedCertificate;
let selfSignedClientCert: IssuedCertificate;

beforeAll(() => {
  ca = createCertificateAuthority({ commonName: 'pf9lab root' });
  otherCa = createCertificateAuthority({ commonName: 'someone else' });
  serverCert = issueCertificate(ca, { commonName: serverName, subjectAltNames: [serverName, '127.0.0.1'] });
  clientCert = issueCertificate(ca, { commonName: 'host-1' });
  foreignClientCert = issueCertificate(otherCa, { commonName: 'host-1' });
  const dayMs = 24 * 60 * 60 * 1000;
  expiredClientCert = issueCertificate(ca, {
    commonName: 'host-1',
    notBefore: new Date(Date.now() - 10 * dayMs),
    notAfter: new Date(Date.now() - dayMs),
  });
  selfSignedClientCert = issueCertificate(ca, { commonName: 'host-1', selfSigned: true });
});

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A platform Clock on a fake-timers clock that only moves when the test ticks it. */
function fakeClock(): { clock: Clock; tick: (ms: number) => void } {
  const fake = createClock(0);
  const timers = new Map<number, ReturnType<typeof fake.setTimeout>>();
  let timerIdLast = 0;
  const register = (timer: ReturnType<typeof fake.setTimeout>): TimerHandle => {
    timerIdLast += 1;
    timers.set(timerIdLast, timer);
    return { timerId: timerIdLast };
  };
  const clock: Clock = {
    now: () => fake.now,
    setTimeout: (callback, delayMs) => register(fake.setTimeout(callback, delayMs)),
    setInterval: (callback, intervalMs) => register(fake.setInterval(callback, intervalMs)),
    clearTimer: (handle) => {
      const timer = handle === undefined ? undefined : timers.get(handle.timerId);
      if (timer !== undefined) fake.clearTimeout(timer);
    },
    sleep: (delayMs) => new Promise<void>((resolve) => fake.setTimeout(() => resolve(), delayMs)),
  };
  return { clock, tick: (ms) => fake.tick(ms) };
}

interface TlsServer {
  port: number;
  acceptor: TlsAcceptor;
  secured: TLSSocket[];
  clientErrors: { error: NodeJS.ErrnoException; socket: TLSSocket }[];
}

async function startTlsServer(options: { clock?: Clock; handshakeTimeoutMs?: number } = {}): Promise<TlsServer> {
  const tls = createNodeTls(options.clock ?? platform.clock);
  const acceptor = tls.createAcceptor({
    key: serverCert.keyPem,
    cert: serverCert.certPem,
    ca: [ca.certPem],
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.3',
    ...(options.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: options.handshakeTimeoutMs } : {}),
  });
  const server: TlsServer = { port: 0, acceptor, secured: [], clientErrors: [] };
  acceptor.on('secureConnection', (socket) => {
    server.secured.push(socket);
    socket.on('error', () => undefined);
    socket.pipe(socket); // echo
  });
  acceptor.on('tlsClientError', (error, socket) => server.clientErrors.push({ error, socket }));
  const accepted: StreamSocket[] = [];
  const listener: StreamListener = await platform.streams.listen({ host: '127.0.0.1', port: 0 }, (socket) => {
    accepted.push(socket);
    socket.on('error', () => undefined);
    acceptor.accept(socket);
  });
  server.port = listener.port;
  cleanups.push(async () => {
    for (const socket of [...accepted, ...server.secured]) socket.destroy();
    await listener.close();
  });
  return server;
}

function connectTls(port: number, cert: IssuedCertificate | undefined, clock: Clock = platform.clock): TLSSocket {
  const socket = platform.streams.connect({ host: '127.0.0.1', port });
  const tlsSocket = createNodeTls(clock).connect({
    socket,
    servername: serverName,
    ca: [ca.certPem],
    ...(cert !== undefined ? { key: cert.keyPem, cert: cert.certPem } : {}),
  });
  cleanups.push(() => {
    tlsSocket.destroy();
    socket.destroy();
  });
  return tlsSocket;
}

/** Resolves with how a client connection ended: echoed data, or an error / close without it. */
async function tryEcho(client: TLSSocket): Promise<'echoed' | 'rejected'> {
  client.on('error', () => undefined);
  client.write('ping');
  try {
    await readUntil(client, (received) => received.toString() === 'ping', 5_000);
    return 'echoed';
  } catch {
    return 'rejected';
  }
}

describe('createNodeTls over real loopback sockets', () => {
  it('accepts a client with a certificate from the CA: TLS 1.3, authorized on both sides', async () => {
    const server = await startTlsServer();
    const client = connectTls(server.port, clientCert);
    await onceWithin(client, 'secureConnect');
    expect(client.authorized).toBe(true);
    expect(client.getProtocol()).toBe('TLSv1.3');
    expect(await tryEcho(client)).toBe('echoed');

    expect(server.secured).toHaveLength(1);
    const serverSide = server.secured[0];
    expect(serverSide?.authorized).toBe(true);
    expect(serverSide?.getPeerCertificate().subject.CN).toBe('host-1');
    expect(serverSide?.servername).toBe(serverName);
    expect(server.clientErrors).toHaveLength(0);
    // tls.Server's own handshake timer (setTimeout on real timers) was never armed.
    expect(serverSide?.timeout).toBeUndefined();
  });

  it('rejects a client without a certificate', async () => {
    const server = await startTlsServer();
    const client = connectTls(server.port, undefined);
    expect(await tryEcho(client)).toBe('rejected');
    expect(server.secured).toHaveLength(0);
    await expect.poll(() => server.clientErrors.length).toBe(1);
  });

  it.each([
    ['signed by another CA', () => foreignClientCert],
    ['expired', () => expiredClientCert],
    ['self-signed', () => selfSignedClientCert],
  ])('rejects a client whose certificate is %s', async (_label, cert) => {
    const server = await startTlsServer();
    const client = connectTls(server.port, cert());
    expect(await tryEcho(client)).toBe('rejected');
    expect(server.secured).toHaveLength(0);
    await expect.poll(() => server.clientErrors.length).toBe(1);
  });

  it('rejects a server whose name does not match', async () => {
    const server = await startTlsServer();
    const socket = platform.streams.connect({ host: '127.0.0.1', port: server.port });
    const client = createNodeTls(platform.clock).connect({
      socket, servername: 'other.pf9lab.test', ca: [ca.certPem], key: clientCert.keyPem, cert: clientCert.certPem,
    });
    cleanups.push(() => {
      client.destroy();
    });
    const [error] = await onceWithin<[NodeJS.ErrnoException]>(client, 'error');
    expect(error.code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('times out a handshake that never starts with ETIMEDOUT (acceptor)', async () => {
    const server = await startTlsServer({ handshakeTimeoutMs: 100 });
    const silent = platform.streams.connect({ host: '127.0.0.1', port: server.port });
    cleanups.push(() => {
      silent.destroy();
    });
    const silentClosed = onceWithin(silent, 'close');
    await onceWithin(silent, 'connect');
    await expect.poll(() => server.clientErrors.length, { timeout: 3_000 }).toBe(1);
    expect(server.clientErrors[0]?.error.code).toBe('ETIMEDOUT');
    await silentClosed; // the server closed the connection
  });

  it('clears the acceptor handshake timer once the handshake is done', async () => {
    const server = await startTlsServer({ handshakeTimeoutMs: 100 });
    const client = connectTls(server.port, clientCert);
    await onceWithin(client, 'secureConnect');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(server.clientErrors).toHaveLength(0);
    expect(await tryEcho(client)).toBe('echoed');
  });

  it('times out a client handshake with ETIMEDOUT when the server never answers', async () => {
    const listener = await platform.streams.listen({ host: '127.0.0.1', port: 0 }, (socket) => {
      cleanups.push(() => {
        socket.destroy();
      });
    });
    cleanups.push(() => listener.close());
    const socket = platform.streams.connect({ host: '127.0.0.1', port: listener.port });
    const client = createNodeTls(platform.clock).connect({ socket, servername: serverName, ca: [ca.certPem], handshakeTimeoutMs: 100 });
    cleanups.push(() => {
      client.destroy();
    });
    const [error] = await onceWithin<[NodeJS.ErrnoException]>(client, 'error');
    expect(error.code).toBe('ETIMEDOUT');
  });

  it('runs the idle timeout on the platform clock and re-arms it on activity', async () => {
    const { clock, tick } = fakeClock();
    const server = await startTlsServer();
    const client = connectTls(server.port, clientCert, clock);
    await onceWithin(client, 'secureConnect');

    let timeouts = 0;
    client.setTimeout(1_000, () => {
      timeouts += 1;
    });
    tick(600);
    expect(await tryEcho(client)).toBe('echoed'); // a write and a read at t=600
    tick(600); // t=1200: only 600 ms idle
    expect(timeouts).toBe(0);
    tick(400); // t=1600: 1000 ms idle
    expect(timeouts).toBe(1);
    expect(client.destroyed).toBe(false); // 'timeout' does not close

    client.setTimeout(0);
    tick(5_000);
    expect(timeouts).toBe(1);
  });

  it('runs the idle timeout of accepted sockets on the platform clock', async () => {
    const { clock, tick } = fakeClock();
    const server = await startTlsServer({ clock });
    const client = connectTls(server.port, clientCert);
    await onceWithin(client, 'secureConnect');
    expect(await tryEcho(client)).toBe('echoed');
    const serverSide = server.secured[0];
    if (serverSide === undefined) throw new Error('no server-side socket');
    let timeouts = 0;
    serverSide.setTimeout(500, () => {
      timeouts += 1;
    });
    expect(serverSide.timeout).toBe(500);
    tick(499);
    expect(timeouts).toBe(0);
    tick(1);
    expect(timeouts).toBe(1);
  });
});

/** Two in-memory Duplex ends, like the simulation's streams (no handle, so tls wraps them in JS). */
function duplexPair(): [StreamSocket, StreamSocket] {
  const ends: Duplex[] = [];
  const make = (peerIndex: number): Duplex =>
    new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, callback) {
        ends[peerIndex]?.push(chunk);
        callback();
      },
      final(callback) {
        ends[peerIndex]?.push(null);
        callback();
      },
      destroy(error, callback) {
        // Like a closed TCP connection: the peer notices.
        ends[peerIndex]?.destroy();
        callback(error);
      },
    });
  ends.push(make(1), make(0));
  return ends as unknown as [StreamSocket, StreamSocket];
}

describe('createNodeTls over plain Duplex streams', () => {
  function acceptor(handshakeTimeoutMs?: number): TlsServer {
    const tlsAcceptor = createNodeTls(platform.clock).createAcceptor({
      key: serverCert.keyPem, cert: serverCert.certPem, ca: [ca.certPem], requestCert: true, rejectUnauthorized: true,
      ...(handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs } : {}),
    });
    const server: TlsServer = { port: 0, acceptor: tlsAcceptor, secured: [], clientErrors: [] };
    tlsAcceptor.on('secureConnection', (socket) => {
      server.secured.push(socket);
      socket.pipe(socket);
      cleanups.push(() => {
        socket.destroy();
      });
    });
    tlsAcceptor.on('tlsClientError', (error, socket) => server.clientErrors.push({ error, socket }));
    return server;
  }

  it('authenticates both sides and carries data', async () => {
    const server = acceptor();
    const [clientEnd, serverEnd] = duplexPair();
    server.acceptor.accept(serverEnd);
    const client = createNodeTls(platform.clock).connect({
      socket: clientEnd, servername: serverName, ca: [ca.certPem], key: clientCert.keyPem, cert: clientCert.certPem,
    });
    cleanups.push(() => {
      client.destroy();
    });
    await onceWithin(client, 'secureConnect');
    expect(await tryEcho(client)).toBe('echoed');
    expect(server.secured[0]?.authorized).toBe(true);
  });

  it('rejects a certificate from another CA', async () => {
    const server = acceptor();
    const [clientEnd, serverEnd] = duplexPair();
    server.acceptor.accept(serverEnd);
    const client = createNodeTls(platform.clock).connect({
      socket: clientEnd, servername: serverName, ca: [ca.certPem], key: foreignClientCert.keyPem, cert: foreignClientCert.certPem,
    });
    cleanups.push(() => {
      client.destroy();
    });
    expect(await tryEcho(client)).toBe('rejected');
    expect(server.secured).toHaveLength(0);
    await expect.poll(() => server.clientErrors.length).toBe(1);
  });

  it('times out a silent peer with ETIMEDOUT', async () => {
    const server = acceptor(100);
    const [clientEnd, serverEnd] = duplexPair();
    clientEnd.on('error', () => undefined);
    serverEnd.on('error', () => undefined);
    server.acceptor.accept(serverEnd);
    await expect.poll(() => server.clientErrors.length, { timeout: 3_000 }).toBe(1);
    expect(server.clientErrors[0]?.error).toMatchObject({ code: 'ETIMEDOUT' });
    expect(serverEnd.destroyed).toBe(true);
  });
});
