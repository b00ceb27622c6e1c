// Regressions for problems an independent review of the simulator found.
// Each test failed before its fix (see the commit that adds this file).
import { describe, expect, it } from 'vitest';
import { World } from '../sim/network/world.js';
import type { SimHost } from '../sim/network/host.js';
import type { StreamSocket } from '../src/runtime/platform/types.js';
import { errorCode } from '../src/runtime/platform/errors.js';
import { scheduleFaults } from '../sim/network/faults.js';

function lan(seed = 1, hostOptions: Parameters<World['host']>[1] = {}): { world: World; a: SimHost; b: SimHost } {
  const world = new World({ seed });
  const segment = world.segment('lan', { latencyMs: 1 });
  const a = world.host('a');
  const b = world.host('b', hostOptions);
  world.attach(a, segment, '198.18.0.1/24');
  world.attach(b, segment, '198.18.0.2/24');
  return { world, a, b };
}

describe('simulator regressions from review', () => {
  it('a connection accepted for a process that dies before hearing of it is reset, not leaked', async () => {
    const { world, a } = lan();
    world.registerModule('server', async (platform) => {
      let accepted = 0;
      await platform.streams.listen({ host: '0.0.0.0', port: 80 }, () => {
        if (++accepted === 1) throw new Error('handler bug');
      });
      return { stop: async () => undefined };
    });
    const outcomes: string[] = [];
    a.onBoot(async (platform) => {
      await platform.processes.start({ name: 'server', module: 'server' });
      await platform.clock.sleep(100);
      for (const i of [1, 2]) {
        const socket = platform.streams.connect({ host: '127.0.0.1', port: 80 });
        socket.on('connect', () => socket.end('hello'));
        socket.on('error', (error) => outcomes.push(`${i}:${errorCode(error)}`));
        socket.resume();
      }
    });
    await world.run({ untilMs: 3_600_000 });
    expect(a.processes.status('server')?.state).toBe('failed');
    expect(outcomes.sort()).toEqual(['1:ECONNRESET', '2:ECONNRESET']);
    expect(a.stack.tcp.connectionCount).toBe(0);
  });

  it("a reset after the peer's FIN fails a write still waiting for room, at once", async () => {
    const { world, a, b } = lan(1, { tcp: { receiveBufferBytes: 8192 } });
    b.onBoot(async (platform) => {
      await platform.streams.listen({ host: '0.0.0.0', port: 80, allowHalfOpen: true }, (socket) => {
        socket.pause();
        socket.end();
        platform.clock.setTimeout(() => socket.destroy(), 2_000);
      });
    });
    let writeResult: string | undefined;
    let writeAtMs = 0;
    a.onBoot((platform) => {
      const socket = platform.streams.connect({ host: '198.18.0.2', port: 80, allowHalfOpen: true });
      socket.on('error', () => undefined);
      socket.resume();
      socket.write(Buffer.alloc(200_000, 1), (error) => {
        writeResult = error === undefined || error === null ? 'ok' : errorCode(error);
        writeAtMs = world.engine.elapsedMs();
      });
    });
    await world.run({ untilMs: 600_000 });
    expect(writeResult).toBe('ECONNRESET');
    expect(writeAtMs).toBeLessThan(2_100);
  });

  it("an 'error' event nobody listens to crashes only that process; the run goes on", async () => {
    const { world, a, b } = lan();
    world.registerModule('careless', async (platform) => {
      const socket = platform.streams.connect({ host: '198.18.0.2', port: 80 });
      socket.resume();
      return { stop: async () => undefined };
    });
    b.onBoot(async (platform) => {
      await platform.streams.listen({ host: '0.0.0.0', port: 80 }, (socket: StreamSocket) => socket.resetAndDestroy());
    });
    let laterTimerRan = false;
    a.onBoot(async (platform) => {
      await platform.processes.start({ name: 'careless', module: 'careless' });
      platform.clock.setTimeout(() => (laterTimerRan = true), 5_000);
    });
    await world.run({ untilMs: 10_000 });
    expect(a.processes.status('careless')).toMatchObject({ state: 'failed' });
    expect(a.processes.status('careless')?.reason).toContain('ECONNRESET');
    expect(laterTimerRan).toBe(true);
    expect(world.failures).toEqual([]);
  });

  it('work a timer callback queues with nextTick alone runs at that virtual instant', async () => {
    const { world, a, b } = lan();
    const dataAtMs: number[] = [];
    b.onBoot(async (platform) => {
      await platform.streams.listen({ host: '0.0.0.0', port: 80 }, (socket) => {
        socket.pause();
        socket.on('data', () => dataAtMs.push(world.engine.elapsedMs()));
        // resume() only queues a nextTick: no promise, no socket call.
        platform.clock.setTimeout(() => socket.resume(), 1_000);
        platform.clock.setTimeout(() => undefined, 10_000);
      });
    });
    a.onBoot((platform) => {
      const socket = platform.streams.connect({ host: '198.18.0.2', port: 80 });
      socket.on('connect', () => socket.write(Buffer.alloc(8192)));
    });
    await world.run({ untilMs: 20_000 });
    expect(dataAtMs.length).toBeGreaterThan(0);
    expect(new Set(dataAtMs)).toEqual(new Set([1_010]));
  });

  it('a NAT keeps a half-closed TCP flow open while its server takes 15 s to answer', async () => {
    const { world, inside, server } = natWorld();
    server.onBoot(async (platform) => {
      await platform.streams.listen({ host: '0.0.0.0', port: 80, allowHalfOpen: true }, (socket) => {
        socket.resume();
        socket.on('end', () => platform.clock.setTimeout(() => socket.end('response'), 15_000));
      });
    });
    let received = '';
    let ended = false;
    inside.onBoot((platform) => {
      const socket = platform.streams.connect({ host: '198.18.0.10', port: 80, allowHalfOpen: true });
      socket.on('connect', () => socket.end('request'));
      socket.on('data', (data: Buffer) => (received += data.toString()));
      socket.on('end', () => (ended = true));
    });
    await world.run({ untilMs: 60_000 });
    expect(received).toBe('response');
    expect(ended).toBe(true);
    expect(world.drops.get('nat-no-mapping') ?? 0).toBe(0);
  });

  it("a NAT router's own connection through its outside interface works", async () => {
    const { world, nat, server } = natWorld();
    server.onBoot(async (platform) => {
      await platform.streams.listen({ host: '0.0.0.0', port: 80 }, (socket) => socket.end('hi'));
    });
    let received = '';
    nat.onBoot((platform) => {
      const socket = platform.streams.connect({ host: '198.18.0.10', port: 80 });
      socket.on('data', (data: Buffer) => (received += data.toString()));
    });
    await world.run({ untilMs: 10_000 });
    expect(received).toBe('hi');
  });

  it('a FIN sent into a zero window is taken: the stalled reader later sees every byte and the end', async () => {
    const { world, a, b } = lan(1, { tcp: { receiveBufferBytes: 16_384 } });
    const outcome: { bytes: number; end: boolean; error?: string } = { bytes: 0, end: false };
    let writerError: string | undefined;
    b.onBoot(async (platform) => {
      await platform.streams.listen({ host: '0.0.0.0', port: 80 }, (socket) => {
        socket.pause();
        platform.clock.setTimeout(() => {
          socket.on('data', (data: Buffer) => (outcome.bytes += data.length));
          socket.on('end', () => (outcome.end = true));
          socket.on('error', (error) => (outcome.error = errorCode(error)));
          socket.resume();
        }, 1_200_000);
      });
    });
    a.onBoot((platform) => {
      const socket = platform.streams.connect({ host: '198.18.0.2', port: 80 });
      socket.on('connect', () => socket.end(Buffer.alloc(16_384)));
      socket.on('error', (error) => (writerError = errorCode(error)));
    });
    await world.run({ untilMs: 1_300_000 });
    expect(writerError).toBeUndefined();
    expect(outcome).toEqual({ bytes: 16_384, end: true });
  });

  it('a stream over loopback takes virtual time instead of livelocking at one instant', async () => {
    const { world, a } = lan();
    let bytes = 0;
    a.onBoot(async (platform) => {
      await platform.streams.listen({ host: '127.0.0.1', port: 80 }, (socket) => socket.on('data', (data: Buffer) => (bytes += data.length)));
      const socket = platform.streams.connect({ host: '127.0.0.1', port: 80 });
      const chunk = Buffer.alloc(64 * 1024);
      const pump = (): void => {
        while (socket.write(chunk)) {
          // Until backpressure.
        }
        socket.once('drain', pump);
      };
      socket.on('connect', pump);
    });
    await world.run({ untilMs: 100 });
    // About 2 GB/s of loopback: 100 ms carry on the order of 200 MB, and time did reach 100 ms.
    expect(world.engine.elapsedMs()).toBe(100);
    expect(bytes).toBeGreaterThan(50_000_000);
    expect(bytes).toBeLessThan(250_000_000);
  }, 60_000);

  it('a socket destroyed with a write still pending calls the write back with an error', async () => {
    const { world, a } = lan();
    let result: string | undefined;
    a.onBoot((platform) => {
      const socket = platform.streams.connect({ host: '198.18.0.2', port: 81 });
      socket.on('error', () => undefined);
      socket.write('while connecting', (error) => (result = error === undefined || error === null ? 'ok' : (errorCode(error) ?? 'error')));
    });
    await world.run({ untilMs: 1_000 });
    expect(result).toBe('ECONNREFUSED');
  });

  it('refuses bad input with coded errors', async () => {
    const { world, a } = lan();
    await expect(() => world.run({ untilMs: Number.NaN })).toThrow(/ERR_SIM_BAD_DEADLINE/);
    await expect(a.platform.streams.listen({ host: '0.0.0.0', port: 70_000 }, () => undefined)).rejects.toMatchObject({ code: 'EINVAL' });
    const udp = await a.platform.datagrams.udp({});
    expect(() => udp.send(Buffer.from('x'), Number.NaN, '198.18.0.2')).toThrow(/EINVAL/);
    await udp.close();
    expect(() => udp.addMembership('224.0.0.18')).toThrow(/EBADF/);
    const raw = await a.platform.datagrams.raw({ protocol: 112 });
    expect(() => raw.send(Buffer.from('x'), { destination: '198.18.0.2', ttl: 1000 })).toThrow(/EINVAL/);
    expect(() => scheduleFaults(world, [{ atMs: 10, kind: 'degrade', host: 'a', link: { lossRate: 2 } }])).toThrow(/ERR_FAULT_INVALID|lossRate/);
  });
});

function natWorld(): { world: World; inside: SimHost; nat: SimHost; server: SimHost } {
  const world = new World({ seed: 1 });
  const lanSegment = world.segment('lan');
  const wan = world.segment('wan');
  const inside = world.host('inside');
  world.attach(inside, lanSegment, '198.19.1.11/24', { gateway: '198.19.1.1' });
  const nat = world.router('nat');
  world.attach(nat, lanSegment, '198.19.1.1/24', { iface: 'eth0' });
  world.attach(nat, wan, '198.18.0.1/24', { iface: 'eth1' });
  world.nat(nat, { inside: 'eth0', outside: 'eth1' });
  const server = world.host('server');
  world.attach(server, wan, '198.18.0.10/24', { gateway: '198.18.0.1' });
  return { world, inside, nat, server };
}
