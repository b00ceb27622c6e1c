// Layer 2 of the simulated network: ARP and the neighbour cache (after
// Linux's NUD states), a VIP that moves with and without a gratuitous ARP,
// multicast delivery for UDP and IP protocol 112 (VRRP), and the partition
// model (hop by hop, and end to end through routers).
import { describe, expect, it } from 'vitest';
import { World } from '../sim/network/world.js';
import type { SimHost } from '../sim/network/host.js';
import type { Frame } from '../sim/network/packet.js';
import { IPPROTO_VRRP } from '../sim/network/packet.js';
import { parseIpv4 } from '../sim/network/ip.js';
import { DEFAULT_NEIGHBOR_SETTINGS } from '../sim/network/stack/neighbors.js';
import { decodeIpv4Header, encodeIpv4Header, ipv4HeaderChecksumOk } from '../src/runtime/net/ipv4-header.js';
import type { RawPacketInfo, RemoteInfo, UdpSocket } from '../src/runtime/platform/types.js';
import { errorCode } from '../src/runtime/platform/errors.js';

const C_IP = '198.18.0.1';
const A_IP = '198.18.0.2';
const B_IP = '198.18.0.3';
const VIP = '198.18.0.100';
const PORT = 9000;
const VRRP_GROUP = '224.0.0.18';

interface Lan {
  world: World;
  c: SimHost;
  a: SimHost;
  b: SimHost;
}

/** Three hosts on one segment: c (the client), a and b (the candidates for a VIP). */
function lan(seed = 1): Lan {
  const world = new World({ seed });
  const segment = world.segment('lan');
  const c = world.host('c');
  const a = world.host('a');
  const b = world.host('b');
  world.attach(c, segment, `${C_IP}/24`);
  world.attach(a, segment, `${A_IP}/24`);
  world.attach(b, segment, `${B_IP}/24`);
  return { world, c, a, b };
}

interface Tapped {
  atMs: number;
  iface: string;
  frame: Frame;
}

/** Every frame that reaches `host`'s stack, with its arrival time. */
function tapFrames(host: SimHost): Tapped[] {
  const frames: Tapped[] = [];
  const receiveFrame = host.stack.receiveFrame.bind(host.stack);
  host.stack.receiveFrame = (nic, frame) => {
    frames.push({ atMs: host.world.engine.elapsedMs(), iface: nic.name, frame });
    receiveFrame(nic, frame);
  };
  return frames;
}

function arpFrames(frames: readonly Tapped[], op: 'request' | 'reply', targetIp: string): Tapped[] {
  return frames.filter((t) => t.frame.arp?.op === op && t.frame.arp.targetIp === parseIpv4(targetIp));
}

interface Received {
  from: string;
  data: string;
  atMs: number;
}

async function udpSink(host: SimHost, port: number, received: Received[] = []): Promise<{ socket: UdpSocket; received: Received[] }> {
  const socket = await host.platform.datagrams.udp({ port });
  socket.on('message', (data: Buffer, remote: RemoteInfo) => {
    received.push({ from: `${remote.address}:${remote.port}`, data: data.toString('utf8'), atMs: host.world.engine.elapsedMs() });
  });
  return { socket, received };
}

function neighbor(host: SimHost, ip: string, iface = 'eth0'): { mac: string | undefined; state: string } | undefined {
  return host.nic(iface).neighbors.lookup(parseIpv4(ip));
}

describe('ARP: resolution', () => {
  it('the first packet to an on-link neighbour triggers an ARP request; delivery follows; the entry is reachable', async () => {
    const { world, c, b } = lan();
    const seenByB = tapFrames(b);
    const seenByC = tapFrames(c);
    const sink = await udpSink(b, PORT);
    const sender = await c.platform.datagrams.udp({});
    expect(neighbor(c, B_IP)).toBeUndefined();

    sender.send(Buffer.from('first'), PORT, B_IP);
    await world.run({ forMs: 50 });

    const requests = arpFrames(seenByB, 'request', B_IP);
    const replies = arpFrames(seenByC, 'reply', C_IP);
    expect(requests).toHaveLength(1);
    expect(requests[0]!.frame.destinationMac).toBe('ff:ff:ff:ff:ff:ff');
    expect(replies).toHaveLength(1);
    expect(sink.received).toHaveLength(1);
    // Request, then reply, then the datagram that waited for it.
    expect(requests[0]!.atMs).toBeLessThan(replies[0]!.atMs);
    expect(replies[0]!.atMs).toBeLessThan(sink.received[0]!.atMs);
    expect(sink.received[0]).toEqual(expect.objectContaining({ data: 'first', from: `${C_IP}:${sender.port}` }));

    expect(neighbor(c, B_IP)).toEqual({ mac: b.nic('eth0').mac, state: 'reachable' });
    // Like Linux, the host that was asked learned the asker, as STALE.
    expect(neighbor(b, C_IP)).toEqual({ mac: c.nic('eth0').mac, state: 'stale' });

    // A resolved neighbour needs no second request.
    sender.send(Buffer.from('second'), PORT, B_IP);
    await world.run({ forMs: 50 });
    expect(sink.received.map((r) => r.data)).toEqual(['first', 'second']);
    expect(arpFrames(seenByB, 'request', B_IP)).toHaveLength(1);
  });

  it('an address nobody owns: three broadcast probes one second apart, then the queued packets are dropped', async () => {
    const { world, c, b } = lan();
    const seenByB = tapFrames(b);
    const sender = await c.platform.datagrams.udp({});
    const nobody = '198.18.0.99';
    const { broadcastProbes, retransmitMs } = DEFAULT_NEIGHBOR_SETTINGS;

    for (const text of ['one', 'two', 'three']) sender.send(Buffer.from(text), PORT, nobody);
    await world.run({ untilMs: broadcastProbes * retransmitMs - 1 });
    expect(world.drops.get('arp-failed') ?? 0).toBe(0);
    expect(neighbor(c, nobody)?.state).toBe('incomplete');

    await world.run({ untilMs: broadcastProbes * retransmitMs + 500 });
    const probes = arpFrames(seenByB, 'request', nobody);
    expect(probes).toHaveLength(broadcastProbes);
    for (const [i, probe] of probes.entries()) {
      expect(probe.frame.destinationMac).toBe('ff:ff:ff:ff:ff:ff');
      // Sent at i × retransmitMs, one wire crossing later at b.
      expect(probe.atMs - i * retransmitMs).toBeGreaterThanOrEqual(0);
      expect(probe.atMs - i * retransmitMs).toBeLessThan(10);
    }
    expect(world.drops.get('arp-failed')).toBe(3);
    expect(world.engine.trace.count('arp.failed')).toBe(1);
    expect(neighbor(c, nobody)).toBeUndefined();
  });

  it('a TCP connect to an address nobody owns fails with EHOSTUNREACH once ARP gives up', async () => {
    const { world, c } = lan();
    const socket = c.platform.streams.connect({ host: '198.18.0.99', port: 80 });
    let failedAtMs: number | undefined;
    let code: string | undefined;
    socket.on('error', (error: Error) => {
      failedAtMs = world.engine.elapsedMs();
      code = errorCode(error);
    });
    await world.run({ untilMs: 10_000, stopWhen: () => code !== undefined });
    expect(code).toBe('EHOSTUNREACH');
    const arpGiveUpMs = DEFAULT_NEIGHBOR_SETTINGS.broadcastProbes * DEFAULT_NEIGHBOR_SETTINGS.retransmitMs;
    expect(failedAtMs).toBeGreaterThanOrEqual(arpGiveUpMs);
    expect(failedAtMs).toBeLessThan(arpGiveUpMs + 10);
  });
});

describe('ARP: a VIP moves from a to b', () => {
  const SEND_INTERVAL_MS = 100;
  const MOVE_AT_MS = 1_000;

  /** c talks to the VIP on a; returns when c's cache points at a, and when that entry was confirmed. */
  async function vipOnA(): Promise<Lan & { onA: Received[]; onB: Received[]; sender: UdpSocket; confirmedAtMs: number }> {
    const setup = lan();
    const { world, c, a, b } = setup;
    const seenByC = tapFrames(c);
    await a.platform.addresses.add('eth0', VIP, 24);
    const onA = (await udpSink(a, PORT)).received;
    const onB = (await udpSink(b, PORT)).received;
    const sender = await c.platform.datagrams.udp({});

    sender.send(Buffer.from('hello-a'), PORT, VIP);
    await world.run({ forMs: 50 });
    expect(onA.map((r) => r.data)).toEqual(['hello-a']);
    expect(neighbor(c, VIP)).toEqual({ mac: a.nic('eth0').mac, state: 'reachable' });
    const replies = arpFrames(seenByC, 'reply', C_IP);
    expect(replies).toHaveLength(1);
    return { ...setup, onA, onB, sender, confirmedAtMs: replies[0]!.atMs };
  }

  it('without a gratuitous ARP, c keeps sending to a until the entry ages out and the probes fail (Linux NUD bound)', async () => {
    const { world, c, a, b, onA, onB, sender, confirmedAtMs } = await vipOnA();
    await world.run({ untilMs: MOVE_AT_MS });
    await a.platform.addresses.remove('eth0', VIP, 24);
    await b.platform.addresses.add('eth0', VIP, 24);

    let sent = 0;
    const timer = c.platform.clock.setInterval(() => {
      sent++;
      sender.send(Buffer.from(`dgram-${sent}`), PORT, VIP);
    }, SEND_INTERVAL_MS);
    const settings = c.neighborSettings;
    // REACHABLE lasts reachableMs from the last confirmation; the first packet after it
    // moves the entry to DELAY; after delayFirstProbeMs come unicastProbes probes to a's
    // MAC, retransmitMs apart, unanswered; then the entry fails and the next packet
    // broadcasts, which b answers. Each "next packet" waits up to one send interval.
    const earliestMs = confirmedAtMs + settings.reachableMs + settings.delayFirstProbeMs + settings.unicastProbes * settings.retransmitMs;
    const wireSlackMs = 10;
    const latestMs = earliestMs + 2 * SEND_INTERVAL_MS + wireSlackMs;
    await world.run({ untilMs: latestMs + 5_000, stopWhen: () => onB.length > 0 });
    c.platform.clock.clearTimer(timer);

    expect(onB.length).toBeGreaterThan(0);
    const arrivedAtMs = onB[0]!.atMs;
    expect(arrivedAtMs).toBeGreaterThanOrEqual(earliestMs);
    expect(arrivedAtMs).toBeLessThanOrEqual(latestMs);
    // With the default settings: about 38 s of a VIP black hole after a silent move.
    expect(arrivedAtMs - MOVE_AT_MS).toBeGreaterThan(30_000);

    // Everything sent in between went to a's MAC and was lost there.
    expect(onA.map((r) => r.data)).toEqual(['hello-a']);
    const lost = Number(onB[0]!.data.slice('dgram-'.length)) - 1;
    expect(lost).toBeGreaterThan(300);
    expect(world.drops.get('not-for-host')).toBe(lost);
    expect(neighbor(c, VIP)).toEqual({ mac: b.nic('eth0').mac, state: 'reachable' });
  });

  it('with a gratuitous ARP from b, the very next datagram reaches b', async () => {
    const { world, c, a, b, onA, onB, sender } = await vipOnA();
    await world.run({ untilMs: MOVE_AT_MS });
    await a.platform.addresses.remove('eth0', VIP, 24);
    await b.platform.addresses.add('eth0', VIP, 24);
    await b.platform.addresses.gratuitousArp('eth0', VIP);
    await world.run({ forMs: 10 });
    expect(neighbor(c, VIP)?.mac).toBe(b.nic('eth0').mac);

    sender.send(Buffer.from('after-garp'), PORT, VIP);
    await world.run({ forMs: 10 });
    expect(onB.map((r) => r.data)).toEqual(['after-garp']);
    expect(onA.map((r) => r.data)).toEqual(['hello-a']);
    expect(world.drops.get('not-for-host') ?? 0).toBe(0);
    // arp_accept=0: the announcement updated c's entry but created none on a.
    expect(neighbor(a, VIP)).toBeUndefined();
  });
});

describe('multicast', () => {
  /** lan 198.18.0.0/24 (c, a, b, router r) and lan2 198.18.1.0/24 (d behind r). */
  function twoSegments(): Lan & { d: SimHost } {
    const setup = lan();
    const { world } = setup;
    const r = world.router('r');
    world.attach(r, world.segments.get('lan')!, '198.18.0.254/24');
    const lan2 = world.segment('lan2');
    world.attach(r, lan2, '198.18.1.1/24');
    const d = world.host('d');
    world.attach(d, lan2, '198.18.1.10/24', { gateway: '198.18.1.1' });
    for (const host of [setup.c, setup.a, setup.b]) world.route(host, '198.18.1.0/24', '198.18.0.254');
    return { ...setup, d };
  }

  it('a UDP socket that joined 224.0.0.18 receives datagrams to the group; one that did not join, or on another segment, does not', async () => {
    const { world, c, a, b, d } = twoSegments();
    const joined = await udpSink(a, PORT);
    joined.socket.addMembership(VRRP_GROUP, A_IP);
    const notJoined = await udpSink(b, PORT);
    const elsewhere = await udpSink(d, PORT);
    elsewhere.socket.addMembership(VRRP_GROUP, '198.18.1.10');

    const sender = await c.platform.datagrams.udp({});
    sender.setMulticastTtl(255);
    sender.send(Buffer.from('to-group'), PORT, VRRP_GROUP);
    await world.run({ forMs: 50 });

    expect(joined.received).toEqual([expect.objectContaining({ data: 'to-group', from: `${C_IP}:${sender.port}` })]);
    expect(notJoined.received).toEqual([]);
    expect(elsewhere.received).toEqual([]);

    // Leaving the group stops delivery.
    joined.socket.dropMembership(VRRP_GROUP, A_IP);
    sender.send(Buffer.from('after-leave'), PORT, VRRP_GROUP);
    await world.run({ forMs: 50 });
    expect(joined.received.map((r) => r.data)).toEqual(['to-group']);
  });

  it('a raw protocol-112 socket receives VRRP-style packets to 224.0.0.18 with TTL 255 and the true source; no other segment does', async () => {
    const { world, c, a, b, d } = twoSegments();
    const received: { host: string; payload: string; info: RawPacketInfo }[] = [];
    const listen = async (host: SimHost, protocol: number, join: boolean): Promise<void> => {
      const socket = await host.platform.datagrams.raw({ protocol });
      if (join) socket.addMembership(VRRP_GROUP, 'eth0');
      socket.on('message', (payload: Buffer, info: RawPacketInfo) => received.push({ host: host.name, payload: payload.toString('hex'), info }));
    };
    await listen(a, IPPROTO_VRRP, true);
    await listen(a, 51, false); // an AH socket on the same host: another protocol, nothing for it
    await listen(b, IPPROTO_VRRP, false);
    await listen(d, IPPROTO_VRRP, true);

    const advert = Buffer.from([0x21, 0x33, 0x64, 0x01, 0x00, 0x01, 0x00, 0x00, 0xc6, 0x12, 0x00, 0x64]);
    const sender = await c.platform.datagrams.raw({ protocol: IPPROTO_VRRP });
    sender.send(advert, { destination: VRRP_GROUP, ttl: 255, iface: 'eth0' });
    await world.run({ forMs: 50 });

    expect(received).toEqual([
      {
        host: 'a',
        payload: advert.toString('hex'),
        info: { source: C_IP, destination: VRRP_GROUP, ttl: 255, protocol: IPPROTO_VRRP, iface: 'eth0', header: expect.any(Buffer) },
      },
    ]);
    // The header a receiver gets is the one the sender's stack built: AH authenticates it.
    const header = decodeIpv4Header(received[0]!.info.header);
    expect(header).toMatchObject({ source: C_IP, destination: VRRP_GROUP, ttl: 255, protocol: IPPROTO_VRRP, totalLength: 20 + advert.length });
    expect(ipv4HeaderChecksumOk(received[0]!.info.header)).toBe(true);
  });

  it('sendDatagram carries a caller-built header: its identification reaches the receiver', async () => {
    const { world, a, c } = lan();
    const received: RawPacketInfo[] = [];
    const socket = await a.platform.datagrams.raw({ protocol: IPPROTO_VRRP, iface: 'eth0' });
    socket.addMembership(VRRP_GROUP, 'eth0');
    socket.on('message', (_payload: Buffer, info: RawPacketInfo) => received.push(info));
    const sender = await c.platform.datagrams.raw({ protocol: IPPROTO_VRRP });
    const payload = Buffer.alloc(20, 7);
    const header = encodeIpv4Header({ tos: 0xc0, totalLength: 40, identification: 4242, flagsFragment: 0, ttl: 255, protocol: IPPROTO_VRRP, source: C_IP, destination: VRRP_GROUP });
    sender.sendDatagram(Buffer.concat([header, payload]), { iface: 'eth0' });
    expect(() => sender.sendDatagram(Buffer.concat([encodeIpv4Header({ tos: 0, totalLength: 40, identification: 0, flagsFragment: 0, ttl: 255, protocol: IPPROTO_VRRP, source: C_IP, destination: VRRP_GROUP }), payload]), { iface: 'eth0' })).toThrow(/identification 0/);
    await world.run({ forMs: 50 });
    expect(received).toHaveLength(1);
    expect(decodeIpv4Header(received[0]!.header).identification).toBe(4242);
  });
});

describe('partitions', () => {
  it('hopBlocked and pathBlocked follow the rules; heal removes them', () => {
    const { world } = lan();
    const oneWay = world.partitionOneWay(['c'], ['a']);
    expect(world.hopBlocked('c', 'a')).toBe(true);
    expect(world.hopBlocked('a', 'c')).toBe(false);
    expect(world.hopBlocked('c', 'b')).toBe(false);
    expect(world.pathBlocked('c', 'a')).toBe(true);
    // A host is never cut off from itself.
    expect(world.pathBlocked('c', 'c')).toBe(false);

    const both = world.partition(['c'], ['b']);
    expect(world.hopBlocked('c', 'b')).toBe(true);
    expect(world.hopBlocked('b', 'c')).toBe(true);
    expect(world.activePartitions).toBe(3);

    world.heal(oneWay);
    expect(world.hopBlocked('c', 'a')).toBe(false);
    expect(world.hopBlocked('c', 'b')).toBe(true);
    world.heal(both);
    expect(world.activePartitions).toBe(0);
    expect(() => world.partition(['c'], ['nobody'])).toThrow(/no host named "nobody"/);
  });

  it('a one-way partition drops one direction only (warm ARP caches)', async () => {
    const { world, c, a } = lan();
    const onA = await udpSink(a, PORT);
    const onC = await udpSink(c, PORT);
    // Warm both caches first: ARP itself needs both directions.
    onC.socket.send(Buffer.from('warm'), PORT, A_IP);
    onA.socket.send(Buffer.from('warm'), PORT, C_IP);
    await world.run({ forMs: 50 });
    expect(onA.received).toHaveLength(1);
    expect(onC.received).toHaveLength(1);

    world.partitionOneWay(['c'], ['a']);
    onC.socket.send(Buffer.from('c-to-a'), PORT, A_IP);
    onA.socket.send(Buffer.from('a-to-c'), PORT, C_IP);
    await world.run({ forMs: 50 });
    expect(onA.received.map((r) => r.data)).toEqual(['warm']);
    expect(onC.received.map((r) => r.data)).toEqual(['warm', 'a-to-c']);
    expect(world.drops.get('partition')).toBe(1);

    world.heal();
    onC.socket.send(Buffer.from('healed'), PORT, A_IP);
    await world.run({ forMs: 50 });
    expect(onA.received.map((r) => r.data)).toEqual(['warm', 'healed']);
  });

  it('with cold ARP caches a one-way partition also breaks the open direction: the ARP reply cannot cross', async () => {
    const { world, c, a } = lan();
    const onA = await udpSink(a, PORT);
    const onC = await udpSink(c, PORT);
    world.partitionOneWay(['c'], ['a']);
    onA.socket.send(Buffer.from('a-to-c'), PORT, C_IP);
    await world.run({ forMs: 5_000 });
    expect(onC.received).toEqual([]);
    expect(world.drops.get('arp-failed')).toBe(1);
  });

  it('a one-way partition holds end to end through a router (pathBlocked on the origin host)', async () => {
    const world = new World({ seed: 1 });
    const left = world.segment('left');
    const right = world.segment('right');
    const c = world.host('c');
    const r = world.router('r');
    const d = world.host('d');
    world.attach(c, left, `${C_IP}/24`, { gateway: '198.18.0.254' });
    world.attach(r, left, '198.18.0.254/24');
    world.attach(r, right, '198.18.1.1/24');
    world.attach(d, right, '198.18.1.10/24', { gateway: '198.18.1.1' });
    const onC = await udpSink(c, PORT);
    const onD = await udpSink(d, PORT);

    world.partitionOneWay(['c'], ['d']);
    // Neither hop of c → d (c → r, r → d) is blocked; the end-to-end rule still is.
    expect(world.hopBlocked('c', 'r')).toBe(false);
    expect(world.hopBlocked('r', 'd')).toBe(false);
    onC.socket.send(Buffer.from('c-to-d'), PORT, '198.18.1.10');
    onD.socket.send(Buffer.from('d-to-c'), PORT, C_IP);
    await world.run({ forMs: 50 });
    expect(onD.received).toEqual([]);
    expect(onC.received.map((r) => r.data)).toEqual(['d-to-c']);
    expect(world.drops.get('partition')).toBe(1);
  });
});
