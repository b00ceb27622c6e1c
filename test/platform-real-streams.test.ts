// The real platform's streams over 127.0.0.1: echo, half-close, refusal.
import { afterEach, describe, expect, it } from 'vitest';
import { createRealPlatform } from '../src/runtime/platform/real/index.js';
import type { StreamListener, StreamSocket } from '../src/runtime/platform/types.js';
import { LogCapture, onceWithin, readToEnd } from './helpers/real-net.js';

const platform = createRealPlatform({ hostName: 'test-streams', logStream: new LogCapture() });
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function listen(allowHalfOpen: boolean, onConnection: (socket: StreamSocket) => void): Promise<StreamListener> {
  const listener = await platform.streams.listen({ host: '127.0.0.1', port: 0, allowHalfOpen }, onConnection);
  cleanups.push(() => listener.close());
  return listener;
}

function connect(port: number, allowHalfOpen = false): StreamSocket {
  const socket = platform.streams.connect({ host: '127.0.0.1', port, allowHalfOpen, keepAliveIdleMs: 30_000 });
  cleanups.push(() => {
    socket.destroy();
  });
  return socket;
}

describe('real streams', () => {
  it('listens on an ephemeral port and echoes', async () => {
    const listener = await listen(false, (socket) => socket.pipe(socket));
    expect(listener.address).toBe('127.0.0.1');
    expect(listener.port).toBeGreaterThan(0);

    const client = connect(listener.port);
    await onceWithin(client, 'connect');
    expect(client.remotePort).toBe(listener.port);
    expect(client.connecting).toBe(false);
    const received = readToEnd(client);
    client.end(Buffer.from('hello over loopback'));
    expect((await received).toString()).toBe('hello over loopback');
  });

  it('keeps the other direction open after a half-close when allowHalfOpen is set', async () => {
    let resolveServerReceived: (received: Buffer) => void = () => undefined;
    const serverReceived = new Promise<Buffer>((resolve) => {
      resolveServerReceived = resolve;
    });
    const listener = await listen(true, (socket) => {
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('end', () => {
        // The client's FIN arrived; this side can still talk, then close its half.
        socket.write('reply after your FIN');
        socket.end();
        resolveServerReceived(Buffer.concat(chunks));
      });
    });

    const client = connect(listener.port, true);
    const clientReceived = readToEnd(client);
    client.end('request');
    expect((await serverReceived).toString()).toBe('request');
    expect((await clientReceived).toString()).toBe('reply after your FIN');
  });

  it('close() stops accepting and leaves established connections alone', async () => {
    const listener = await platform.streams.listen({ host: '127.0.0.1', port: 0 }, (socket) => socket.pipe(socket));
    const client = connect(listener.port);
    await onceWithin(client, 'connect');
    await listener.close();
    const late = connect(listener.port);
    const [error] = await onceWithin<[NodeJS.ErrnoException]>(late, 'error');
    expect(error.code).toBe('ECONNREFUSED');
    const echoed = readToEnd(client);
    client.end('still here');
    expect((await echoed).toString()).toBe('still here');
  });

  it('reports ECONNREFUSED for a closed port', async () => {
    const listener = await platform.streams.listen({ host: '127.0.0.1', port: 0 }, () => undefined);
    const closedPort = listener.port;
    await listener.close();
    await listener.close(); // idempotent

    const client = connect(closedPort);
    const [error] = await onceWithin<[NodeJS.ErrnoException]>(client, 'error');
    expect(error.code).toBe('ECONNREFUSED');
  });

  it('rejects listen on a port in use with EADDRINUSE', async () => {
    const listener = await listen(false, () => undefined);
    await expect(platform.streams.listen({ host: '127.0.0.1', port: listener.port }, () => undefined)).rejects.toMatchObject({
      code: 'EADDRINUSE',
    });
  });

  it('resetAndDestroy() while end() is pending still closes the socket (Node alone never emits close)', async () => {
    const server = await listen(true, (socket) => {
      socket.on('error', () => undefined);
      cleanups.push(() => {
        socket.destroy();
      });
    });
    const client = connect(server.port, true);
    client.on('error', () => undefined);
    await onceWithin(client, 'connect');
    // end() then reset in the same tick, as a relay does when pipe() has just
    // passed a FIN on and the tunnel aborts: libuv refuses the reset (EINVAL).
    client.end();
    client.resetAndDestroy();
    await onceWithin(client, 'close', 2_000);
  });
});
