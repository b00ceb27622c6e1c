// The CONNECT proxy on the real platform over 127.0.0.1: tunnels, refusals,
// half-close, idle timeout, limits, stop. (Simulated-platform tests come with
// the simulated network.)
import { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createRealPlatform } from '../src/runtime/platform/real/index.js';
import type { Platform, StreamListener, StreamSocket } from '../src/runtime/platform/types.js';
import { startProxy } from '../src/runtime/proxy/proxy-service.js';
import type { ProxyConfig, ProxyService } from '../src/runtime/proxy/proxy-service.js';
import { LogCapture, closedWithin, onceWithin, readToEnd, readUntil } from './helpers/real-net.js';

const logs = new LogCapture();
const platform = createRealPlatform({ hostName: 'test-proxy', logStream: logs });
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function proxy(config: Partial<ProxyConfig> = {}, on: Platform = platform): Promise<ProxyService> {
  const service = await startProxy(on, { listen: { host: '127.0.0.1', port: 0 }, ...config });
  cleanups.push(() => service.stop());
  return service;
}

/** A target server: echoes, or runs `onConnection`; half-open so tests see each FIN. */
async function targetServer(onConnection: (socket: StreamSocket) => void = (socket) => socket.pipe(socket)): Promise<StreamListener> {
  const sockets: StreamSocket[] = [];
  const listener = await platform.streams.listen({ host: '127.0.0.1', port: 0, allowHalfOpen: true }, (socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
    onConnection(socket);
  });
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    await listener.close();
  });
  return listener;
}

function connectClient(port: number): StreamSocket {
  const client = platform.streams.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  client.on('error', () => undefined);
  cleanups.push(() => {
    client.destroy();
  });
  return client;
}

const endOfHead = (received: Buffer): boolean => received.includes('\r\n\r\n');

function statusOf(response: Buffer): number {
  return Number(/^HTTP\/1\.1 (\d{3}) /.exec(response.toString('latin1'))?.[1]);
}

/** Sends `head`, reads the whole response up to the proxy's FIN, then closes this side too. */
async function refusal(port: number, head: string): Promise<{ status: number; text: string }> {
  const client = connectClient(port);
  const closed = closedWithin(client);
  const everything = readToEnd(client);
  client.write(Buffer.from(head, 'latin1'));
  const response = await everything;
  expect(client.readableEnded).toBe(true); // the proxy ended the connection after its answer
  client.end();
  await closed;
  return { status: statusOf(response), text: response.toString('latin1') };
}

const basic = (userPass: string): string => `Basic ${Buffer.from(userPass).toString('base64')}`;

describe('CONNECT proxy on the real platform', () => {
  it('tunnels bytes both ways, sends the head-chunk bytes first, and preserves half-close', async () => {
    let targetReceived: Promise<Buffer> = Promise.resolve(Buffer.alloc(0));
    const target = await targetServer((socket) => {
      targetReceived = readToEnd(socket);
      socket.write('greeting from target;');
      socket.on('end', () => {
        // The client's FIN came through; this direction is still open.
        socket.end('reply after FIN');
      });
    });
    const service = await proxy();
    const client = connectClient(service.port);
    // The first tunnel bytes ride in the same packet as the request head.
    client.write(`CONNECT 127.0.0.1:${target.port} HTTP/1.1\r\nHost: 127.0.0.1:${target.port}\r\n\r\nearly bytes;`);
    const head = await readUntil(client, (received) => received.toString().includes('greeting from target;'));
    expect(head.toString()).toBe('HTTP/1.1 200 Connection established\r\n\r\ngreeting from target;');

    const restOfDown = readToEnd(client);
    client.end('late bytes');
    expect((await targetReceived).toString()).toBe('early bytes;late bytes');
    expect((await restOfDown).toString()).toBe('reply after FIN');

    await expect.poll(() => service.stats().tunnelsOpen).toBe(0);
    expect(service.stats()).toMatchObject({
      accepted: 1, tunnelsTotal: 1, byStatus: { 200: 1 }, bytesUp: 'early bytes;late bytes'.length,
      bytesDown: 'greeting from target;reply after FIN'.length, connectionsOpen: 0,
    });
    expect(logs.events('proxy.tunnel_closed').at(-1)).toMatchObject({ reason: 'completed' });
  });

  it('relays a megabyte each way intact', async () => {
    const target = await targetServer();
    const service = await proxy();
    const client = connectClient(service.port);
    client.write(`CONNECT 127.0.0.1:${target.port} HTTP/1.1\r\n\r\n`);
    await readUntil(client, endOfHead);
    const payload = Buffer.alloc(1024 * 1024);
    for (let index = 0; index < payload.length; index += 1) payload[index] = (index * 7919) & 0xff;
    const echoed = readToEnd(client, { timeoutMs: 20_000 });
    client.end(payload);
    expect(Buffer.compare(await echoed, payload)).toBe(0);
  });

  it('requires credentials when users are configured (407)', async () => {
    const target = await targetServer();
    const service = await proxy({ users: [{ username: 'host-1', password: 'pw' }] });
    const request = (auth: string): string => `CONNECT 127.0.0.1:${target.port} HTTP/1.1\r\n${auth}\r\n`;

    const missing = await refusal(service.port, request(''));
    expect(missing.status).toBe(407);
    expect(missing.text).toContain('\r\nProxy-Authenticate: Basic realm="pf9lab"\r\n');
    expect(missing.text).toContain('ERR_PROXY_AUTH_REQUIRED');

    const wrong = await refusal(service.port, request(`Proxy-Authorization: ${basic('host-1:nope')}\r\n`));
    expect(wrong.status).toBe(407);
    expect(logs.events('proxy.refused').at(-1)).toMatchObject({
      status: 407, code: 'ERR_PROXY_AUTH_REQUIRED', reason: 'authentication bad-credentials', attemptedUser: 'host-1',
    });

    const client = connectClient(service.port);
    client.write(request(`Proxy-Authorization: ${basic('host-1:pw')}\r\n`));
    expect(statusOf(await readUntil(client, endOfHead))).toBe(200);
    expect(service.stats().byStatus).toEqual({ 407: 2, 200: 1 });
    expect(logs.events('proxy.tunnel_opened').at(-1)).toMatchObject({ username: 'host-1' });
  });

  it('refuses ports outside the allowlist (403)', async () => {
    const service = await proxy({ allowedPorts: [443] });
    const response = await refusal(service.port, 'CONNECT 127.0.0.1:22 HTTP/1.1\r\n\r\n');
    expect(response.status).toBe(403);
    expect(response.text).toContain('ERR_PROXY_PORT_FORBIDDEN');
  });

  it('answers 502 when the target refuses the connection', async () => {
    const closed = await platform.streams.listen({ host: '127.0.0.1', port: 0 }, () => undefined);
    await closed.close();
    const service = await proxy();
    const response = await refusal(service.port, `CONNECT 127.0.0.1:${closed.port} HTTP/1.1\r\n\r\n`);
    expect(response.status).toBe(502);
    expect(logs.events('proxy.refused').at(-1)).toMatchObject({
      status: 502, code: 'ERR_PROXY_TARGET_UNREACHABLE', reason: 'connect to target: ECONNREFUSED',
    });
  });

  it.each([
    ['a GET', 'GET http://127.0.0.1/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 405],
    ['a bad target', 'CONNECT 127.0.0.1:0 HTTP/1.1\r\n\r\n', 400],
    ['garbage', 'hello\r\n\r\n', 400],
    ['obs-fold', 'CONNECT 127.0.0.1:443 HTTP/1.1\r\nX-A: a\r\n b\r\n\r\n', 400],
    ['whitespace before a colon', 'CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost : a\r\n\r\n', 400],
    ['an unsupported version', 'CONNECT 127.0.0.1:443 HTTP/2.0\r\n\r\n', 505],
    ['a huge head', `CONNECT 127.0.0.1:443 HTTP/1.1\r\nX-A: ${'a'.repeat(10_000)}\r\n\r\n`, 431],
  ])('refuses %s and closes the connection', async (_label, head, status) => {
    const service = await proxy();
    const response = await refusal(service.port, head);
    expect(response.status).toBe(status);
    expect(response.text).toContain('Connection: close');
    if (status === 405) expect(response.text).toContain('\r\nAllow: CONNECT\r\n');
    await expect.poll(() => service.stats().connectionsOpen).toBe(0);
  });

  it('closes a tunnel after idleTimeoutMs without traffic, resetting both sides', async () => {
    let targetSide: StreamSocket | undefined;
    const target = await targetServer((socket) => {
      targetSide = socket;
    });
    const service = await proxy({ idleTimeoutMs: 200 });
    const client = connectClient(service.port);
    client.write(`CONNECT 127.0.0.1:${target.port} HTTP/1.1\r\n\r\n`);
    await readUntil(client, endOfHead);
    const clientClosed = closedWithin(client, 3_000);
    const startedMs = Date.now();
    await clientClosed;
    expect(Date.now() - startedMs).toBeGreaterThanOrEqual(150);
    await expect.poll(() => targetSide?.destroyed).toBe(true);
    await expect.poll(() => service.stats().tunnelsOpen).toBe(0);
    expect(logs.events('proxy.tunnel_closed').at(-1)).toMatchObject({ reason: 'idle-timeout' });
  });

  it('keeps a tunnel with steady traffic open past idleTimeoutMs', async () => {
    const target = await targetServer();
    const service = await proxy({ idleTimeoutMs: 200 });
    const client = connectClient(service.port);
    client.write(`CONNECT 127.0.0.1:${target.port} HTTP/1.1\r\n\r\n`);
    await readUntil(client, endOfHead);
    for (let round = 0; round < 6; round += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      client.write('tick');
      await readUntil(client, (received) => received.toString() === 'tick');
    }
    expect(client.destroyed).toBe(false);
    expect(service.stats().tunnelsOpen).toBe(1);
  });

  it('answers 408 when the head does not arrive in time', async () => {
    const service = await proxy({ headTimeoutMs: 100 });
    const response = await refusal(service.port, 'CONNECT 127.0.0.1:443 HTTP/1.1\r\n');
    expect(response.status).toBe(408);
  });

  it('refuses connections over maxConnections with 503', async () => {
    const service = await proxy({ maxConnections: 1 });
    const first = connectClient(service.port);
    await onceWithin(first, 'connect');
    await expect.poll(() => service.stats().connectionsOpen).toBe(1);
    const second = connectClient(service.port);
    const response = await readToEnd(second);
    expect(statusOf(response)).toBe(503);
    expect(service.stats().byStatus[503]).toBe(1);
  });

  it('stop() closes the listener and resets open tunnels', async () => {
    const target = await targetServer();
    const service = await proxy();
    const client = connectClient(service.port);
    client.write(`CONNECT 127.0.0.1:${target.port} HTTP/1.1\r\n\r\n`);
    await readUntil(client, endOfHead);
    const clientClosed = closedWithin(client);
    await service.stop();
    await clientClosed;
    expect(service.stats()).toMatchObject({ tunnelsOpen: 0, connectionsOpen: 0 });
    expect(logs.events('proxy.tunnel_closed').at(-1)).toMatchObject({ reason: 'stopped' });
    const late = connectClient(service.port);
    const [error] = await onceWithin<[NodeJS.ErrnoException]>(late, 'error');
    expect(error.code).toBe('ECONNREFUSED');
  });

  it('resets the client when the target resets the tunnel', async () => {
    const target = await targetServer((socket) => {
      socket.once('data', () => socket.resetAndDestroy());
    });
    const service = await proxy();
    const client = connectClient(service.port);
    client.write(`CONNECT 127.0.0.1:${target.port} HTTP/1.1\r\n\r\n`);
    await readUntil(client, endOfHead);
    const clientError = onceWithin<[NodeJS.ErrnoException]>(client, 'error');
    client.write('boom');
    const [error] = await clientError;
    expect(error.code).toBe('ECONNRESET');
    await expect.poll(() => logs.events('proxy.tunnel_closed').at(-1)).toMatchObject({ reason: 'target-error', errorCode: 'ECONNRESET' });
  });
});

/** A target connection that never completes; `failWith` makes it fail with that code instead. */
function stalledSocket(failWith?: string): StreamSocket {
  const socket = new Duplex({
    read() {},
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
  Object.assign(socket, { connecting: true, resetAndDestroy: () => socket.destroy() });
  if (failWith !== undefined) {
    setTimeout(() => socket.destroy(Object.assign(new Error(failWith), { code: failWith })), 10);
  }
  return socket as unknown as StreamSocket;
}

describe('CONNECT proxy: dialling a target that does not answer', () => {
  /** The real platform, except that connections to port 9 stall (or fail with `failWith`). */
  function platformWithStalledTarget(dials: StreamSocket[], failWith?: string): Platform {
    return {
      ...platform,
      streams: {
        listen: (options, onConnection) => platform.streams.listen(options, onConnection),
        connect: (options) => {
          if (options.port !== 9) return platform.streams.connect(options);
          const socket = stalledSocket(failWith);
          dials.push(socket);
          return socket;
        },
      },
    };
  }

  it('answers 504 after connectTimeoutMs and abandons the dial', async () => {
    const dials: StreamSocket[] = [];
    const service = await proxy({ connectTimeoutMs: 100 }, platformWithStalledTarget(dials));
    const response = await refusal(service.port, 'CONNECT 198.18.0.9:9 HTTP/1.1\r\n\r\n');
    expect(response.status).toBe(504);
    expect(response.text).toContain('ERR_PROXY_CONNECT_TIMEOUT');
    expect(dials).toHaveLength(1);
    expect(dials[0]?.destroyed).toBe(true);
  });

  it('answers 504 when the network stack reports ETIMEDOUT', async () => {
    const service = await proxy({}, platformWithStalledTarget([], 'ETIMEDOUT'));
    const response = await refusal(service.port, 'CONNECT 198.18.0.9:9 HTTP/1.1\r\n\r\n');
    expect(response.status).toBe(504);
  });

  it.each(['EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET'])('answers 502 for %s', async (code) => {
    const service = await proxy({}, platformWithStalledTarget([], code));
    const response = await refusal(service.port, 'CONNECT 198.18.0.9:9 HTTP/1.1\r\n\r\n');
    expect(response.status).toBe(502);
    expect(logs.events('proxy.refused').at(-1)).toMatchObject({ reason: `connect to target: ${code}` });
  });

  it('abandons the dial when the client goes away', async () => {
    const dials: StreamSocket[] = [];
    const service = await proxy({ connectTimeoutMs: 10_000 }, platformWithStalledTarget(dials));
    const client = connectClient(service.port);
    client.write('CONNECT 198.18.0.9:9 HTTP/1.1\r\n\r\n');
    await expect.poll(() => dials.length).toBe(1);
    client.resetAndDestroy();
    await expect.poll(() => dials[0]?.destroyed).toBe(true);
    await expect.poll(() => service.stats().connectionsOpen).toBe(0);
    expect(logs.events('proxy.client_gone').at(-1)).toMatchObject({ phase: 'dialling' });
  });
});
