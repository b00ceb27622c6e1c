// The simulated TCP, seen the way runtime code sees it: through the platform
// seam (host.platform.streams.connect/listen) and Node Duplex semantics.
// Every time asserted here is virtual and exact unless a bound is stated.
import { describe, expect, it } from 'vitest';
import type { StreamSocket } from '../src/runtime/platform/types.js';
import { PlatformError } from '../src/runtime/platform/errors.js';
import { DEFAULT_TCP_SETTINGS } from '../sim/network/stack/tcp-core.js';
import type { TcpSettings } from '../sim/network/stack/tcp-core.js';
import {
  A_IP,
  B_IP,
  NOBODY_IP,
  expectNoFailures,
  isPrefix,
  nowMs,
  pattern,
  record,
  runUntil,
  twoHosts,
  writeAll,
  type StreamRecording,
  type TwoHosts,
} from './helpers/sim-world.js';

const PORT = 7000;

/** Starts a listener on b that hands each accepted socket to `onSocket`. */
async function listenOnB(
  pair: TwoHosts,
  onSocket: (socket: StreamSocket) => void,
  options: { allowHalfOpen?: boolean; port?: number } = {},
): Promise<void> {
  await pair.b.platform.streams.listen(
    { host: '0.0.0.0', port: options.port ?? PORT, allowHalfOpen: options.allowHalfOpen ?? false },
    onSocket,
  );
}

/** Echoes whatever arrives; ends when the peer ends (allowHalfOpen false does that on its own). */
async function echoServer(pair: TwoHosts): Promise<StreamSocket[]> {
  const accepted: StreamSocket[] = [];
  await listenOnB(pair, (socket) => {
    accepted.push(socket);
    socket.pipe(socket);
  });
  return accepted;
}

function connectToB(pair: TwoHosts, options: { allowHalfOpen?: boolean; port?: number; host?: string } = {}): StreamSocket {
  return pair.a.platform.streams.connect({
    host: options.host ?? B_IP,
    port: options.port ?? PORT,
    allowHalfOpen: options.allowHalfOpen ?? false,
  });
}

/** Connects a to b and waits until both ends are established; returns both sockets and their recordings. */
async function establishedPair(
  pair: TwoHosts,
  options: { allowHalfOpen?: boolean; serverRead?: boolean; clientRead?: boolean } = {},
): Promise<{ client: StreamSocket; server: StreamSocket; clientRec: StreamRecording; serverRec: StreamRecording }> {
  let server: StreamSocket | undefined;
  let serverRec: StreamRecording | undefined;
  await listenOnB(
    pair,
    (socket) => {
      server = socket;
      serverRec = record(pair.world, socket, { read: options.serverRead ?? true });
    },
    { allowHalfOpen: options.allowHalfOpen ?? false },
  );
  const client = connectToB(pair, { allowHalfOpen: options.allowHalfOpen ?? false });
  const clientRec = record(pair.world, client, { read: options.clientRead ?? true });
  await runUntil(pair.world, () => clientRec.connected && server !== undefined, 1_000);
  return { client, server: server as StreamSocket, clientRec, serverRec: serverRec as StreamRecording };
}

/** Virtual time at which a SYN_SENT connection with `synRetries` gives up: SYN at 0, retries after 1, 2, 4 … s. */
function synGiveUpMs(settings: Pick<TcpSettings, 'synRetries' | 'rtoInitialMs' | 'rtoMaxMs'>): number {
  let totalMs = 0;
  let rtoMs = settings.rtoInitialMs;
  for (let attempt = 0; attempt <= settings.synRetries; attempt++) {
    totalMs += rtoMs;
    rtoMs = Math.min(rtoMs * 2, settings.rtoMaxMs);
  }
  return totalMs;
}

// ------------------------------------------------------------------ connecting

describe('sim TCP: connecting', () => {
  it('echoes a round trip, with addresses and ports set on both ends', async () => {
    const pair = twoHosts();
    const accepted = await echoServer(pair);
    const client = connectToB(pair);
    const clientRec = record(pair.world, client);
    client.on('connect', () => {
      client.write('hello ');
      client.end('world');
    });

    await runUntil(pair.world, () => clientRec.closed, 5_000);

    expect(clientRec.error).toBeUndefined();
    expect(clientRec.ended).toBe(true);
    expect(clientRec.received().toString()).toBe('hello world');
    expect(client.remoteAddress).toBe(B_IP);
    expect(client.remotePort).toBe(PORT);
    expect(client.localAddress).toBe(A_IP);
    expect(client.localPort).toBeGreaterThanOrEqual(32768);
    expect(client.localPort).toBeLessThanOrEqual(60999);
    expect(accepted).toHaveLength(1);
    const server = accepted[0] as StreamSocket;
    expect(server.remoteAddress).toBe(A_IP);
    expect(server.remotePort).toBe(client.localPort);
    expect(server.localAddress).toBe(B_IP);
    expect(server.localPort).toBe(PORT);
    expectNoFailures(pair.world);
  });

  it('is connecting until the handshake completes, then emits connect after one round trip', async () => {
    const pair = twoHosts({ link: { latencyMs: 5 } });
    await echoServer(pair);
    const client = connectToB(pair);
    expect(client.connecting).toBe(true);
    const clientRec = record(pair.world, client);
    await runUntil(pair.world, () => clientRec.connected, 1_000);
    expect(client.connecting).toBe(false);
    // ARP request+reply, then SYN and SYN-ACK: four crossings of two 5 ms links each.
    expect(clientRec.connectAtMs).toBe(4 * 10);
    client.destroy();
  });

  it('fails with ECONNREFUSED when nothing listens on the port', async () => {
    const pair = twoHosts();
    const client = connectToB(pair, { port: 9 });
    const clientRec = record(pair.world, client);
    await runUntil(pair.world, () => clientRec.closed, 1_000);
    expect(clientRec.errorCode).toBe('ECONNREFUSED');
    expect(clientRec.error).toBeInstanceOf(PlatformError);
    expect((clientRec.error as PlatformError).syscall).toBe('connect');
    expect(clientRec.connected).toBe(false);
    // One round trip (plus ARP), far from any retry timer.
    expect(clientRec.errorAtMs).toBeLessThan(20);
    expectNoFailures(pair.world);
  });

  it('fails with ETIMEDOUT when the handshake cannot get through: SYN retries after 1, 2, 4 s', async () => {
    const tcp = { synRetries: 2 };
    const pair = twoHosts({ host: { tcp } });
    // Resolve ARP first (a refused connect does that): with a cold ARP cache the
    // partition would fail ARP instead (EHOSTUNREACH, see the next test).
    const warmUp = record(pair.world, connectToB(pair, { port: 9 }));
    await runUntil(pair.world, () => warmUp.closed, 1_000);
    expect(warmUp.errorCode).toBe('ECONNREFUSED');

    await listenOnB(pair, () => undefined);
    pair.world.partition(['a'], ['b']);
    const startMs = nowMs(pair.world);
    const client = connectToB(pair);
    const clientRec = record(pair.world, client);
    await runUntil(pair.world, () => clientRec.closed, 60_000);

    expect(clientRec.errorCode).toBe('ETIMEDOUT');
    expect((clientRec.error as PlatformError).syscall).toBe('connect');
    // synRetries 2: SYN at 0, retransmissions at 1 s and 3 s, give up at 7 s = 1 + 2 + 4 s.
    const expectedMs = synGiveUpMs({ ...DEFAULT_TCP_SETTINGS, ...tcp });
    expect(expectedMs).toBe(7_000);
    expect((clientRec.errorAtMs as number) - startMs).toBe(expectedMs);
    expect(pair.a.stack.tcp.connectionCount).toBe(0);
    expectNoFailures(pair.world);
  });

  it('fails with EHOSTUNREACH after 3 s when a partition makes ARP fail (cold cache), as Linux does', async () => {
    const pair = twoHosts({ host: { tcp: { synRetries: 2 } } });
    await listenOnB(pair, () => undefined);
    pair.world.partition(['a'], ['b']);
    const clientRec = record(pair.world, connectToB(pair));
    await runUntil(pair.world, () => clientRec.closed, 60_000);
    expect(clientRec.errorCode).toBe('EHOSTUNREACH');
    // Three broadcast probes one second apart (neighbor defaults), then failure.
    expect(clientRec.errorAtMs).toBe(3_000);
  });

  it('fails with EHOSTUNREACH when the destination is on-link but no host has that address', async () => {
    const pair = twoHosts();
    const client = connectToB(pair, { host: NOBODY_IP });
    const clientRec = record(pair.world, client);
    await runUntil(pair.world, () => clientRec.closed, 60_000);
    expect(clientRec.errorCode).toBe('EHOSTUNREACH');
    expect((clientRec.error as PlatformError).syscall).toBe('connect');
    expect(clientRec.errorAtMs).toBe(3_000);
    expect(pair.a.stack.tcp.connectionCount).toBe(0);
    expectNoFailures(pair.world);
  });

  it('fails with EADDRNOTAVAIL when asked to connect from an address the host does not have', async () => {
    const pair = twoHosts();
    await echoServer(pair);
    const client = pair.a.platform.streams.connect({ host: B_IP, port: PORT, localAddress: NOBODY_IP });
    const clientRec = record(pair.world, client);
    await runUntil(pair.world, () => clientRec.closed, 1_000);
    expect(clientRec.errorCode).toBe('EADDRNOTAVAIL');
    expect(pair.a.stack.tcp.connectionCount).toBe(0);
  });

  it('fails with ENETUNREACH when there is no route at all', async () => {
    const pair = twoHosts();
    const clientRec = record(pair.world, connectToB(pair, { host: '203.0.113.1' }));
    await runUntil(pair.world, () => clientRec.closed, 1_000);
    expect(clientRec.errorCode).toBe('ENETUNREACH');
    expect(clientRec.errorAtMs).toBe(0);
  });
});

// ------------------------------------------------------------------ closing

describe('sim TCP: half-close and close', () => {
  it('with allowHalfOpen, the server still sends after the client ended, and the client receives it', async () => {
    const pair = twoHosts();
    let serverGotEndAtMs: number | undefined;
    let serverReceived = '';
    await listenOnB(
      pair,
      (socket) => {
        socket.on('data', (chunk: Buffer) => (serverReceived += chunk.toString()));
        socket.on('end', () => {
          serverGotEndAtMs = nowMs(pair.world);
          // Some time after the client's FIN, the server answers and only then ends.
          void pair.b.platform.clock.sleep(500).then(() => {
            socket.write('answer after your end, ');
            socket.end('then my end');
          });
        });
      },
      { allowHalfOpen: true },
    );
    const client = connectToB(pair, { allowHalfOpen: true });
    const clientRec = record(pair.world, client);
    client.end('request');

    await runUntil(pair.world, () => clientRec.closed, 10_000);

    expect(serverReceived).toBe('request');
    expect(serverGotEndAtMs).toBeDefined();
    expect(clientRec.error).toBeUndefined();
    expect(clientRec.received().toString()).toBe('answer after your end, then my end');
    expect(clientRec.lastDataAtMs).toBeGreaterThanOrEqual((serverGotEndAtMs as number) + 500);
    expect(clientRec.ended).toBe(true);
    expectNoFailures(pair.world);
  });

  it('without allowHalfOpen, a socket ends its side by itself when the peer ends', async () => {
    const pair = twoHosts();
    let server: StreamSocket | undefined;
    let serverRec: StreamRecording | undefined;
    let serverFinished = false;
    await listenOnB(pair, (socket) => {
      server = socket;
      serverRec = record(pair.world, socket);
      socket.on('finish', () => (serverFinished = true));
    });
    const client = connectToB(pair, { allowHalfOpen: true });
    const clientRec = record(pair.world, client);
    client.end('bye');

    await runUntil(pair.world, () => clientRec.ended, 10_000);

    // The server never called end(): its FIN came from allowHalfOpen false.
    expect(serverRec?.received().toString()).toBe('bye');
    expect(serverRec?.ended).toBe(true);
    expect(serverFinished).toBe(true);
    expect(server?.writableEnded).toBe(true);
    expect(clientRec.ended).toBe(true);
    expect(clientRec.error).toBeUndefined();
    expectNoFailures(pair.world);
  });

  it('without allowHalfOpen on the client, it ends its side by itself when the server ends', async () => {
    const pair = twoHosts();
    let serverRec: StreamRecording | undefined;
    await listenOnB(
      pair,
      (socket) => {
        serverRec = record(pair.world, socket);
        socket.end('goodbye');
      },
      { allowHalfOpen: true },
    );
    const client = connectToB(pair, { allowHalfOpen: false });
    const clientRec = record(pair.world, client);

    await runUntil(pair.world, () => serverRec?.ended === true, 10_000);

    expect(clientRec.received().toString()).toBe('goodbye');
    expect(clientRec.ended).toBe(true);
    expect(client.writableEnded).toBe(true);
    expect(serverRec?.error).toBeUndefined();
    expectNoFailures(pair.world);
  });

  it('keeps the closing connection in TIME_WAIT for timeWaitMs, then forgets it', async () => {
    const timeWaitMs = 10_000;
    const pair = twoHosts({ host: { tcp: { timeWaitMs } } });
    await echoServer(pair);
    const client = connectToB(pair);
    const clientRec = record(pair.world, client);
    client.end('x');
    await runUntil(pair.world, () => clientRec.closed, 5_000);
    // The client closed first: the server's FIN (its 'end') took it from FIN_WAIT_2 to TIME_WAIT.
    const enteredAtMs = clientRec.endAtMs as number;
    await pair.world.run({ forMs: 100 });

    const timeWait = pair.world.engine.trace
      .recentEvents()
      .filter((event) => event.kind === 'tcp.state' && event.fields.to === 'TIME_WAIT');
    expect(timeWait.map((event) => [event.host, event.atMs])).toEqual([['a', enteredAtMs]]);
    expect(pair.a.stack.tcp.connectionCount).toBe(1);
    expect(pair.b.stack.tcp.connectionCount).toBe(0);

    const goneAtMs = await runUntil(pair.world, () => pair.a.stack.tcp.connectionCount === 0, enteredAtMs + 2 * timeWaitMs);
    expect(goneAtMs).toBe(enteredAtMs + timeWaitMs);
    expectNoFailures(pair.world);
  });
});

// ------------------------------------------------------------------ backpressure

describe('sim TCP: backpressure', () => {
  it('stalls a writer whose reader does not read, within sendBufferBytes + highWaterMark, and drains after resume', async () => {
    const sendBufferBytes = 64 * 1024;
    const pair = twoHosts({ host: { tcp: { sendBufferBytes } } });
    const { client, server } = await establishedPair(pair, { serverRead: false });
    server.pause();
    const payload = pattern(2 * 1024 * 1024);
    // A chunk size that divides the highWaterMark: a writer that stops at the
    // first false holds at most highWaterMark bytes in the Writable buffer.
    const chunkBytes = 4 * 1024;
    expect(client.writableHighWaterMark % chunkBytes).toBe(0);
    const progress = writeAll(pair.world, client, payload, { chunkSizes: [chunkBytes] });
    const bytesReceivedByKernelB = (): number => pair.b.stack.tcp.segmentStats().bytesReceived;

    // Long enough for the windows to close and the sender to settle into persist mode.
    const stallCheckMs = 30_000;
    await pair.world.run({ untilMs: stallCheckMs });

    expect(progress.falseReturns).toBeGreaterThan(0);
    expect(progress.lastFalseAtMs).toBeDefined();
    const drainsBeforeResume = progress.drains;
    // Nothing drained since the last write() that returned false.
    expect(progress.drainAtMs.every((atMs) => atMs <= (progress.lastFalseAtMs as number))).toBe(true);
    expect(progress.bytesWritten).toBeLessThan(payload.length);
    // What the sender holds: accepted by write() but not yet in b's kernel.
    const senderHeldBytes = progress.bytesWritten - bytesReceivedByKernelB();
    expect(senderHeldBytes).toBeLessThanOrEqual(sendBufferBytes + client.writableHighWaterMark);
    // …and it really is full (the bound is not vacuous).
    expect(senderHeldBytes).toBeGreaterThan(sendBufferBytes);
    // b's kernel holds at most its receive buffer (its Readable took at most one read chunk + highWaterMark).
    expect(bytesReceivedByKernelB()).toBeLessThanOrEqual(DEFAULT_TCP_SETTINGS.receiveBufferBytes + 64 * 1024 + server.readableHighWaterMark);

    // Still stalled later: the bound holds over time, not at one instant.
    await pair.world.run({ untilMs: stallCheckMs + 5_000 });
    expect(progress.drains).toBe(drainsBeforeResume);
    expect(progress.bytesWritten - bytesReceivedByKernelB()).toBe(senderHeldBytes);

    const resumeAtMs = nowMs(pair.world);
    const serverRec = record(pair.world, server);
    server.resume();
    await runUntil(pair.world, () => serverRec.ended, resumeAtMs + 60_000);

    expect(progress.drains).toBeGreaterThan(drainsBeforeResume);
    expect(progress.drainAtMs[drainsBeforeResume]).toBeGreaterThan(resumeAtMs);
    expect(serverRec.error).toBeUndefined();
    expect(serverRec.received().equals(payload)).toBe(true);
    expectNoFailures(pair.world);
  });
});

// ------------------------------------------------------------------ resets

describe('sim TCP: resets', () => {
  it('resetAndDestroy() on one end gives the other end ECONNRESET', async () => {
    const pair = twoHosts();
    const { client, serverRec } = await establishedPair(pair);
    client.write('some bytes');
    await pair.world.run({ forMs: 50 });
    const resetAtMs = nowMs(pair.world);
    client.resetAndDestroy();
    await runUntil(pair.world, () => serverRec.closed, resetAtMs + 1_000);

    expect(serverRec.received().toString()).toBe('some bytes');
    expect(serverRec.errorCode).toBe('ECONNRESET');
    expect(serverRec.ended).toBe(false);
    expect(serverRec.errorAtMs).toBeLessThan(resetAtMs + 10);
    expect(pair.a.stack.tcp.connectionCount).toBe(0);
    expect(pair.b.stack.tcp.connectionCount).toBe(0);
    expectNoFailures(pair.world);
  });

  it('destroying a socket with unread received data resets the peer (Linux behaviour)', async () => {
    const pair = twoHosts();
    const { client, server, serverRec } = await establishedPair(pair, { clientRead: false });
    server.write('data the client never reads');
    await pair.world.run({ forMs: 50 });
    const destroyAtMs = nowMs(pair.world);
    client.destroy();
    await runUntil(pair.world, () => serverRec.closed, destroyAtMs + 1_000);

    expect(serverRec.errorCode).toBe('ECONNRESET');
    expect(serverRec.ended).toBe(false);
    expectNoFailures(pair.world);
  });

  it('destroying a socket with nothing unread closes cleanly: the peer sees end, not an error', async () => {
    const pair = twoHosts();
    const { client, serverRec } = await establishedPair(pair);
    client.destroy();
    await runUntil(pair.world, () => serverRec.closed, 1_000);
    expect(serverRec.ended).toBe(true);
    expect(serverRec.error).toBeUndefined();
  });
});

// ------------------------------------------------------------------ broken paths

describe('sim TCP: a path that breaks', () => {
  const BREAK_TCP = { userTimeoutMs: 5_000, keepAliveIntervalMs: 500, keepAliveProbes: 3 } as const;
  const KEEPALIVE_IDLE_MS = 2_000;

  /** a uploads `payload` to b over a 1 MB/s path, both sides with keepalive on. */
  async function upload(payload: Buffer) {
    const pair = twoHosts({ host: { tcp: BREAK_TCP }, link: { bandwidthBytesPerSec: 1_000_000 } });
    let serverRec: StreamRecording | undefined;
    await listenOnB(pair, (socket) => {
      socket.setKeepAlive(true, KEEPALIVE_IDLE_MS);
      serverRec = record(pair.world, socket);
    });
    const client = connectToB(pair);
    client.setKeepAlive(true, KEEPALIVE_IDLE_MS);
    const clientRec = record(pair.world, client);
    writeAll(pair.world, client, payload);
    return { pair, client, clientRec, server: () => serverRec };
  }

  it('stalls while partitioned, then the sender fails with ETIMEDOUT (user timeout) and the waiting receiver with ETIMEDOUT (keepalive), never a clean end', async () => {
    const payload = pattern(4 * 1024 * 1024, 1);
    const { pair, clientRec, server } = await upload(payload);
    const partitionAtMs = 1_000;
    await pair.world.run({ untilMs: partitionAtMs });
    const serverRec = server() as StreamRecording;
    expect(serverRec.bytes).toBeGreaterThan(0);
    pair.world.partition(['a'], ['b']);

    // Data stalls: once what was on the wire has landed, nothing more arrives.
    await pair.world.run({ untilMs: partitionAtMs + 100 });
    const bytesAtStall = serverRec.bytes;
    await pair.world.run({ untilMs: partitionAtMs + 3_000 });
    expect(serverRec.bytes).toBe(bytesAtStall);
    expect(clientRec.error).toBeUndefined();

    await runUntil(pair.world, () => clientRec.closed && serverRec.closed, 60_000);

    // Receiver: 2 s idle, then 3 probes 500 ms apart, then ETIMEDOUT — 3.5 s after the last segment.
    expect(serverRec.errorCode).toBe('ETIMEDOUT');
    expect(serverRec.ended).toBe(false);
    const receiverDeadMs = KEEPALIVE_IDLE_MS + BREAK_TCP.keepAliveProbes * BREAK_TCP.keepAliveIntervalMs;
    expect(serverRec.errorAtMs).toBeGreaterThanOrEqual(partitionAtMs + receiverDeadMs);
    expect(serverRec.errorAtMs).toBeLessThanOrEqual(partitionAtMs + receiverDeadMs + 50);
    // Sender: no acknowledgement for userTimeoutMs.
    expect(clientRec.errorCode).toBe('ETIMEDOUT');
    expect(clientRec.ended).toBe(false);
    expect(clientRec.errorAtMs).toBeGreaterThanOrEqual(partitionAtMs + BREAK_TCP.userTimeoutMs - 50);
    expect(clientRec.errorAtMs).toBeLessThanOrEqual(partitionAtMs + BREAK_TCP.userTimeoutMs + 50);
    // What arrived is a strict prefix of what was sent.
    const received = serverRec.received();
    expect(received.length).toBe(bytesAtStall);
    expect(received.length).toBeLessThan(payload.length);
    expect(isPrefix(received, payload)).toBe(true);
    expectNoFailures(pair.world);
  });

  it('survives a partition shorter than the timeouts: the transfer completes intact', async () => {
    const payload = pattern(3 * 1024 * 1024, 2);
    const { pair, clientRec, server } = await upload(payload);
    const partitionAtMs = 1_000;
    const partitionMs = 1_500;
    pair.world.engine.schedule(partitionAtMs, () => pair.world.partition(['a'], ['b'], 'short'));
    pair.world.engine.schedule(partitionAtMs + partitionMs, () => pair.world.heal('short'));

    await runUntil(pair.world, () => (server()?.closed ?? false) && clientRec.closed, 120_000);

    const serverRec = server() as StreamRecording;
    expect(pair.world.drops.get('partition')).toBeGreaterThan(0);
    expect(serverRec.error).toBeUndefined();
    expect(clientRec.error).toBeUndefined();
    expect(serverRec.ended).toBe(true);
    expect(serverRec.received().equals(payload)).toBe(true);
    expectNoFailures(pair.world);
  });
});

// ------------------------------------------------------------------ listening

describe('sim TCP: listen errors', () => {
  it('rejects a second listener on the same port with EADDRINUSE, specific or wildcard', async () => {
    const pair = twoHosts();
    const streams = pair.b.platform.streams;
    await streams.listen({ host: '0.0.0.0', port: 80 }, () => undefined);
    await expect(streams.listen({ host: '0.0.0.0', port: 80 }, () => undefined)).rejects.toMatchObject({ code: 'EADDRINUSE' });
    await expect(streams.listen({ host: B_IP, port: 80 }, () => undefined)).rejects.toMatchObject({ code: 'EADDRINUSE' });

    await streams.listen({ host: B_IP, port: 81 }, () => undefined);
    await expect(streams.listen({ host: '0.0.0.0', port: 81 }, () => undefined)).rejects.toMatchObject({ code: 'EADDRINUSE' });
    // Another host may use the same port.
    await expect(pair.a.platform.streams.listen({ host: '0.0.0.0', port: 80 }, () => undefined)).resolves.toMatchObject({ port: 80 });
  });

  it('frees the port when the listener closes', async () => {
    const pair = twoHosts();
    const streams = pair.b.platform.streams;
    const listener = await streams.listen({ host: '0.0.0.0', port: 80 }, () => undefined);
    await listener.close();
    await expect(streams.listen({ host: '0.0.0.0', port: 80 }, () => undefined)).resolves.toMatchObject({ port: 80 });
  });

  it('rejects an address the host does not have with EADDRNOTAVAIL', async () => {
    const pair = twoHosts();
    await expect(pair.b.platform.streams.listen({ host: A_IP, port: 80 }, () => undefined)).rejects.toMatchObject({
      code: 'EADDRNOTAVAIL',
    });
    await expect(pair.b.platform.streams.listen({ host: NOBODY_IP, port: 80 }, () => undefined)).rejects.toBeInstanceOf(PlatformError);
  });

  it('picks an ephemeral port for port 0', async () => {
    const pair = twoHosts();
    const listener = await pair.b.platform.streams.listen({ host: '0.0.0.0', port: 0 }, () => undefined);
    expect(listener.port).toBeGreaterThanOrEqual(32768);
    expect(listener.port).toBeLessThanOrEqual(60999);
    expect(listener.address).toBe('0.0.0.0');
  });
});

// ------------------------------------------------------------------ idle timeout

describe('sim TCP: idle timeout', () => {
  it("emits 'timeout' after the idle time, once, and leaves the socket open", async () => {
    const pair = twoHosts();
    const { client, clientRec } = await echoServerPair(pair);
    const timeouts: number[] = [];
    const armedAtMs = nowMs(pair.world);
    client.setTimeout(1_000, () => timeouts.push(nowMs(pair.world)));

    await pair.world.run({ forMs: 5_000 });

    expect(timeouts).toEqual([armedAtMs + 1_000]);
    expect(client.destroyed).toBe(false);
    expect(clientRec.closed).toBe(false);
    // Still usable: an echo comes back.
    client.write('still there?');
    await runUntil(pair.world, () => clientRec.received().toString() === 'still there?', nowMs(pair.world) + 1_000);
    expectNoFailures(pair.world);
  });

  it('restarts the idle clock on activity', async () => {
    const pair = twoHosts();
    const { client, clientRec } = await echoServerPair(pair);
    const timeouts: number[] = [];
    const armedAtMs = nowMs(pair.world);
    client.setTimeout(1_000);
    client.on('timeout', () => timeouts.push(nowMs(pair.world)));
    pair.world.engine.schedule(600, () => client.write('ping'));

    await pair.world.run({ forMs: 3_000 });

    expect(clientRec.received().toString()).toBe('ping');
    // Activity at +600 (write) and when the echo arrived: idle from then on for 1 s.
    const lastActivityMs = clientRec.lastDataAtMs as number;
    expect(lastActivityMs).toBeGreaterThan(armedAtMs + 600);
    expect(timeouts).toEqual([lastActivityMs + 1_000]);
  });

  async function echoServerPair(pair: TwoHosts): Promise<{ client: StreamSocket; clientRec: StreamRecording }> {
    await echoServer(pair);
    const client = connectToB(pair);
    const clientRec = record(pair.world, client);
    await runUntil(pair.world, () => clientRec.connected, 1_000);
    return { client, clientRec };
  }
});

// ------------------------------------------------------------------ regressions
//
// Each test below states what a Linux peer would do. Each one first failed
// (as it.fails) against the simulator, exposing the bug described in its
// comment; the bugs are fixed in tcp-core.ts and these tests keep them fixed.

describe('sim TCP: regressions', () => {
  // Was: after an RTO, go-back-N sets sndNxt back to sndUna
  // (TcpConnection.onRetransmitTimeout), and pure ACKs carry seq = sndNxt
  // (sendAck), i.e. a sequence number below what the peer already received.
  // The peer finds such a segment unacceptable (RFC 793 sequence test),
  // drops it without processing its ACK field, and answers with a pure ACK
  // of its own — just as stale, since the peer rewound too. Neither side
  // ever processes an ACK again: no data moves, and a ping-pong of stale
  // ACKs (more of them with every retransmission) runs until both ends fail
  // with ETIMEDOUT. BSD sends pure ACKs with snd_max; Linux never rewinds
  // snd_nxt; neither wedges.
  it('recovers when a short outage drops the ACKs of a two-way transfer', async () => {
    const pair = twoHosts({ link: { latencyMs: 5 } });
    const { client, server, clientRec, serverRec } = await establishedPair(pair, { allowHalfOpen: true });
    const up = pattern(64 * 1024, 1);
    const down = pattern(64 * 1024, 2);
    const startMs = nowMs(pair.world);
    client.end(up);
    server.end(down);
    // The first flights (an initial window each way) land at +10 ms and their
    // ACKs would land at +20 ms: a cut from +15 to +100 ms drops only ACKs.
    pair.world.engine.schedule(15, () => pair.world.partition(['a'], ['b'], 'acks'));
    pair.world.engine.schedule(100, () => pair.world.heal('acks'));

    await pair.world.run({ untilMs: startMs + 30_000 });

    // Observed: each side got 14 600 bytes (the first flight), nothing more, no error yet, and an ACK storm.
    expect(serverRec.received().equals(up)).toBe(true);
    expect(clientRec.received().equals(down)).toBe(true);
    expect(serverRec.ended && clientRec.ended).toBe(true);
  });

  // Was: a FIN that is acknowledged only after an RTO has rewound the
  // sender leaves the connection in FIN_WAIT_1/CLOSING forever.
  // onRetransmitTimeout clears finSent (go-back-N) before the FIN is resent;
  // an ACK covering the FIN then arrives (the peer had it all along) and
  // processAck computes finAcked = finSent && ack > finSeq = false, so
  // ourFinAcked() never runs. Everything is acknowledged, so no timer is
  // armed again: the peer's FIN moves the connection to CLOSING, where it
  // stays — the 4-tuple is never released (connectionCount stays 1).
  it('forgets a connection whose FIN was acknowledged after a go-back-N retransmission', async () => {
    const pair = twoHosts();
    const { client, clientRec, serverRec } = await establishedPair(pair);
    // Drop b's ACKs for a while: a's data and FIN arrive, but a hears nothing and times out.
    pair.world.partitionOneWay(['b'], ['a'], 'acks');
    const startMs = nowMs(pair.world);
    client.end(pattern(3 * 1460));
    await pair.world.run({ untilMs: startMs + 100 });
    pair.world.heal('acks');
    await pair.world.run({ untilMs: startMs + DEFAULT_TCP_SETTINGS.timeWaitMs + 10_000 });

    // The application sees a clean close at both ends…
    expect(serverRec.received().length).toBe(3 * 1460);
    expect(serverRec.ended && clientRec.ended).toBe(true);
    expect(clientRec.error).toBeUndefined();
    // …and the kernels should have forgotten the connection (TIME_WAIT is 60 s). Observed: a keeps it in CLOSING.
    expect(pair.b.stack.tcp.connectionCount).toBe(0);
    expect(pair.a.stack.tcp.connectionCount).toBe(0);
  });

  // Was: with userTimeoutMs set, half-closing a connection that has been
  // idle for longer than the user timeout fails it with ETIMEDOUT 1 ms later,
  // although the path is fine and the peer even receives the FIN.
  // lastProgressMs is refreshed when data is sent with nothing in flight
  // (sendData), but not when a FIN is: armRetransmit clamps the timer to
  // lastProgressMs + userTimeoutMs - now <= 0, i.e. 1 ms, and
  // onRetransmitTimeout then finds the user timeout exceeded. (The same
  // happens to a connection opened more than userTimeoutMs after the start
  // of the run that sends only a FIN: lastProgressMs starts at 0.) Linux
  // measures the user timeout from the first unacknowledged transmission,
  // and never aborts before a retransmission (retransmits_timed_out).
  it('half-closes cleanly after an idle period longer than the user timeout', async () => {
    const pair = twoHosts({ host: { tcp: { userTimeoutMs: 5_000 } }, link: { latencyMs: 2 } });
    const { client, clientRec, serverRec } = await establishedPair(pair, { allowHalfOpen: true });
    client.write('hello');
    await pair.world.run({ untilMs: 10_000 });
    client.end();
    await pair.world.run({ untilMs: 20_000 });

    expect(serverRec.received().toString()).toBe('hello');
    expect(serverRec.ended).toBe(true);
    // Observed: ETIMEDOUT at 10 001 ms.
    expect(clientRec.error).toBeUndefined();
  });

  // Was: a sender facing a zero window gives up with ETIMEDOUT after
  // retries2 (15) persist probes, ~15 minutes, although the receiver answers
  // every probe. onPersist counts probes and only resets the count when the
  // window opens. RFC 1122 4.2.2.17: the sender must keep the connection
  // open indefinitely as long as the receiver keeps acknowledging probes;
  // Linux resets icsk_probes_out on every ACK (without TCP_USER_TIMEOUT, as
  // here: the defaults).
  it('keeps probing a zero window for as long as the receiver answers (RFC 1122 4.2.2.17)', async () => {
    const pair = twoHosts();
    const { client, clientRec, server } = await establishedPair(pair, { serverRead: false });
    server.pause();
    const payload = pattern(512 * 1024, 3);
    writeAll(pair.world, client, payload);

    await pair.world.run({ untilMs: 20 * 60_000 });

    // Observed: ETIMEDOUT at 924 612 ms.
    expect(clientRec.error).toBeUndefined();
    const serverRec = record(pair.world, server);
    server.resume();
    await runUntil(pair.world, () => serverRec.ended, nowMs(pair.world) + 60_000);
    expect(serverRec.received().equals(payload)).toBe(true);
  });
});
