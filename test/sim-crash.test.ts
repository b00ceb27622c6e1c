// Crash semantics of simulated hosts and processes: a host crash is power
// loss (processes and timers gone, peers hear nothing, unsynced data lost,
// runtime addresses gone, boot functions rerun on restart); a process that
// exits or throws is cleaned up by the "kernel" (its sockets closed, its
// status reported); and the fault schedule applies crashes and restarts.
import { describe, expect, it } from 'vitest';
import { World } from '../sim/network/world.js';
import type { SimHost, HostOptions } from '../sim/network/host.js';
import type { Frame } from '../sim/network/packet.js';
import { FaultError, scheduleFaults, validateFaults, type Fault } from '../sim/network/faults.js';
import { parseIpv4 } from '../sim/network/ip.js';
import type { ProcessStatus, RemoteInfo, StreamSocket, UdpSocket } from '../src/runtime/platform/types.js';
import { errorCode } from '../src/runtime/platform/errors.js';
import { writeFileAtomic } from '../src/runtime/platform/files-atomic.js';

const NODE_IP = '198.18.0.10';
const PEER_IP = '198.18.0.20';
const VIP = '198.18.0.100';

interface Lab {
  world: World;
  node: SimHost;
  peer: SimHost;
}

/** Two hosts on one segment: `node` (the one that crashes) and `peer`. */
function lab(options: { node?: HostOptions; peer?: HostOptions } = {}): Lab {
  const world = new World({ seed: 1 });
  const segment = world.segment('lan');
  const node = world.host('node', options.node);
  const peer = world.host('peer', options.peer);
  world.attach(node, segment, `${NODE_IP}/24`);
  world.attach(peer, segment, `${PEER_IP}/24`);
  return { world, node, peer };
}

/** Runs the world until `work` settles (at most `forMs` of virtual time) and returns its result. */
async function within<T>(world: World, work: Promise<T>, forMs = 10_000): Promise<T> {
  let settled = false;
  const tracked = work.finally(() => {
    settled = true;
  });
  tracked.catch(() => undefined);
  await world.run({ forMs, stopWhen: () => settled });
  if (!settled) throw new Error(`work did not settle within ${forMs} ms of virtual time`);
  return tracked;
}

/** Frames reaching `host`'s stack, with their arrival times. */
function tapFrames(host: SimHost): { atMs: number; frame: Frame }[] {
  const frames: { atMs: number; frame: Frame }[] = [];
  const receiveFrame = host.stack.receiveFrame.bind(host.stack);
  host.stack.receiveFrame = (nic, frame) => {
    frames.push({ atMs: host.world.engine.elapsedMs(), frame });
    receiveFrame(nic, frame);
  };
  return frames;
}

interface ClientEnd {
  socket: StreamSocket;
  received: string[];
  events: string[];
  failure: () => { code: string | undefined; atMs: number } | undefined;
}

function tcpClient(world: World, host: SimHost, port: number, options: { keepAliveIdleMs?: number } = {}): ClientEnd {
  const socket = host.platform.streams.connect({ host: NODE_IP, port, ...options });
  const received: string[] = [];
  const events: string[] = [];
  let failure: { code: string | undefined; atMs: number } | undefined;
  socket.on('data', (data: Buffer) => received.push(data.toString('utf8')));
  socket.on('end', () => events.push('end'));
  socket.on('close', () => events.push('close'));
  socket.on('error', (error: Error) => {
    failure = { code: errorCode(error), atMs: world.engine.elapsedMs() };
    events.push(`error:${failure.code}`);
  });
  return { socket, received, events, failure: () => failure };
}

async function echoServer(host: SimHost, port: number): Promise<void> {
  await host.platform.streams.listen({ host: '0.0.0.0', port }, (socket) => {
    socket.on('data', (data: Buffer) => socket.write(data));
    socket.on('error', () => undefined);
  });
}

// ------------------------------------------------------------------ host crash

describe('host crash: processes and timers', () => {
  it("a crashed host's processes are gone and their timers never fire again, not even after restart", async () => {
    const { world, node } = lab();
    let serviceTicks = 0;
    let hostTicks = 0;
    world.registerModule('ticker', (platform) => {
      const timer = platform.clock.setInterval(() => serviceTicks++, 100);
      return { stop: async () => platform.clock.clearTimer(timer) };
    });
    await within(world, node.platform.processes.start({ name: 'ticker', module: 'ticker' }));
    node.platform.clock.setInterval(() => hostTicks++, 100);

    await world.run({ untilMs: 1_000 });
    expect(serviceTicks).toBeGreaterThanOrEqual(9);
    expect(hostTicks).toBeGreaterThanOrEqual(9);
    expect(node.processes.status('ticker')?.state).toBe('running');

    node.crash();
    const serviceTicksAtCrash = serviceTicks;
    const hostTicksAtCrash = hostTicks;
    expect(node.up).toBe(false);
    expect(node.processes.status('ticker')).toBeUndefined();
    expect(node.processes.list()).toEqual([]);

    await world.run({ untilMs: 5_000 });
    expect(serviceTicks).toBe(serviceTicksAtCrash);
    expect(hostTicks).toBe(hostTicksAtCrash);

    // Nothing started the ticker at boot, so a restart does not bring it (or its timer) back.
    node.restart();
    await world.run({ untilMs: 10_000 });
    expect(serviceTicks).toBe(serviceTicksAtCrash);
    expect(hostTicks).toBe(hostTicksAtCrash);
    expect(node.processes.status('ticker')).toBeUndefined();
  });
});

describe('host crash: TCP peers hear nothing', () => {
  const USER_TIMEOUT_MS = 3_000;

  it('a client of a crashed server sees its data stall and then ETIMEDOUT, never FIN or RST', async () => {
    const { world, node, peer } = lab({ peer: { tcp: { userTimeoutMs: USER_TIMEOUT_MS } } });
    await echoServer(node, 7000);
    const client = tcpClient(world, peer, 7000);
    const seenByPeer = tapFrames(peer);
    client.socket.write('ping-1');
    await world.run({ forMs: 1_000, stopWhen: () => client.received.join('') === 'ping-1' });
    expect(client.received.join('')).toBe('ping-1');
    await world.run({ forMs: 100 });

    node.crash();
    const crashedAtMs = world.engine.elapsedMs();
    client.socket.write('ping-2');
    await world.run({ forMs: 30_000, stopWhen: () => client.failure() !== undefined });

    const failure = client.failure();
    expect(failure?.code).toBe('ETIMEDOUT');
    // TCP_USER_TIMEOUT counts from the first unacknowledged send (ping-2, written at the crash).
    expect(failure!.atMs - crashedAtMs).toBeGreaterThanOrEqual(USER_TIMEOUT_MS);
    expect(failure!.atMs - crashedAtMs).toBeLessThan(USER_TIMEOUT_MS + 50);
    expect(client.events).not.toContain('end');
    expect(client.received.join('')).toBe('ping-1');
    // Not a single frame came back from the crashed host; the retransmissions died at its NIC.
    expect(seenByPeer.filter((t) => t.atMs > crashedAtMs && t.frame.sourceMac === node.nic('eth0').mac)).toEqual([]);
    expect(world.drops.get('host-down')).toBeGreaterThan(0);
  });

  it('an idle client with keepalive also ends with ETIMEDOUT, not end', async () => {
    const { world, node, peer } = lab({ peer: { tcp: { keepAliveIntervalMs: 500, keepAliveProbes: 3 } } });
    await echoServer(node, 7000);
    const client = tcpClient(world, peer, 7000, { keepAliveIdleMs: 1_000 });
    client.socket.write('hello');
    await world.run({ forMs: 1_000, stopWhen: () => client.received.join('') === 'hello' });
    await world.run({ forMs: 100 });

    node.crash();
    const crashedAtMs = world.engine.elapsedMs();
    await world.run({ forMs: 30_000, stopWhen: () => client.failure() !== undefined });
    expect(client.failure()?.code).toBe('ETIMEDOUT');
    // Idle 1 s, then 3 unanswered probes 500 ms apart: about 2.5 s after the last traffic.
    expect(client.failure()!.atMs - crashedAtMs).toBeLessThanOrEqual(1_000 + 3 * 500 + 100);
    expect(client.events).not.toContain('end');
  });
});

describe('host crash: files', () => {
  it('fsynced files survive, unsynced ones are lost; an entry synced without its data comes back empty', async () => {
    const { world, node } = lab();
    const files = node.platform.files;
    await within(
      world,
      (async () => {
        await files.mkdir('/data');
        await files.fsyncDir('/');
        await files.writeFile('/data/synced', 'durable');
        await files.fsync('/data/synced');
        await files.writeFile('/data/changed', 'v1');
        await files.fsync('/data/changed');
        await files.writeFile('/data/entry-only', 'data never synced');
        await files.fsyncDir('/data');
        await files.writeFile('/data/changed', 'v2');
        await files.writeFile('/data/unsynced', 'volatile');
      })(),
    );
    expect((await files.readFile('/data/unsynced')).toString()).toBe('volatile');
    expect((await files.readFile('/data/changed')).toString()).toBe('v2');

    node.crash();
    node.restart();
    const after = node.platform.files;
    expect((await after.readFile('/data/synced')).toString()).toBe('durable');
    expect((await after.readFile('/data/changed')).toString()).toBe('v1');
    expect((await after.readFile('/data/entry-only')).length).toBe(0);
    await expect(after.readFile('/data/unsynced')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await after.readdir('/data')).toEqual(['changed', 'entry-only', 'synced']);
  });

  it('writeFileAtomic leaves the old or the new content, whatever the crash instant', async () => {
    const outcomes: string[] = [];
    // fsync and fsyncDir take 2 ms each (the host default): the write completes 4 ms after it starts.
    for (let crashAfterMs = 1; crashAfterMs <= 8; crashAfterMs++) {
      const { world, node } = lab();
      const files = node.platform.files;
      await within(
        world,
        (async () => {
          await files.mkdir('/etc');
          await files.fsyncDir('/');
          await writeFileAtomic(files, '/etc/config', 'old');
        })(),
      );
      world.engine.schedule(crashAfterMs, () => {
        node.crash();
        node.restart();
      });
      // The writer dies with its host: its promise never settles, so it is not awaited.
      void writeFileAtomic(files, '/etc/config', 'new').catch(() => undefined);
      await world.run({ forMs: 20 });

      expect(node.boots).toBe(2);
      const content = (await node.platform.files.readFile('/etc/config')).toString();
      expect(['old', 'new']).toContain(content);
      // No temp file is left visible either.
      expect(await node.platform.files.readdir('/etc')).toEqual(['config']);
      outcomes.push(content);
    }
    // Old before the rename is durable, new after: never back again, and both happen.
    const firstNew = outcomes.indexOf('new');
    expect(firstNew).toBeGreaterThan(0);
    expect(outcomes.slice(0, firstNew).every((content) => content === 'old')).toBe(true);
    expect(outcomes.slice(firstNew).every((content) => content === 'new')).toBe(true);
  });
});

describe('host crash: addresses', () => {
  it('runtime addresses (a VIP) are gone after restart; configured ones are back', async () => {
    const { world, node, peer } = lab();
    await node.platform.addresses.add('eth0', VIP, 24);
    await node.platform.addresses.remove('eth0', NODE_IP, 24);
    const before = await node.platform.addresses.list();
    expect(before[0]!.addresses).toEqual([{ address: VIP, prefixLength: 24 }]);

    node.crash();
    node.restart();
    const after = await node.platform.addresses.list();
    expect(after[0]!.addresses).toEqual([{ address: NODE_IP, prefixLength: 24 }]);

    // Nobody answers ARP for the VIP any more.
    const sender = await peer.platform.datagrams.udp({});
    sender.send(Buffer.from('to-vip'), 9000, VIP);
    await world.run({ forMs: 5_000 });
    expect(world.drops.get('arp-failed')).toBe(1);
    expect(node.nic('eth0').hasAddress(parseIpv4(VIP))).toBe(false);
  });
});

describe('host restart: boot functions', () => {
  it('restart runs the onBoot functions again and the services started there come back', async () => {
    const { world, node, peer } = lab();
    let mains = 0;
    let boots = 0;
    world.registerModule('udp-echo', async (platform) => {
      mains++;
      const socket = await platform.datagrams.udp({ port: 9000 });
      socket.on('message', (data: Buffer, remote: RemoteInfo) => socket.send(data, remote.port, remote.address));
      return { stop: () => socket.close() };
    });
    node.onBoot(() => {
      boots++;
    });
    node.onBoot((platform) => platform.processes.start({ name: 'echo', module: 'udp-echo' }));

    const echoes: string[] = [];
    const client: UdpSocket = await peer.platform.datagrams.udp({});
    client.on('message', (data: Buffer) => echoes.push(data.toString('utf8')));
    const ask = async (text: string): Promise<void> => {
      client.send(Buffer.from(text), 9000, NODE_IP);
      await world.run({ forMs: 100 });
    };

    await ask('before');
    expect(echoes).toEqual(['before']);
    expect(mains).toBe(1);

    node.crash();
    await ask('while-down');
    expect(echoes).toEqual(['before']);
    expect(world.drops.get('host-down')).toBeGreaterThan(0);

    node.restart();
    await world.run({ forMs: 10 });
    expect(node.boots).toBe(2);
    expect(boots).toBe(2);
    expect(mains).toBe(2);
    expect(node.processes.status('echo')?.state).toBe('running');
    await ask('after');
    expect(echoes).toEqual(['before', 'after']);
  });
});

// ------------------------------------------------------------------ process exit and failure

describe('process exit and failure: the kernel cleans up', () => {
  it('a process that exits cleanly has its sockets closed: the TCP peer sees FIN (end), not an error', async () => {
    const { world, node, peer } = lab();
    world.registerModule('one-shot', async (platform) => {
      let exit!: () => void;
      const done = new Promise<void>((resolve) => {
        exit = resolve;
      });
      const listener = await platform.streams.listen({ host: '0.0.0.0', port: 7000 }, (socket) => {
        // The data is read, and the process exits still holding the socket.
        socket.on('data', (data: Buffer) => {
          if (data.toString('utf8').includes('bye')) exit();
        });
      });
      return { stop: () => listener.close(), done };
    });
    await within(world, node.platform.processes.start({ name: 'one-shot', module: 'one-shot' }));

    const client = tcpClient(world, peer, 7000);
    client.socket.write('bye');
    await world.run({ forMs: 5_000, stopWhen: () => client.events.includes('close') });

    expect(client.events).toEqual(['end', 'close']);
    expect(node.processes.status('one-shot')).toEqual(expect.objectContaining({ state: 'exited', exitCode: 0 }));
    // The listener went with the process.
    const again = tcpClient(world, peer, 7000);
    await world.run({ forMs: 5_000, stopWhen: () => again.failure() !== undefined });
    expect(again.failure()?.code).toBe('ECONNREFUSED');
  });

  it('a process that exits with unread data has its socket reset, as Linux does: the peer sees ECONNRESET', async () => {
    const { world, node, peer } = lab();
    world.registerModule('no-reader', async (platform) => {
      let exit!: () => void;
      const done = new Promise<void>((resolve) => {
        exit = resolve;
      });
      const listener = await platform.streams.listen({ host: '0.0.0.0', port: 7000 }, () => {
        // Never reads; exits a little later.
        platform.clock.setTimeout(() => exit(), 100);
      });
      return { stop: () => listener.close(), done };
    });
    await within(world, node.platform.processes.start({ name: 'no-reader', module: 'no-reader' }));

    const client = tcpClient(world, peer, 7000);
    client.socket.write('unread');
    await world.run({ forMs: 5_000, stopWhen: () => client.failure() !== undefined });
    expect(client.failure()?.code).toBe('ECONNRESET');
    expect(client.events).not.toContain('end');
  });

  it("a service that throws in a timer callback is reported 'failed' with the reason; its sockets are closed", async () => {
    const { world, node, peer } = lab();
    world.registerModule('bomb', async (platform) => {
      await platform.datagrams.udp({ port: 9100 });
      await platform.streams.listen({ host: '0.0.0.0', port: 7000 }, (socket) => {
        socket.on('data', () => undefined);
      });
      platform.clock.setTimeout(() => {
        throw new Error('boom in a timer');
      }, 500);
      return { stop: async () => undefined };
    });
    const statuses: ProcessStatus[] = [];
    node.platform.processes.watch((status) => statuses.push(status));
    await within(world, node.platform.processes.start({ name: 'bomb', module: 'bomb' }));

    const client = tcpClient(world, peer, 7000);
    client.socket.write('hello');
    await world.run({ untilMs: 1_000 });

    expect(statuses).toHaveLength(1);
    expect(statuses[0]).toEqual(expect.objectContaining({ name: 'bomb', module: 'bomb', state: 'failed', exitCode: 1 }));
    expect(statuses[0]!.reason).toContain('boom in a timer');
    expect(node.processes.status('bomb')?.state).toBe('failed');
    // A service failure is the service's, not the run's.
    expect(world.failures).toEqual([]);
    // Its TCP connection was closed by the kernel (FIN), its UDP port freed.
    expect(client.events).toEqual(['end', 'close']);
    await expect(node.platform.datagrams.udp({ port: 9100 })).resolves.toBeDefined();
  });

  it("processes.stop calls the service's stop() and the status becomes 'stopped'", async () => {
    const { world, node } = lab();
    let stopCalls = 0;
    world.registerModule('polite', (platform) => ({
      stop: async () => {
        stopCalls++;
        await platform.clock.sleep(50);
      },
    }));
    const states: string[] = [];
    node.platform.processes.watch((status) => states.push(status.state));
    await within(world, node.platform.processes.start({ name: 'polite', module: 'polite' }));

    const startedAtMs = world.engine.elapsedMs();
    await within(world, node.platform.processes.stop('polite'));
    await world.run({ forMs: 1 });
    expect(stopCalls).toBe(1);
    expect(world.engine.elapsedMs() - startedAtMs).toBeGreaterThanOrEqual(50);
    expect(node.processes.status('polite')).toEqual(expect.objectContaining({ state: 'stopped', exitCode: 0 }));
    expect(states).toEqual(['stopping', 'stopped']);
  });

  it('processes.stop kills a service whose stop() hangs, after timeoutMs', async () => {
    const { world, node } = lab();
    world.registerModule('stubborn', () => ({ stop: () => new Promise<void>(() => undefined) }));
    await within(world, node.platform.processes.start({ name: 'stubborn', module: 'stubborn' }));
    const startedAtMs = world.engine.elapsedMs();
    await within(world, node.platform.processes.stop('stubborn', { timeoutMs: 1_000 }));
    expect(world.engine.elapsedMs() - startedAtMs).toBe(1_000);
    const status = node.processes.status('stubborn');
    expect(status).toEqual(expect.objectContaining({ state: 'stopped', exitCode: 137 }));
    expect(status?.reason).toMatch(/killed/);
  });

  it('a restart while the process is still stopping waits for the stop, then starts it (found by the nat-proxy fuzzer)', async () => {
    const { world, node } = lab();
    let starts = 0;
    world.registerModule('slow-stop', (platform) => {
      starts++;
      return { stop: () => platform.clock.sleep(2_000) };
    });
    await within(world, node.platform.processes.start({ name: 'slow-stop', module: 'slow-stop' }));
    const stopping = node.platform.processes.stop('slow-stop');
    await world.run({ forMs: 500 });
    expect(node.processes.status('slow-stop')?.state).toBe('stopping');
    const startedAtMs = world.engine.elapsedMs();
    await within(world, Promise.all([node.processes.restart('slow-stop'), node.processes.stop('slow-stop').then(() => stopping)]));
    expect(world.engine.elapsedMs() - startedAtMs).toBeGreaterThanOrEqual(1_500);
    expect(starts).toBe(2);
    expect(node.processes.status('slow-stop')?.state).toBe('running');
  });
});

// ------------------------------------------------------------------ faults

describe('faults: crash and restart on schedule', () => {
  it('scheduleFaults applies crash and restart at their virtual times', async () => {
    const { world, node } = lab();
    scheduleFaults(world, [
      { atMs: 1_000, kind: 'crash', host: 'node' },
      { atMs: 3_000, kind: 'restart', host: 'node' },
    ]);

    await world.run({ untilMs: 999 });
    expect(node.up).toBe(true);
    expect(world.faultsApplied.size).toBe(0);

    await world.run({ untilMs: 2_000 });
    expect(node.up).toBe(false);
    expect(world.faultsApplied.get('crash')).toBe(1);
    expect(world.engine.trace.count('host.crash')).toBe(1);
    expect(world.engine.trace.count('host.restart')).toBe(0);

    await world.run({ untilMs: 4_000 });
    expect(node.up).toBe(true);
    expect(node.boots).toBe(2);
    expect(world.faultsApplied.get('restart')).toBe(1);
    expect(world.engine.trace.count('host.restart')).toBe(1);
    const timeline = world.engine.trace
      .timelineEvents()
      .events.filter((event) => event.kind.startsWith('host.'))
      .map((event) => [event.kind, event.atMs]);
    expect(timeline).toEqual([
      ['host.crash', 1_000],
      ['host.restart', 3_000],
    ]);
  });

  it('validateFaults rejects an unknown host, a negative time and a nat-reset without NAT, with ERR_FAULT_INVALID', () => {
    const { world } = lab();
    const invalid: Fault[][] = [
      [{ atMs: 0, kind: 'crash', host: 'ghost' }],
      [{ atMs: 10, kind: 'partition', sideA: ['node'], sideB: ['ghost'] }],
      [{ atMs: -1, kind: 'restart', host: 'node' }],
      [{ atMs: 10, kind: 'nat-reset', host: 'node' }],
    ];
    for (const faults of invalid) {
      let caught: unknown;
      try {
        validateFaults(world, faults);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(FaultError);
      expect(errorCode(caught)).toBe('ERR_FAULT_INVALID');
    }
    expect(() => validateFaults(world, [{ atMs: 0, kind: 'crash', host: 'ghost' }])).toThrow(/no host named "ghost"/);
    expect(() => validateFaults(world, [{ atMs: 5, kind: 'crash', host: 'node' }])).not.toThrow();
  });

  it('scheduleFaults with one invalid fault schedules none of them', async () => {
    const { world, node } = lab();
    expect(() =>
      scheduleFaults(world, [
        { atMs: 10, kind: 'crash', host: 'node' },
        { atMs: 20, kind: 'restart', host: 'ghost' },
      ]),
    ).toThrow(FaultError);
    await world.run({ untilMs: 100 });
    expect(node.up).toBe(true);
    expect(world.faultsApplied.size).toBe(0);
  });
});

// ------------------------------------------------------------------ suspected simulator bugs

describe('crash at the instant a process is busy', () => {
  // Was a bug (fixed): the seam does not fence off a dead owner. A crash fault due "now"
  // (scheduleFaults with atMs <= current time, e.g. atMs 0 at the start of a
  // run) runs from the same-instant queue right after a boot function (or any
  // same-instant job) has started async work, and before that work's promise
  // continuations run. The continuations then keep executing the dead
  // process's code, and SimFiles (sim/network/sim-files.ts, `now()`) does not
  // check that its owner is alive: the write lands in the crashed disk's
  // volatile state, which the rebooted host then reads. A dead process must
  // not be able to change the disk (as sockets already refuse with EBADF via
  // ProcessContext.track).
  it('a write made by the boot code after its host crashed does not reach the disk', async () => {
    const { world, node } = lab();
    node.onBoot(async (platform) => {
      if (node.boots > 1) return;
      await platform.files.writeFile('/before-crash', 'x');
      await platform.files.writeFile('/after-crash', 'zombie');
    });
    scheduleFaults(world, [
      { atMs: 0, kind: 'crash', host: 'node' },
      { atMs: 10, kind: 'restart', host: 'node' },
    ]);
    await world.run({ untilMs: 100 });
    expect(node.up).toBe(true);
    // Neither write was synced: after the crash nothing may be there.
    expect(await node.platform.files.readdir('/')).toEqual([]);
  });

  // Was a bug (fixed): same root cause, worse effect. The dead boot code's
  // processes.start() (sim/network/platform.ts processesFor → the crashed
  // host's SimProcesses, which restart() later replaces) creates a fresh,
  // alive ProcessContext after the crash: that process is in no process
  // table (list() is empty after restart) yet its timers keep firing on the
  // rebooted host forever.
  it('a service started by boot code after its host crashed never runs', async () => {
    const { world, node } = lab();
    let ticks = 0;
    world.registerModule('ticker', (platform) => {
      platform.clock.setInterval(() => ticks++, 100);
      return { stop: async () => undefined };
    });
    node.onBoot(async (platform) => {
      if (node.boots > 1) return;
      await platform.files.writeFile('/marker', 'x');
      await platform.processes.start({ name: 'ticker', module: 'ticker' });
    });
    scheduleFaults(world, [
      { atMs: 0, kind: 'crash', host: 'node' },
      { atMs: 10, kind: 'restart', host: 'node' },
    ]);
    await world.run({ untilMs: 1_000 });
    expect(node.processes.list()).toEqual([]);
    expect(ticks).toBe(0);
  });
});
