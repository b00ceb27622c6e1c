// Regressions for problems an independent review of the simulator found.
// Each test failed before its fix (see the commit that adds this file).
import { describe, expect, it } from 'vitest';
import { World } from '../sim/network/world.js';
import type { SimHost } from '../sim/network/host.js';
import type { StreamSocket } from '../src/runtime/platform/types.js';
import { errorCode } from '../src/runtime/platform/errors.js';

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
});
