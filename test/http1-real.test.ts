// The HTTP/1.1 client and server on the real platform, over 127.0.0.1 only:
// with each other, with Node's own HTTP implementations (independent
// parsers: llhttp behind node:http, undici behind fetch), and with the
// installed etcd 3.4 (a Go net/http server), which this client must carry.
import { createServer as createHttpServer, type Server } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRealPlatform } from '../src/runtime/platform/real/index.js';
import { httpRequest } from '../src/runtime/net/http1/client-request.js';
import { httpStream } from '../src/runtime/net/http1/client-stream.js';
import { serveHttp } from '../src/runtime/net/http1/server.js';
import { LogCapture } from './helpers/real-net.js';
import { freePort, skipLiveEtcd, startLiveEtcd, type LiveEtcd } from './helpers/live-etcd.js';

const logs = new LogCapture();
const platform = createRealPlatform({ hostName: 'test-http1', logStream: logs });
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The first `count` lines of a stream, then close it; bounded by the stream's own timeouts and `count`. */
async function firstLines(lines: AsyncIterable<string>, count: number): Promise<string[]> {
  const got: string[] = [];
  for await (const line of lines) {
    got.push(line);
    if (got.length === count) break;
  }
  return got;
}

describe('http1 on the real platform (loopback)', () => {
  it('serves and fetches a JSON POST, streams lines in real time, and reports a refused connection', async () => {
    const server = await serveHttp(platform, { host: '127.0.0.1', port: 0 }, async (request) => {
      if (request.path === '/watch') {
        return {
          status: 200,
          headers: { 'content-type': 'application/json' },
          stream: (write, end, onClose) => {
            let n = 0;
            const timer = platform.clock.setInterval(() => {
              write(`{"n":${++n}}\n`);
              if (n === 3) end();
            }, 20);
            onClose(() => platform.clock.clearTimer(timer));
          },
        };
      }
      return { status: 201, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ got: JSON.parse(request.body.toString()) as unknown }) };
    });
    cleanups.push(() => server.close());

    const response = await httpRequest(platform, { host: '127.0.0.1', port: server.port, method: 'POST', path: '/kv', body: '{"a":1}', timeoutMs: 5_000 });
    expect(response.status).toBe(201);
    expect(JSON.parse(response.body.toString())).toEqual({ got: { a: 1 } });

    const startedMs = platform.clock.now();
    const stream = httpStream(platform, { host: '127.0.0.1', port: server.port, method: 'GET', path: '/watch', timeoutMs: 5_000, idleTimeoutMs: 5_000 });
    const lines: string[] = [];
    for await (const line of stream.lines) lines.push(line);
    expect(lines).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
    expect(platform.clock.now() - startedMs).toBeGreaterThanOrEqual(55);
    expect((await stream.head).status).toBe(200);

    const closedPort = await freePort();
    await expect(httpRequest(platform, { host: '127.0.0.1', port: closedPort, method: 'GET', path: '/', timeoutMs: 5_000 })).rejects.toMatchObject({
      code: 'ERR_HTTP_CONNECT',
      causeCode: 'ECONNREFUSED',
    });
  }, 20_000);

  it('talks to node:http as a server: Content-Length, chunked streaming, and until-close answers', async () => {
    const nodeServer: Server = createHttpServer((request, response) => {
      if (request.url === '/stream') {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.write('{"n":1}\n');
        setTimeout(() => {
          response.write('{"n":2}\n');
          response.end();
        }, 20);
        return;
      }
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        response.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
        response.end(body);
      });
    });
    await new Promise<void>((resolve) => nodeServer.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          nodeServer.close(() => resolve());
          nodeServer.closeAllConnections();
        }),
    );
    const port = (nodeServer.address() as { port: number }).port;

    const echoed = await httpRequest(platform, { host: '127.0.0.1', port, method: 'PUT', path: '/echo', body: 'ping', timeoutMs: 5_000 });
    expect(echoed.body.toString()).toBe('ping');
    expect(echoed.headers['connection']).toBe('close');

    const streamed = await httpRequest(platform, { host: '127.0.0.1', port, method: 'GET', path: '/stream', timeoutMs: 5_000 });
    expect(streamed.headers['transfer-encoding']).toBe('chunked');
    expect(streamed.body.toString()).toBe('{"n":1}\n{"n":2}\n');

    const stream = httpStream(platform, { host: '127.0.0.1', port, method: 'GET', path: '/stream', timeoutMs: 5_000 });
    expect(await firstLines(stream.lines, 5)).toEqual(['{"n":1}', '{"n":2}']);
  }, 20_000);

  it('is understood by fetch (undici) as a client, and refuses what it must', async () => {
    const server = await serveHttp(platform, { host: '127.0.0.1', port: 0, bodyBytesMax: 1024 }, async (request) => {
      if (request.path === '/lines') return { status: 200, stream: (write, end) => (write('a\n'), write('b\n'), end()) };
      return { status: 200, headers: { 'x-method': request.method }, body: `${request.method} ${request.path} ${request.body.length}` };
    });
    cleanups.push(() => server.close());
    const base = `http://127.0.0.1:${server.port}`;

    const posted = await fetch(`${base}/p?q=1`, { method: 'POST', body: 'x'.repeat(100), signal: AbortSignal.timeout(5_000) });
    expect(posted.status).toBe(200);
    expect(posted.headers.get('x-method')).toBe('POST');
    expect(await posted.text()).toBe('POST /p?q=1 100');

    const lines = await fetch(`${base}/lines`, { signal: AbortSignal.timeout(5_000) });
    expect(await lines.text()).toBe('a\nb\n');

    const tooBig = await fetch(`${base}/p`, { method: 'POST', body: 'x'.repeat(2048), signal: AbortSignal.timeout(5_000) });
    expect(tooBig.status).toBe(413);
    expect(await tooBig.text()).toBe('413 Content Too Large: Content-Length 2048 exceeds 1024 bytes\n');
  }, 20_000);
});

// ---------------------------------------------------------------- a live etcd 3.4 (Go net/http)

function b64(text: string): string {
  return Buffer.from(text).toString('base64');
}

describe.skipIf(skipLiveEtcd('http1-real'))('http1 against a live etcd (the installed binary, on loopback)', () => {
  let etcd: LiveEtcd | undefined;
  let clientPort = 0;

  const post = (path: string, body: unknown): ReturnType<typeof httpRequest> =>
    httpRequest(platform, { host: '127.0.0.1', port: clientPort, method: 'POST', path, body: JSON.stringify(body), headers: { 'content-type': 'application/json' }, timeoutMs: 5_000 });

  beforeAll(async () => {
    etcd = await startLiveEtcd('http1');
    clientPort = etcd.clientPort;
  }, 30_000);

  afterAll(() => etcd?.stop());

  it('puts and ranges through the JSON gateway, with small (Content-Length) and large (chunked) answers', async () => {
    const put = await post('/v3/kv/put', { key: b64('small'), value: b64('v') });
    expect(put.status).toBe(200);
    const small = await post('/v3/kv/range', { key: b64('small') });
    expect(small.headers['content-length']).toBeDefined();
    const smallKvs = (JSON.parse(small.body.toString()) as { kvs: { value: string }[] }).kvs;
    expect(Buffer.from(smallKvs[0]?.value ?? '', 'base64').toString()).toBe('v');

    // Go's net/http answers chunked once a handler writes more than 2 KiB without a length.
    const bigValue = 'x'.repeat(64 * 1024);
    expect((await post('/v3/kv/put', { key: b64('big'), value: b64(bigValue) })).status).toBe(200);
    const big = await post('/v3/kv/range', { key: b64('big') });
    expect(big.headers['transfer-encoding']).toBe('chunked');
    const bigKvs = (JSON.parse(big.body.toString()) as { kvs: { value: string }[] }).kvs;
    expect(Buffer.from(bigKvs[0]?.value ?? '', 'base64').toString()).toBe(bigValue);
  }, 20_000);

  it('watches: the created answer, then an event per put, line by line; close() ends it', async () => {
    const watch = httpStream(platform, {
      host: '127.0.0.1',
      port: clientPort,
      method: 'POST',
      path: '/v3/watch',
      body: JSON.stringify({ create_request: { key: b64('w') } }),
      timeoutMs: 5_000,
      idleTimeoutMs: 5_000,
    });
    cleanups.push(() => watch.close());
    const iterator = watch.lines[Symbol.asyncIterator]();
    const created = JSON.parse((await iterator.next()).value as string) as { result: { created: boolean } };
    expect(created.result.created).toBe(true);
    expect((await watch.head).headers['transfer-encoding']).toBe('chunked');
    for (const value of ['one', 'two']) {
      expect((await post('/v3/kv/put', { key: b64('w'), value: b64(value) })).status).toBe(200);
      const event = JSON.parse((await iterator.next()).value as string) as { result: { events: { kv: { value: string } }[] } };
      expect(Buffer.from(event.result.events[0]?.kv.value ?? '', 'base64').toString()).toBe(value);
    }
    watch.close();
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
  }, 20_000);
});
