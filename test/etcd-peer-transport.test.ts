// Raft messages between simulated members: delivered in order while the path
// works, dropped (not queued without end) while it does not, delivered again
// once it heals; a hostile peer's frames close its connection, not the member.
import { describe, expect, it } from 'vitest';
import { World } from '../sim/network/world.js';
import { PeerTransport, PEER_PORT } from '../sim/etcd/member/peer-transport.js';
import type { RaftMessage } from '../sim/etcd/raft/messages.js';

function heartbeat(from: string, to: string, term: number): RaftMessage {
  return { type: 'heartbeat', from, to, term, commitIndex: 0, readRound: 0 } as unknown as RaftMessage;
}

function cluster(seed: number): { world: World; received: Map<string, RaftMessage[]>; transports: Map<string, PeerTransport> } {
  const world = new World({ seed });
  const lan = world.segment('lan', { latencyMs: 1 });
  const addresses = new Map([
    ['m1', '198.18.0.11'],
    ['m2', '198.18.0.12'],
    ['m3', '198.18.0.13'],
  ]);
  const received = new Map<string, RaftMessage[]>();
  const transports = new Map<string, PeerTransport>();
  for (const [name, ip] of addresses) {
    const host = world.host(name);
    world.attach(host, lan, `${ip}/24`);
    received.set(name, []);
    host.onBoot(async (platform) => {
      const peers = new Map([...addresses].filter(([peer]) => peer !== name));
      transports.set(name, await PeerTransport.start(platform, { self: name, peers, listenHost: '0.0.0.0', onMessage: (message) => received.get(name)?.push(message), log: platform.log }));
    });
  }
  return { world, received, transports };
}

describe('PeerTransport', () => {
  it('delivers in order, drops what a cut makes undeliverable, and delivers again after the heal', async () => {
    const { world, received, transports } = cluster(1);
    world.engine.schedule(100, () => {
      for (let term = 1; term <= 3; term++) transports.get('m1')?.send(heartbeat('m1', 'm2', term));
    });
    world.engine.schedule(1_000, () => world.partition(['m1'], ['m2']));
    world.engine.schedule(1_100, () => {
      for (let term = 4; term <= 6; term++) transports.get('m1')?.send(heartbeat('m1', 'm2', term));
    });
    world.engine.schedule(20_000, () => world.heal());
    world.engine.schedule(40_000, () => transports.get('m1')?.send(heartbeat('m1', 'm2', 7)));
    world.engine.schedule(41_000, () => transports.get('m1')?.send(heartbeat('m1', 'm2', 8)));
    await world.run({ untilMs: 45_000 });
    const terms = received.get('m2')?.map((message) => message.term) ?? [];
    expect(terms.slice(0, 3)).toEqual([1, 2, 3]);
    expect(terms.slice(-1)).toEqual([8]);
    // Whatever arrived, arrived in order and once.
    expect([...terms].sort((a, b) => a - b)).toEqual(terms);
    expect(new Set(terms).size).toBe(terms.length);
    expect(received.get('m3')).toEqual([]);
  });

  it('closes a connection that sends a frame it cannot read, and goes on serving others', async () => {
    const { world, received, transports } = cluster(2);
    const intruder = world.host('intruder');
    world.attach(intruder, world.segments.get('lan')!, '198.18.0.99/24');
    let closed = false;
    world.engine.schedule(100, () => {
      const socket = intruder.platform.streams.connect({ host: '198.18.0.12', port: PEER_PORT });
      socket.on('connect', () => {
        const body = Buffer.from('{"type":"explode","from":"m1","to":"m2","term":1}');
        const header = Buffer.alloc(4);
        header.writeUInt32BE(body.length, 0);
        socket.write(Buffer.concat([header, body]));
      });
      socket.resume();
      socket.on('close', () => (closed = true));
      socket.on('error', () => {});
    });
    world.engine.schedule(500, () => transports.get('m1')?.send(heartbeat('m1', 'm2', 1)));
    await world.run({ untilMs: 2_000 });
    expect(closed).toBe(true);
    expect(received.get('m2')?.map((message) => message.term)).toEqual([1]);
    expect(world.engine.trace.count('log.warn')).toBeGreaterThan(0);
  });
});
