// The HTTP CONNECT proxy on the simulated platform (the same code runs on
// real hosts; see proxy-service.test.ts). Here the network itself produces
// the failures: a closed port (502), a partitioned target (504), a silent
// tunnel (idle timeout).
import { describe, expect, it } from 'vitest';
import { World } from '../sim/network/world.js';
import type { Platform, StreamSocket } from '../src/runtime/platform/types.js';
import { startProxy, type ProxyService } from '../src/runtime/proxy/proxy-service.js';
import { dialViaProxy, parseConnectResponse, ProxyDialError } from '../src/runtime/proxy/connect-client.js';

const PROXY_IP = '198.18.0.10';
const TARGET_IP = '198.18.0.20';
const AUTH = { username: 'lab', password: 'secret' };

interface ProxyWorld {
  world: World;
  client: Platform;
  proxy: () => ProxyService;
}

async function proxyWorld(seed = 1): Promise<ProxyWorld> {
  const world = new World({ seed });
  const lan = world.segment('lan', { latencyMs: 2 });
  const client = world.host('client');
  const proxyHost = world.host('proxy');
  const target = world.host('target');
  world.attach(client, lan, '198.18.0.1/24');
  world.attach(proxyHost, lan, `${PROXY_IP}/24`);
  world.attach(target, lan, `${TARGET_IP}/24`);
  let service: ProxyService | undefined;
  proxyHost.onBoot(async (platform) => {
    service = await startProxy(platform, {
      listen: { host: '0.0.0.0', port: 3128 },
      users: [AUTH],
      allowedPorts: [9000, 9001],
      idleTimeoutMs: 5_000,
      connectTimeoutMs: 3_000,
    });
  });
  target.onBoot(async (platform) => {
    await platform.streams.listen({ host: '0.0.0.0', port: 9000, allowHalfOpen: true }, (socket) => {
      socket.on('data', (data: Buffer) => socket.write(Buffer.concat([Buffer.from('echo:'), data])));
      socket.on('end', () => socket.end());
    });
  });
  await world.run({ untilMs: 10 });
  return { world, client: client.platform, proxy: () => service as ProxyService };
}

/** Sends raw bytes to the proxy and collects everything until it closes. */
async function rawExchange(pw: ProxyWorld, request: string): Promise<{ response: string; closed: boolean }> {
  const socket = pw.client.streams.connect({ host: PROXY_IP, port: 3128 });
  let response = '';
  let closed = false;
  socket.on('connect', () => socket.write(request));
  socket.on('data', (data: Buffer) => (response += data.toString('latin1')));
  socket.on('error', () => undefined);
  socket.on('close', () => (closed = true));
  await pw.world.run({ forMs: 20_000, stopWhen: () => closed });
  return { response, closed };
}

async function dial(pw: ProxyWorld, port: number, auth = AUTH): Promise<StreamSocket | ProxyDialError | Error> {
  let outcome: StreamSocket | Error | undefined;
  dialViaProxy(pw.client.streams, pw.client.clock, {
    proxy: { host: PROXY_IP, port: 3128 },
    target: { host: TARGET_IP, port },
    auth,
    allowHalfOpen: true,
  }).then(
    (socket) => (outcome = socket),
    (error: Error) => (outcome = error),
  );
  await pw.world.run({ forMs: 20_000, stopWhen: () => outcome !== undefined });
  if (outcome === undefined) throw new Error('dial did not finish');
  return outcome;
}

describe('HTTP CONNECT proxy on the simulated network', () => {
  it('tunnels both ways after 200, and keeps half-close', async () => {
    const pw = await proxyWorld();
    const socket = await dial(pw, 9000);
    if (socket instanceof Error) throw socket;
    let received = '';
    let ended = false;
    socket.on('data', (data: Buffer) => (received += data.toString()));
    socket.on('end', () => (ended = true));
    socket.end('ping');
    await pw.world.run({ forMs: 5_000, stopWhen: () => ended });
    expect(received).toBe('echo:ping');
    expect(ended).toBe(true);
    expect(pw.proxy().stats().byStatus[200]).toBe(1);
  });

  it('answers 407 with a challenge without credentials, and for wrong ones', async () => {
    const pw = await proxyWorld();
    const missing = await rawExchange(pw, `CONNECT ${TARGET_IP}:9000 HTTP/1.1\r\nHost: ${TARGET_IP}:9000\r\n\r\n`);
    expect(missing.response).toMatch(/^HTTP\/1\.1 407 /);
    expect(missing.response).toContain('Proxy-Authenticate: Basic realm="pf9lab"');
    const wrong = await dial(pw, 9000, { username: 'lab', password: 'guess' });
    expect(wrong).toBeInstanceOf(ProxyDialError);
    expect((wrong as ProxyDialError).code).toBe('ERR_PROXY_AUTH_REQUIRED');
  });

  it('answers 403 for a port outside the allowlist', async () => {
    const pw = await proxyWorld();
    const outcome = await dial(pw, 22);
    expect((outcome as ProxyDialError).status).toBe(403);
  });

  it('answers 502 when the target refuses the connection', async () => {
    const pw = await proxyWorld();
    const outcome = await dial(pw, 9001);
    expect((outcome as ProxyDialError).status).toBe(502);
  });

  it('answers 504 when the target cannot be reached in time', async () => {
    const pw = await proxyWorld();
    pw.world.partition(['proxy'], ['target']);
    const startedMs = pw.world.engine.elapsedMs();
    const outcome = await dial(pw, 9000);
    expect((outcome as ProxyDialError).status).toBe(504);
    // connectTimeoutMs is 3 s; the answer then needs one hop back.
    expect(pw.world.engine.elapsedMs() - startedMs).toBeGreaterThanOrEqual(3_000);
    expect(pw.world.engine.elapsedMs() - startedMs).toBeLessThan(3_100);
  });

  it.each([
    ['a garbage line', 'hello\r\n\r\n', 400],
    ['a GET', `GET http://${TARGET_IP}:9000/ HTTP/1.1\r\nHost: x\r\n\r\n`, 405],
    ['a target without a port', `CONNECT ${TARGET_IP} HTTP/1.1\r\nHost: x\r\n\r\n`, 400],
    ['a port out of range', `CONNECT ${TARGET_IP}:70000 HTTP/1.1\r\nHost: x\r\n\r\n`, 400],
    ['a header without a colon', `CONNECT ${TARGET_IP}:9000 HTTP/1.1\r\nbroken header\r\n\r\n`, 400],
    ['binary noise', '\u0000\u00ff\u0016\u0003\u0001\r\n\r\n', 400],
  ])('answers %s with %i and closes, and keeps serving', async (_name, request, status) => {
    const pw = await proxyWorld();
    const outcome = await rawExchange(pw, request);
    expect(parseConnectResponse(Buffer.from(outcome.response, 'latin1'))).toMatchObject({ kind: 'response', status });
    expect(outcome.closed).toBe(true);
    // The proxy is still alive and serving.
    const socket = await dial(pw, 9000);
    expect(socket).not.toBeInstanceOf(Error);
    expect(pw.world.engine.trace.count('proc.crash')).toBe(0);
  });

  it('closes a silent tunnel after the idle timeout, with a reset both ways', async () => {
    const pw = await proxyWorld();
    const socket = await dial(pw, 9000);
    if (socket instanceof Error) throw socket;
    let error: string | undefined;
    let closedAtMs: number | undefined;
    const openedAtMs = pw.world.engine.elapsedMs();
    socket.on('error', (e: Error & { code?: string }) => (error = e.code));
    socket.on('close', () => (closedAtMs = pw.world.engine.elapsedMs()));
    await pw.world.run({ forMs: 20_000, stopWhen: () => closedAtMs !== undefined });
    expect(error).toBe('ECONNRESET');
    expect((closedAtMs as number) - openedAtMs).toBeGreaterThanOrEqual(5_000);
    expect((closedAtMs as number) - openedAtMs).toBeLessThan(5_100);
  });
});
