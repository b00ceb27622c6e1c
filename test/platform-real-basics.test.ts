// The real platform's clock, randomness, log and address listing.
import { describe, expect, it } from 'vitest';
import { createRealPlatform } from '../src/runtime/platform/real/index.js';
import { LogCapture } from './helpers/real-net.js';

describe('real clock', () => {
  const { clock } = createRealPlatform({ logStream: new LogCapture() });

  it('tells wall time and fires timeouts, not cleared ones', async () => {
    expect(Math.abs(clock.now() - Date.now())).toBeLessThan(1_000);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('kept'), 5);
    const cleared = clock.setTimeout(() => fired.push('cleared'), 5);
    clock.clearTimer(cleared);
    clock.clearTimer(cleared);
    clock.clearTimer(undefined);
    await clock.sleep(30);
    expect(fired).toEqual(['kept']);
  });

  it('runs intervals until cleared', async () => {
    let ticks = 0;
    const interval = clock.setInterval(() => {
      ticks += 1;
      if (ticks === 3) clock.clearTimer(interval);
    }, 2);
    await clock.sleep(60);
    expect(ticks).toBe(3);
  });

  it('rejects sleep with ABORT_ERR when aborted, before or during', async () => {
    await expect(clock.sleep(10, AbortSignal.abort())).rejects.toMatchObject({ code: 'ABORT_ERR' });
    const controller = new AbortController();
    const sleeping = clock.sleep(10_000, controller.signal);
    controller.abort();
    await expect(sleeping).rejects.toMatchObject({ code: 'ABORT_ERR' });
  });
});

describe('real random', () => {
  const { random } = createRealPlatform({ logStream: new LogCapture() });

  it('stays in range', () => {
    for (let i = 0; i < 1_000; i += 1) {
      const float = random.float();
      expect(float).toBeGreaterThanOrEqual(0);
      expect(float).toBeLessThan(1);
      const int = random.int(7);
      expect(Number.isInteger(int) && int >= 0 && int < 7).toBe(true);
      const uint32 = random.uint32();
      expect(uint32 >= 0 && uint32 <= 0xffffffff && Number.isInteger(uint32)).toBe(true);
    }
    expect(random.bytes(16)).toHaveLength(16);
    expect(() => random.int(0)).toThrow(RangeError);
    expect(() => random.int(1.5)).toThrow(RangeError);
  });
});

describe('real log', () => {
  it('writes one JSON line per event, with the host and the child fields', () => {
    const capture = new LogCapture();
    const { log } = createRealPlatform({ hostName: 'host-7', logStream: capture });
    log.info('proxy.started', { port: 3128 });
    log.child({ component: 'comms' }).child({ service: 'registry' }).warn('tunnel.reset', { bytes: 10, event: 'ignored', skipped: undefined });
    return new Promise<void>((resolve) => {
      setImmediate(() => {
        expect(capture.lines).toHaveLength(2);
        const [first, second] = capture.lines;
        expect(first).toMatchObject({ level: 'info', host: 'host-7', event: 'proxy.started', port: 3128 });
        expect(typeof first?.['t']).toBe('string');
        expect(new Date(String(first?.['t'])).toISOString()).toBe(first?.['t']);
        expect(second).toEqual({
          t: second?.['t'], level: 'warn', host: 'host-7', event: 'tunnel.reset', component: 'comms', service: 'registry', bytes: 10,
        });
        resolve();
      });
    });
  });
});

describe('real addresses', () => {
  const { addresses } = createRealPlatform({ logStream: new LogCapture() });

  it('lists loopback with its prefix length', async () => {
    const interfaces = await addresses.list();
    const loopback = interfaces.find((info) => info.addresses.some((entry) => entry.address === '127.0.0.1'));
    expect(loopback?.addresses).toContainEqual({ address: '127.0.0.1', prefixLength: 8 });
    expect(loopback?.up).toBe(true);
  });

  it('validates its arguments before running any command', async () => {
    await expect(addresses.add('-evil', '198.18.0.10', 24)).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(addresses.add('eth0', 'not-an-ip', 24)).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(addresses.remove('eth0', '198.18.0.10', 33)).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(addresses.gratuitousArp('eth0; reboot', '198.18.0.10')).rejects.toMatchObject({ code: 'EINVAL' });
  });
});
