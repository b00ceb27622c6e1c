// The HTTP/1.1 client and server end to end on the simulated network: host
// a (198.18.0.1) is the client, host b (198.18.0.2) the server. Every time
// here is virtual.
import { describe, expect, it } from 'vitest';
import type { StreamSocket } from '../src/runtime/platform/types.js';
import { HttpError } from '../src/runtime/net/http1/errors.js';
import { httpRequest, type HttpClientResponse, type HttpRequestOptions } from '../src/runtime/net/http1/client-request.js';
import { httpStream, type HttpStreamOptions } from '../src/runtime/net/http1/client-stream.js';
import { serveHttp, type HttpServer, type HttpServerOptions } from '../src/runtime/net/http1/server.js';
import type { HttpHandler, HttpServerRequest } from '../src/runtime/net/http1/server-types.js';
import type { World } from '../sim/network/world.js';
import { A_IP, B_IP, expectNoFailures, nowMs, record, runUntil, twoHosts, type StreamRecording, type TwoHosts } from './helpers/sim-world.js';

const PORT = 8080;
const LATENCY_MS = 5;
/** a → segment → b and back: four link crossings. */
const ROUND_TRIP_MS = 4 * LATENCY_MS;
/** Slack for virtual-time bounds: a few round trips (ARP, handshake, FIN). */
const SLACK_MS = 5 * ROUND_TRIP_MS;

interface Outcome<T> {
  settled: boolean;
  value: T | undefined;
  error: HttpError | undefined;
  atMs: number | undefined;
}

function track<T>(world: World, promise: Promise<T>): Outcome<T> {
  const outcome: Outcome<T> = { settled: false, value: undefined, error: undefined, atMs: undefined };
  promise.then(
    (value) => Object.assign(outcome, { settled: true, value, atMs: nowMs(world) }),
    (error: unknown) => {
      if (!(error instanceof HttpError)) throw error;
      Object.assign(outcome, { settled: true, error, atMs: nowMs(world) });
    },
  );
  return outcome;
}

function world(): TwoHosts {
  return twoHosts({ link: { latencyMs: LATENCY_MS } });
}

async function serve(pair: TwoHosts, handler: HttpHandler, options: Partial<HttpServerOptions> = {}): Promise<HttpServer> {
  return serveHttp(pair.b.platform, { host: '0.0.0.0', port: PORT, ...options }, handler);
}

function request(pair: TwoHosts, options: Partial<HttpRequestOptions> = {}): Outcome<HttpClientResponse> {
  return track(pair.world, httpRequest(pair.a.platform, { host: B_IP, port: PORT, method: 'GET', path: '/', timeoutMs: 5_000, ...options }));
}

async function settled<T>(pair: TwoHosts, outcome: Outcome<T>, limitMs = 60_000): Promise<Outcome<T>> {
  await runUntil(pair.world, () => outcome.settled, nowMs(pair.world) + limitMs);
  return outcome;
}

/** Sends raw bytes from a to b:PORT and records the answer until the connection closes. */
async function rawExchange(pair: TwoHosts, bytes: string | Buffer, options: { end?: boolean; limitMs?: number } = {}): Promise<StreamRecording> {
  const socket = pair.a.platform.streams.connect({ host: B_IP, port: PORT, allowHalfOpen: true });
  const recording = record(pair.world, socket);
  socket.on('connect', () => {
    if (options.end === true) socket.end(bytes);
    else socket.write(bytes);
  });
  await runUntil(pair.world, () => recording.closed || recording.ended, nowMs(pair.world) + (options.limitMs ?? 60_000));
  return recording;
}

/** A listener on b that answers every connection with `reply` (raw bytes) and then closes, or never if reply is undefined. */
async function rawServer(pair: TwoHosts, reply: ((socket: StreamSocket) => void) | undefined): Promise<void> {
  await pair.b.platform.streams.listen({ host: '0.0.0.0', port: PORT }, (socket) => {
    socket.on('error', () => undefined);
    let answered = false;
    socket.on('data', () => {
      if (answered || reply === undefined) return;
      answered = true;
      reply(socket);
    });
  });
}

const echo: HttpHandler = async (req) => ({
  status: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ method: req.method, path: req.path, body: req.body.toString(), remote: req.remoteAddress, headers: req.headers }),
});

function logEvents(pair: TwoHosts, event: string): Record<string, unknown>[] {
  return pair.b.logs().filter((entry) => entry.event === event).map((entry) => entry.fields);
}

describe('http1 on the simulated network: request and response', () => {
  it('carries a JSON POST and its answer (Content-Length both ways), with one request per connection', async () => {
    const pair = world();
    let seen: HttpServerRequest | undefined;
    await serve(pair, async (req) => {
      seen = req;
      return echo(req);
    });
    const outcome = await settled(pair, request(pair, { method: 'POST', path: '/v3/kv/range', body: '{"key":"Zm9v"}', headers: { 'Content-Type': 'application/json' } }));
    expect(outcome.error).toBeUndefined();
    const response = outcome.value as HttpClientResponse;
    expect(response.status).toBe(200);
    expect(response.reason).toBe('OK');
    expect(response.headers['content-type']).toBe('application/json');
    expect(response.headers['connection']).toBe('close');
    expect(JSON.parse(response.body.toString())).toMatchObject({ method: 'POST', path: '/v3/kv/range', body: '{"key":"Zm9v"}', remote: A_IP });
    expect(seen?.headers).toEqual({ host: `${B_IP}:${PORT}`, 'content-type': 'application/json', 'content-length': '14', connection: 'close' });
    expect(seen?.httpVersion).toBe('1.1');
    // Each way crosses two 5 ms links. Three round trips: ARP, the TCP handshake, request and response.
    expect(outcome.atMs).toBe(3 * ROUND_TRIP_MS);
    expectNoFailures(pair.world);
  });

  it('reads a chunked response body whole (a stream response with end())', async () => {
    const pair = world();
    await serve(pair, async () => ({
      status: 200,
      stream: (write, end) => {
        write('{"a":1}\n');
        write(Buffer.from('{"b":2}\n'));
        write('');
        end();
      },
    }));
    const response = (await settled(pair, request(pair))).value as HttpClientResponse;
    expect(response.headers['transfer-encoding']).toBe('chunked');
    expect(response.body.toString()).toBe('{"a":1}\n{"b":2}\n');
    expectNoFailures(pair.world);
  });

  it('reads bodies framed by Content-Length, chunked with trailers, and by the close, from a server it did not write', async () => {
    const answers = [
      'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: 1\r\n\r\n',
      'HTTP/1.0 200 OK\r\n\r\nuntil the close',
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok',
    ];
    const expected = ['hello', 'hello world', 'until the close', 'ok'];
    for (const [index, answer] of answers.entries()) {
      const pair = world();
      await rawServer(pair, (socket) => socket.end(answer));
      const outcome = await settled(pair, request(pair));
      expect(outcome.error).toBeUndefined();
      expect(outcome.value?.body.toString()).toBe(expected[index]);
      expectNoFailures(pair.world);
    }
  });

  it('answers HEAD with the head only, and the client expects no body', async () => {
    const pair = world();
    await serve(pair, echo);
    const response = (await settled(pair, request(pair, { method: 'HEAD' }))).value as HttpClientResponse;
    expect(response.status).toBe(200);
    expect(Number(response.headers['content-length'])).toBeGreaterThan(0);
    expect(response.body).toHaveLength(0);
  });

  it('answers 204 without Content-Length and the client reads no body', async () => {
    const pair = world();
    await serve(pair, async () => ({ status: 204, body: '' }));
    const response = (await settled(pair, request(pair, { method: 'PUT', body: 'x' }))).value as HttpClientResponse;
    expect(response.status).toBe(204);
    expect(response.headers['content-length']).toBeUndefined();
  });
});

describe('http1 on the simulated network: client failures', () => {
  it('maps a refused connection to ERR_HTTP_CONNECT with the underlying code', async () => {
    const pair = world();
    const outcome = await settled(pair, request(pair));
    expect(outcome.error?.code).toBe('ERR_HTTP_CONNECT');
    expect(outcome.error?.causeCode).toBe('ECONNREFUSED');
    expect(outcome.error?.message).toMatch(/cannot connect to 198\.18\.0\.2:8080/);
    expectNoFailures(pair.world);
  });

  it('times out on the platform clock when the server never answers, and closes the connection', async () => {
    const pair = world();
    let serverSocket: StreamSocket | undefined;
    await pair.b.platform.streams.listen({ host: '0.0.0.0', port: PORT }, (socket) => {
      serverSocket = socket;
      socket.resume();
    });
    const outcome = await settled(pair, request(pair, { timeoutMs: 1_500 }));
    expect(outcome.error?.code).toBe('ERR_HTTP_TIMEOUT');
    expect(outcome.error?.message).toMatch(/no response head after 1500 ms/);
    expect(outcome.atMs).toBe(1_500);
    const server = record(pair.world, serverSocket as StreamSocket);
    await runUntil(pair.world, () => server.ended, 2_000);
    expectNoFailures(pair.world);
  });

  it('says ERR_HTTP_CLOSED when the server closes in the middle of the body', async () => {
    const pair = world();
    await rawServer(pair, (socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'));
    const outcome = await settled(pair, request(pair));
    expect(outcome.error?.code).toBe('ERR_HTTP_CLOSED');
    expect(outcome.error?.detail).toBe('connection closed after 3 of 10 body bytes (Content-Length)');
    // A clean end, not a reset: what an oracle of "never silent truncation" needs to tell apart.
    expect(outcome.error?.cleanEnd).toBe(true);
  });

  it('says ERR_HTTP_CLOSED when the server closes without answering', async () => {
    const pair = world();
    await rawServer(pair, (socket) => socket.end());
    const outcome = await settled(pair, request(pair));
    expect(outcome.error?.code).toBe('ERR_HTTP_CLOSED');
    expect(outcome.error?.detail).toMatch(/closed the connection before a response head \(0 bytes received\)/);
    expect(outcome.error?.cleanEnd).toBe(true);
  });

  it('a reset in the middle of the body is ERR_HTTP_CLOSED too, but not a clean end', async () => {
    const pair = world();
    await rawServer(pair, (socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc');
      socket.resetAndDestroy();
    });
    const outcome = await settled(pair, request(pair));
    expect(outcome.error?.code).toBe('ERR_HTTP_CLOSED');
    expect(outcome.error?.causeCode).toBe('ECONNRESET');
    expect(outcome.error?.cleanEnd).toBe(false);
  });

  it('bounds the response body and rejects what is not HTTP', async () => {
    const big = world();
    await serve(big, async () => ({ status: 200, body: Buffer.alloc(2000, 0x61) }));
    const tooLarge = await settled(big, request(big, { bodyBytesMax: 1000 }));
    expect(tooLarge.error?.code).toBe('ERR_HTTP_TOO_LARGE');
    expect(tooLarge.error?.detail).toBe('Content-Length 2000 exceeds 1000 bytes');

    const garbage = world();
    await rawServer(garbage, (socket) => socket.end('SSH-2.0-OpenSSH_9.2\r\n\r\n'));
    const notHttp = await settled(garbage, request(garbage));
    expect(notHttp.error?.code).toBe('ERR_HTTP_PROTOCOL');
    expect(notHttp.error?.detail).toMatch(/malformed status line "SSH-2.0-OpenSSH_9.2"/);

    const smuggle = world();
    await rawServer(smuggle, (socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'));
    expect((await settled(smuggle, request(smuggle))).error?.detail).toBe('both Content-Length and Transfer-Encoding');
  });

  it('refuses, before connecting, a header that would inject a line or reframe the message', async () => {
    const pair = world();
    const injected = await settled(pair, request(pair, { headers: { 'X-A': 'x\r\nHost: evil' } }));
    expect(injected.error?.code).toBe('ERR_HTTP_INVALID_ARGUMENT');
    const framing = await settled(pair, request(pair, { headers: { 'Content-Length': '5' } }));
    expect(framing.error?.detail).toBe('header content-length is set by the client itself');
    expect(() => httpStream(pair.a.platform, { host: B_IP, port: PORT, method: 'GET', path: 'no-slash', timeoutMs: 1_000 })).toThrow(HttpError);
  });
});

describe('http1 on the simulated network: streaming', () => {
  /** A handler that writes `count` lines, one every `intervalMs`, then ends; records when the connection closed. */
  function ticker(pair: TwoHosts, count: number, intervalMs: number, closes: number[]): HttpHandler {
    return async () => ({
      status: 200,
      headers: { 'content-type': 'application/json' },
      stream: (write, end, onClose) => {
        let sent = 0;
        const timer = pair.b.platform.clock.setInterval(() => {
          sent++;
          write(`{"n":${sent}}\n`);
          if (sent === count) {
            pair.b.platform.clock.clearTimer(timer);
            end();
          }
        }, intervalMs);
        onClose(() => {
          pair.b.platform.clock.clearTimer(timer);
          closes.push(nowMs(pair.world));
        });
      },
    });
  }

  function consume(pair: TwoHosts, lines: AsyncIterable<string>): { got: { line: string; atMs: number }[]; done: boolean; error: HttpError | undefined } {
    const state = { got: [] as { line: string; atMs: number }[], done: false, error: undefined as HttpError | undefined };
    void (async () => {
      try {
        for await (const line of lines) state.got.push({ line, atMs: nowMs(pair.world) });
      } catch (error) {
        state.error = error as HttpError;
      }
      state.done = true;
    })();
    return state;
  }

  function watch(pair: TwoHosts, options: Partial<HttpStreamOptions> = {}): ReturnType<typeof httpStream> {
    return httpStream(pair.a.platform, { host: B_IP, port: PORT, method: 'POST', path: '/v3/watch', body: '{"create_request":{}}', timeoutMs: 2_000, ...options });
  }

  it('delivers lines as they arrive across virtual time, then ends', async () => {
    const pair = world();
    const closes: number[] = [];
    await serve(pair, ticker(pair, 5, 1_000, closes));
    let onHeadStatus: number | undefined;
    const stream = watch(pair, { onHead: (head) => (onHeadStatus = head.status) });
    const head = track(pair.world, stream.head);
    const consumer = consume(pair, stream.lines);
    await runUntil(pair.world, () => consumer.got.length === 2, 3_000);
    expect(head.value?.status).toBe(200);
    expect(head.value?.headers['transfer-encoding']).toBe('chunked');
    expect(onHeadStatus).toBe(200);
    expect(consumer.done).toBe(false);
    await runUntil(pair.world, () => consumer.done && closes.length === 1, 10_000);
    expect(consumer.error).toBeUndefined();
    expect(consumer.got.map((entry) => JSON.parse(entry.line) as unknown)).toEqual([1, 2, 3, 4, 5].map((n) => ({ n })));
    // One line per second, each a one-way trip after it was written.
    const gaps = consumer.got.slice(1).map((entry, index) => entry.atMs - (consumer.got[index] as { atMs: number }).atMs);
    expect(gaps).toEqual([1_000, 1_000, 1_000, 1_000]);
    expect(closes).toHaveLength(1);
    expectNoFailures(pair.world);
  });

  it('close() ends the iteration without an error, and the server hears the connection close', async () => {
    const pair = world();
    const closes: number[] = [];
    await serve(pair, ticker(pair, 1_000, 500, closes));
    const stream = watch(pair);
    const consumer = consume(pair, stream.lines);
    await runUntil(pair.world, () => consumer.got.length === 3, 5_000);
    const closedAtMs = nowMs(pair.world);
    stream.close();
    stream.close();
    await runUntil(pair.world, () => consumer.done && closes.length === 1, closedAtMs + 1_000);
    expect(consumer.error).toBeUndefined();
    expect(consumer.got).toHaveLength(3);
    expect(closes[0]).toBeLessThanOrEqual(closedAtMs + ROUND_TRIP_MS);
    expectNoFailures(pair.world);
  });

  it('breaking out of for-await closes the stream too', async () => {
    const pair = world();
    const closes: number[] = [];
    await serve(pair, ticker(pair, 1_000, 100, closes));
    const stream = watch(pair);
    let seen = 0;
    let finished = false;
    void (async () => {
      for await (const _line of stream.lines) if (++seen === 2) break;
      finished = true;
    })();
    await runUntil(pair.world, () => finished && closes.length === 1, 5_000);
    expect(seen).toBe(2);
  });

  it('surfaces a failure after the lines that came before it: a server that dies mid-stream', async () => {
    const pair = world();
    await rawServer(pair, (socket) => {
      socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
      socket.write('10\r\n{"n":1}\n{"n":2}\n\r\n');
      socket.write('8\r\n{"n":');
      pair.b.platform.clock.setTimeout(() => socket.end(), 1_000);
    });
    const stream = watch(pair);
    const consumer = consume(pair, stream.lines);
    await runUntil(pair.world, () => consumer.done, 5_000);
    expect(consumer.got.map((entry) => entry.line)).toEqual(['{"n":1}', '{"n":2}']);
    expect(consumer.error?.code).toBe('ERR_HTTP_CLOSED');
    expect(consumer.error?.detail).toMatch(/inside a chunk/);
  });

  it('bounds one line, and times out when no head or no data comes', async () => {
    const long = world();
    await serve(long, async () => ({ status: 200, stream: (write) => void write(`${'x'.repeat(5000)}\n`) }));
    const tooLong = consume(long, watch(long, { lineBytesMax: 1000 }).lines);
    await runUntil(long.world, () => tooLong.done, 5_000);
    expect(tooLong.error?.code).toBe('ERR_HTTP_TOO_LARGE');
    expect(tooLong.error?.detail).toBe('line exceeds 1000 bytes');

    const silent = world();
    await rawServer(silent, undefined);
    const noHead = watch(silent, { timeoutMs: 700 });
    const head = track(silent.world, noHead.head);
    const silentConsumer = consume(silent, noHead.lines);
    await runUntil(silent.world, () => silentConsumer.done && head.settled, 5_000);
    expect(head.error?.code).toBe('ERR_HTTP_TIMEOUT');
    expect(head.atMs).toBe(700);
    expect(silentConsumer.error?.message).toMatch(/no response head within 700 ms/);

    const idle = world();
    await serve(idle, async () => ({ status: 200, stream: (write) => void write('{"first":true}\n') }));
    const idleStream = consume(idle, watch(idle, { idleTimeoutMs: 3_000 }).lines);
    await runUntil(idle.world, () => idleStream.done, 10_000);
    expect(idleStream.got).toHaveLength(1);
    expect(idleStream.error?.code).toBe('ERR_HTTP_TIMEOUT');
    expect(idleStream.error?.detail).toMatch(/no data for 3000 ms/);
    expect(nowMs(idle.world) - (idleStream.got[0] as { atMs: number }).atMs).toBeGreaterThanOrEqual(3_000);
  });

  it('a slow consumer pauses the socket; a writer honouring backpressure waits for drain and loses nothing', async () => {
    const pair = world();
    const lineCount = 2_000;
    const line = `{"pad":"${'p'.repeat(1000)}"}\n`;
    let falseReturns = 0;
    let drains = 0;
    let sent = 0;
    await serve(pair, async () => ({
      status: 200,
      stream: (write, end, _onClose, onDrain) => {
        const pump = (): void => {
          while (sent < lineCount) {
            sent++;
            if (!write(line)) {
              falseReturns++;
              return;
            }
          }
          end();
        };
        onDrain(() => {
          drains++;
          pump();
        });
        pump();
      },
    }));
    // The idle limit must not count time this side spends paused.
    const stream = watch(pair, { linesBufferedBytesMax: 8 * 1024, lineBytesMax: 8 * 1024, idleTimeoutMs: 2_000 });
    const iterator = stream.lines[Symbol.asyncIterator]();
    await runUntil(pair.world, () => falseReturns > 0, 5_000);
    // Nobody reads: the client pauses its socket, TCP's window closes, and the writer stays stalled.
    await pair.world.run({ forMs: 5_000 });
    const sentWhileStalled = sent;
    await pair.world.run({ forMs: 5_000 });
    expect(sent).toBe(sentWhileStalled);
    expect(sent).toBeLessThan(lineCount / 4);
    let received = 0;
    let finished = false;
    void (async () => {
      for (let result = await iterator.next(); result.done !== true; result = await iterator.next()) {
        expect(result.value).toBe(line.trimEnd());
        received++;
      }
      finished = true;
    })();
    await runUntil(pair.world, () => finished, 60_000);
    expect(received).toBe(lineCount);
    expect(drains).toBeGreaterThan(0);
    expectNoFailures(pair.world);
  });
});

/** Five 256-byte chunks: over a 1000-byte body bound on the fourth. */
function chunkedOverLimit(): string {
  const chunk = `100\r\n${'z'.repeat(0x100)}\r\n`;
  return `POST / HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\n\r\n${chunk.repeat(5)}0\r\n\r\n`;
}

describe('http1 on the simulated network: server limits and failures', () => {
  it('answers a malformed request with 400 naming the problem, and closes', async () => {
    const pair = world();
    await serve(pair, echo);
    const reply = await rawExchange(pair, 'GET / HTTP/1.1\r\nHost: b\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc');
    const text = reply.received().toString();
    expect(text).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(text).toMatch(/connection: close\r\n/);
    expect(text).toMatch(/\r\n\r\n400 Bad Request: both Content-Length and Transfer-Encoding\n$/);
    expect(reply.ended).toBe(true);
    expect(logEvents(pair, 'http1.request_refused')[0]).toMatchObject({ status: 400, detail: 'both Content-Length and Transfer-Encoding' });
    expectNoFailures(pair.world);
  });

  const refusals: [string, string, number, RegExp][] = [
    ['obs-fold', 'GET / HTTP/1.1\r\nHost: b\r\nX: a\r\n b\r\n\r\n', 400, /obs-fold/],
    ['bare LF', 'GET / HTTP/1.1\nHost: b\n\n', 400, /bare LF/],
    ['conflicting lengths', 'POST / HTTP/1.1\r\nHost: b\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n', 400, /conflicting Content-Length/],
    ['HTTP/2.0', 'GET / HTTP/2.0\r\nHost: b\r\n\r\n', 505, /not supported/],
    ['gzip', 'POST / HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', 501, /"gzip" is not implemented/],
    ['a big head', `GET / HTTP/1.1\r\nHost: b\r\nX: ${'a'.repeat(20_000)}\r\n\r\n`, 431, /head exceeds 16384 bytes/],
    ['a big body', 'POST / HTTP/1.1\r\nHost: b\r\nContent-Length: 2000\r\n\r\n', 413, /Content-Length 2000 exceeds 1000 bytes/],
    ['a big chunked body', chunkedOverLimit(), 413, /chunked body exceeds 1000 bytes/],
    ['an unknown expectation', 'POST / HTTP/1.1\r\nHost: b\r\nExpect: magic\r\nContent-Length: 1\r\n\r\nx', 417, /unsupported expectation "magic"/],
  ];
  for (const [name, bytes, status, message] of refusals) {
    it(`refuses ${name} with ${status}`, async () => {
      const pair = world();
      let handled = 0;
      await serve(pair, async (req) => {
        handled++;
        return echo(req);
      }, { bodyBytesMax: 1000 });
      const reply = await rawExchange(pair, bytes);
      const text = reply.received().toString();
      expect(text.startsWith(`HTTP/1.1 ${status} `)).toBe(true);
      expect(text.split('\r\n\r\n')[1]).toMatch(message);
      expect(handled).toBe(0);
      expectNoFailures(pair.world);
    });
  }

  it('answers 408 to a client too slow with its head, and another too slow with its body', async () => {
    const pair = world();
    await serve(pair, echo, { headTimeoutMs: 2_000, bodyTimeoutMs: 3_000 });
    const start = nowMs(pair.world);
    const slowHead = await rawExchange(pair, 'GET / HTTP/1.1\r\nHost: b\r\n');
    expect(slowHead.received().toString()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n[\s\S]*request head not received within 2000 ms\n$/);
    expect((slowHead.endAtMs as number) - start).toBeGreaterThanOrEqual(2_000);
    expect((slowHead.endAtMs as number) - start).toBeLessThanOrEqual(2_000 + SLACK_MS);

    const bodyStart = nowMs(pair.world);
    const slowBody = await rawExchange(pair, 'POST / HTTP/1.1\r\nHost: b\r\nContent-Length: 10\r\n\r\nabc');
    expect(slowBody.received().toString()).toMatch(/408 Request Timeout[\s\S]*request body not received within 3000 ms\n$/);
    expect((slowBody.endAtMs as number) - bodyStart).toBeGreaterThanOrEqual(3_000);
    expect((slowBody.endAtMs as number) - bodyStart).toBeLessThanOrEqual(3_000 + SLACK_MS);
    expectNoFailures(pair.world);
  });

  it('answers 500 when the handler throws, logs it, and goes on serving', async () => {
    const pair = world();
    let calls = 0;
    await serve(pair, async (req) => {
      calls++;
      if (req.path === '/boom') throw new Error('handler exploded');
      if (req.path === '/sync-boom') return (undefined as unknown as { x: () => never }).x();
      if (req.path === '/bad-header') return { status: 200, headers: { 'Content-Length': '3' }, body: 'abc' };
      if (req.path === '/bad-status') return { status: 42, body: '' };
      return echo(req);
    });
    for (const path of ['/boom', '/sync-boom', '/bad-header', '/bad-status']) {
      const outcome = await settled(pair, request(pair, { path }));
      expect(outcome.value?.status).toBe(500);
      expect(outcome.value?.body.toString()).toBe('500 Internal Server Error\n');
    }
    const failures = logEvents(pair, 'http1.handler_failed');
    expect(failures.map((fields) => fields['path'])).toEqual(['/boom', '/sync-boom', '/bad-header', '/bad-status']);
    expect(failures[0]?.['error']).toBe('handler exploded');
    expect(failures[2]?.['error']).toMatch(/content-length is set by the server itself/);
    expect((await settled(pair, request(pair, { path: '/fine' }))).value?.status).toBe(200);
    expect(calls).toBe(5);
    expectNoFailures(pair.world);
  });

  it('tolerates a keep-alive client: one answer with Connection: close, pipelined bytes dropped, then the close', async () => {
    const pair = world();
    let handled = 0;
    const server = await serve(pair, async (req) => {
      handled++;
      return echo(req);
    });
    const reply = await rawExchange(pair, 'GET /one HTTP/1.1\r\nHost: b\r\nConnection: keep-alive\r\n\r\nGET /two HTTP/1.1\r\nHost: b\r\n\r\n');
    const text = reply.received().toString();
    expect(text.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(1);
    expect(text).toMatch(/connection: close/);
    expect(text).toMatch(/"path":"\/one"/);
    expect(handled).toBe(1);
    // The client never closes its side: the server waits lingerMs (2 s) for it, then closes anyway.
    const answeredAtMs = reply.endAtMs as number;
    expect(server.connectionCount()).toBe(1);
    const closedAtMs = await runUntil(pair.world, () => server.connectionCount() === 0, answeredAtMs + 2_000 + SLACK_MS);
    expect(closedAtMs).toBeGreaterThanOrEqual(answeredAtMs + 2_000 - ROUND_TRIP_MS);
    expectNoFailures(pair.world);
  });

  it('still answers a client that half-closes after its request', async () => {
    const pair = world();
    await serve(pair, async (req) => {
      await pair.b.platform.clock.sleep(500);
      return echo(req);
    });
    const reply = await rawExchange(pair, 'GET /half HTTP/1.1\r\nHost: b\r\n\r\n', { end: true });
    expect(reply.received().toString()).toMatch(/^HTTP\/1\.1 200 OK[\s\S]*"path":"\/half"/);
  });

  it('says 100 Continue to a client that expects it, and 413 at once to one whose body is too big', async () => {
    const pair = world();
    await serve(pair, echo, { bodyBytesMax: 100 });
    const socket = pair.a.platform.streams.connect({ host: B_IP, port: PORT });
    const reply = record(pair.world, socket);
    socket.on('connect', () => socket.write('POST /x HTTP/1.1\r\nHost: b\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n'));
    await runUntil(pair.world, () => reply.bytes > 0, 1_000);
    expect(reply.received().toString()).toBe('HTTP/1.1 100 Continue\r\n\r\n');
    socket.write('body');
    await runUntil(pair.world, () => reply.ended, 5_000);
    expect(reply.received().toString()).toMatch(/HTTP\/1\.1 200 OK[\s\S]*"body":"body"/);

    const refused = await rawExchange(pair, 'POST /x HTTP/1.1\r\nHost: b\r\nExpect: 100-continue\r\nContent-Length: 101\r\n\r\n');
    expect(refused.received().toString()).toMatch(/^HTTP\/1\.1 413 Content Too Large\r\n/);
  });

  it('reads a chunked request body', async () => {
    const pair = world();
    await serve(pair, echo);
    const reply = await rawExchange(pair, 'PUT /c HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x\r\nde\r\n0\r\nT: 1\r\n\r\n');
    expect(reply.received().toString()).toMatch(/"body":"abcde"/);
  });

  it('streams to an HTTP/1.0 client unframed, ending with the close', async () => {
    const pair = world();
    await serve(pair, async () => ({ status: 200, stream: (write, end) => (write('one\n'), write('two\n'), end()) }));
    const reply = await rawExchange(pair, 'GET / HTTP/1.0\r\n\r\n');
    const text = reply.received().toString();
    expect(text).not.toMatch(/transfer-encoding/i);
    expect(text.endsWith('\r\n\r\none\ntwo\n')).toBe(true);
  });

  it('cuts off a stream writer that ignores backpressure, and tells it through onClose', async () => {
    const pair = world();
    let closed = false;
    let refusedWrites = 0;
    await serve(
      pair,
      async () => ({
        status: 200,
        stream: (write, _end, onClose) => {
          onClose(() => (closed = true));
          for (let i = 0; i < 1_000; i++) if (!write('x'.repeat(1000))) refusedWrites++;
        },
      }),
      { streamBufferedBytesMax: 64 * 1024 },
    );
    const stream = httpStream(pair.a.platform, { host: B_IP, port: PORT, method: 'GET', path: '/', timeoutMs: 2_000 });
    stream.head.catch(() => undefined);
    await runUntil(pair.world, () => closed, 5_000);
    expect(refusedWrites).toBeGreaterThan(900);
    expect(logEvents(pair, 'http1.stream_overflow')).toHaveLength(1);
    stream.close();
    expectNoFailures(pair.world);
  });

  it('ends a stream when its client half-closes, as Go does, and does not start one for a client already gone', async () => {
    const pair = world();
    let started = 0;
    let closed = false;
    await serve(pair, async (req) => {
      if (req.path === '/slow') await pair.b.platform.clock.sleep(100);
      return { status: 200, stream: (write, _end, onClose) => (started++, write('hi\n'), onClose(() => (closed = true))) };
    });
    const socket = pair.a.platform.streams.connect({ host: B_IP, port: PORT, allowHalfOpen: true });
    const reply = record(pair.world, socket);
    socket.on('connect', () => socket.write('GET / HTTP/1.1\r\nHost: b\r\n\r\n'));
    await runUntil(pair.world, () => reply.received().toString().endsWith('3\r\nhi\n\r\n'), 1_000);
    socket.end();
    await runUntil(pair.world, () => closed, nowMs(pair.world) + ROUND_TRIP_MS);
    expect(started).toBe(1);

    const gone = await rawExchange(pair, 'GET /slow HTTP/1.1\r\nHost: b\r\n\r\n', { end: true });
    expect(gone.bytes).toBe(0);
    expect(started).toBe(1);
    expectNoFailures(pair.world);
  });

  it('closes a connection that never sent a byte without an answer, and answers 400 to a request cut short', async () => {
    const pair = world();
    await serve(pair, echo, { headTimeoutMs: 1_000 });
    const silent = pair.a.platform.streams.connect({ host: B_IP, port: PORT });
    const silentReply = record(pair.world, silent);
    await runUntil(pair.world, () => silentReply.ended, 2_000);
    expect(silentReply.bytes).toBe(0);
    expect(silentReply.endAtMs).toBeGreaterThanOrEqual(1_000);

    const cutHead = await rawExchange(pair, 'GET / HTTP/1.1\r\nHo', { end: true });
    expect(cutHead.received().toString()).toMatch(/400 Bad Request: connection closed inside the request head after 18 bytes\n$/);
    const cutBody = await rawExchange(pair, 'POST / HTTP/1.1\r\nHost: b\r\nContent-Length: 10\r\n\r\nabc', { end: true });
    expect(cutBody.received().toString()).toMatch(/400 Bad Request: request body truncated: connection closed after 3 of 10 body bytes \(Content-Length\)\n$/);
    expectNoFailures(pair.world);
  });

  it('answers 503 beyond connectionsMax', async () => {
    const pair = world();
    await serve(pair, echo, { connectionsMax: 1, headTimeoutMs: 10_000 });
    const first = pair.a.platform.streams.connect({ host: B_IP, port: PORT });
    record(pair.world, first);
    await pair.world.run({ forMs: 100 });
    const second = await rawExchange(pair, 'GET / HTTP/1.1\r\nHost: b\r\n\r\n');
    expect(second.received().toString()).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n[\s\S]*more than 1 connections\n$/);
    expect(logEvents(pair, 'http1.connections_exhausted')).toHaveLength(1);
    first.destroy();
  });

  it('close() stops listening and closes open streams', async () => {
    const pair = world();
    let closed = false;
    const server = await serve(pair, async () => ({ status: 200, stream: (write, _end, onClose) => (write('a\n'), onClose(() => (closed = true))) }));
    const stream = httpStream(pair.a.platform, { host: B_IP, port: PORT, method: 'GET', path: '/', timeoutMs: 2_000 });
    const head = track(pair.world, stream.head);
    await runUntil(pair.world, () => head.settled && server.connectionCount() === 1, 1_000);
    await server.close();
    await runUntil(pair.world, () => closed && server.connectionCount() === 0, 2_000);
    const late = await settled(pair, request(pair));
    expect(late.error?.causeCode).toBe('ECONNREFUSED');
    stream.close();
    expectNoFailures(pair.world);
  });
});

describe('http1 on the simulated network: determinism', () => {
  it('the same seed gives the same trace', async () => {
    const runOnce = async (): Promise<string> => {
      const pair = twoHosts({ seed: 7, link: { latencyMs: 3, jitterMs: 2 } });
      await serveHttp(pair.b.platform, { host: '0.0.0.0', port: PORT }, echo);
      const outcomes = [1, 2, 3].map((n) => request(pair, { method: 'POST', path: `/n/${n}`, body: 'x'.repeat(n * 500) }));
      await runUntil(pair.world, () => outcomes.every((outcome) => outcome.settled), 10_000);
      expect(outcomes.map((outcome) => outcome.value?.status)).toEqual([200, 200, 200]);
      return `${JSON.stringify(outcomes.map((outcome) => outcome.atMs))} ${pair.world.engine.trace.digest()}`;
    };
    expect(await runOnce()).toBe(await runOnce());
  });
});
