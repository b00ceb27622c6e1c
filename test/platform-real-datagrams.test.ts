// The real platform's UDP on loopback (raw sockets: platform-real-raw*.test.ts).
import { describe, expect, it } from 'vitest';
import { createRealPlatform } from '../src/runtime/platform/real/index.js';
import type { RemoteInfo } from '../src/runtime/platform/types.js';
import { LogCapture, onceWithin } from './helpers/real-net.js';

const platform = createRealPlatform({ hostName: 'test-udp', logStream: new LogCapture() });

describe('real datagrams', () => {
  it('sends and receives UDP on 127.0.0.1', async () => {
    const receiver = await platform.datagrams.udp({ address: '127.0.0.1' });
    const sender = await platform.datagrams.udp({ address: '127.0.0.1' });
    try {
      expect(receiver.address).toBe('127.0.0.1');
      expect(receiver.port).toBeGreaterThan(0);
      const received = onceWithin<[Buffer, RemoteInfo]>(receiver, 'message');
      sender.send(Buffer.from('advert'), receiver.port, '127.0.0.1');
      const [data, remote] = await received;
      expect(data.toString()).toBe('advert');
      expect(remote).toEqual({ address: '127.0.0.1', port: sender.port, size: 6 });
    } finally {
      await sender.close();
      await receiver.close();
      await receiver.close(); // idempotent
    }
  });

  it('rejects binding a port in use with EADDRINUSE', async () => {
    const first = await platform.datagrams.udp({ address: '127.0.0.1' });
    try {
      await expect(platform.datagrams.udp({ address: '127.0.0.1', port: first.port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      await first.close();
    }
  });
});
