// The simulated NAT (sim/network/nat.ts) seen from the hosts on both sides:
// masquerading, RFC 4787 mapping and filtering behaviour, idle expiry, the
// table bound, and what a NAT restart does to a TCP connection through it.
//
//   lan 198.19.1.0/24            wan 198.18.0.0/24
//   client .10 ── nat .1 | .1 ── s1 .10, s2 .11, s3 .12
import { describe, expect, it } from 'vitest';
import { World } from '../sim/network/world.js';
import type { SimHost } from '../sim/network/host.js';
import type { Nat, NatOptions } from '../sim/network/nat.js';
import { scheduleFaults } from '../sim/network/faults.js';
import type { Frame } from '../sim/network/packet.js';
import { formatIpv4 } from '../sim/network/ip.js';
import type { RemoteInfo, StreamSocket, UdpSocket } from '../src/runtime/platform/types.js';
import { errorCode } from '../src/runtime/platform/errors.js';

const CLIENT_IP = '198.19.1.10';
const NAT_OUTSIDE_IP = '198.18.0.1';
const SERVER_IPS = ['198.18.0.10', '198.18.0.11', '198.18.0.12'] as const;
const UDP_PORT = 7000;
const TCP_PORT = 8080;

interface NatLab {
  world: World;
  client: SimHost;
  router: SimHost;
  nat: Nat;
  servers: SimHost[];
}

function natLab(natOptions: Partial<NatOptions> = {}, seed = 1): NatLab {
  const world = new World({ seed });
  const lan = world.segment('lan');
  const wan = world.segment('wan');
  const client = world.host('client');
  world.attach(client, lan, `${CLIENT_IP}/24`, { gateway: '198.19.1.1' });
  const router = world.router('nat');
  world.attach(router, lan, '198.19.1.1/24', { iface: 'eth0' });
  world.attach(router, wan, `${NAT_OUTSIDE_IP}/24`, { iface: 'eth1' });
  const nat = world.nat(router, { inside: 'eth0', outside: 'eth1', ...natOptions });
  // The servers have no route to the inside network: replies go to the NAT's outside address, on-link.
  const servers = SERVER_IPS.map((address, i) => {
    const server = world.host(`s${i + 1}`);
    world.attach(server, wan, `${address}/24`);
    return server;
  });
  return { world, client, router, nat, servers };
}

interface Received {
  from: string;
  data: string;
  atMs: number;
}

interface Endpoint {
  socket: UdpSocket;
  received: Received[];
}

/** A UDP socket on `host` that records what arrives ("address:port" of the sender), optionally echoing it. */
async function udpEndpoint(world: World, host: SimHost, options: { port?: number; echo?: boolean } = {}): Promise<Endpoint> {
  const socket = await host.platform.datagrams.udp(options.port === undefined ? {} : { port: options.port });
  const received: Received[] = [];
  socket.on('message', (data: Buffer, remote: RemoteInfo) => {
    received.push({ from: `${remote.address}:${remote.port}`, data: data.toString('utf8'), atMs: world.engine.elapsedMs() });
    if (options.echo === true) socket.send(data, remote.port, remote.address);
  });
  return { socket, received };
}

function send(endpoint: Endpoint, text: string, address: string, port = UDP_PORT): void {
  endpoint.socket.send(Buffer.from(text), port, address);
}

function drops(world: World, reason: string): number {
  return world.drops.get(reason) ?? 0;
}

describe('NAT: masquerading', () => {
  it('the outside server sees the router outside address and the mapped port, never the inside address', async () => {
    const { world, client, nat, servers } = natLab();
    const server = await udpEndpoint(world, servers[0]!, { port: UDP_PORT, echo: true });
    const inside = await udpEndpoint(world, client);

    send(inside, 'hello', SERVER_IPS[0]);
    await world.run({ forMs: 100 });

    const mappings = nat.mappings();
    expect(mappings).toHaveLength(1);
    const mapping = mappings[0]!;
    expect(mapping.protocol).toBe('udp');
    expect(mapping.inside).toBe(`${CLIENT_IP}:${inside.socket.port}`);
    expect(mapping.remotes).toEqual([`${SERVER_IPS[0]}:${UDP_PORT}`]);

    expect(server.received.map((r) => r.from)).toEqual([`${NAT_OUTSIDE_IP}:${mapping.externalPort}`]);
    expect(server.received.some((r) => r.from.startsWith(CLIENT_IP))).toBe(false);
    // The reply is translated back: the inside socket sees the server, not the NAT.
    expect(inside.received).toEqual([expect.objectContaining({ from: `${SERVER_IPS[0]}:${UDP_PORT}`, data: 'hello' })]);
    expect(nat.stats.mappingsCreated).toBe(1);
  });
});

describe('NAT: mapping behaviour', () => {
  it('endpoint-independent mapping: one inside socket gets the same external port towards two servers', async () => {
    const { world, client, nat, servers } = natLab({ mapping: 'endpoint-independent' });
    const s1 = await udpEndpoint(world, servers[0]!, { port: UDP_PORT });
    const s2 = await udpEndpoint(world, servers[1]!, { port: UDP_PORT });
    const inside = await udpEndpoint(world, client);

    send(inside, 'to-s1', SERVER_IPS[0]);
    send(inside, 'to-s2', SERVER_IPS[1]);
    await world.run({ forMs: 100 });

    expect(s1.received).toHaveLength(1);
    expect(s2.received).toHaveLength(1);
    expect(s1.received[0]!.from).toBe(s2.received[0]!.from);
    const mappings = nat.mappings();
    expect(mappings).toHaveLength(1);
    expect(s1.received[0]!.from).toBe(`${NAT_OUTSIDE_IP}:${mappings[0]!.externalPort}`);
    expect([...mappings[0]!.remotes].sort()).toEqual([`${SERVER_IPS[0]}:${UDP_PORT}`, `${SERVER_IPS[1]}:${UDP_PORT}`]);
  });

  it('address-and-port-dependent ("symmetric") mapping: a different external port per destination', async () => {
    const { world, client, nat, servers } = natLab({ mapping: 'address-and-port-dependent' });
    const s1 = await udpEndpoint(world, servers[0]!, { port: UDP_PORT });
    const s2 = await udpEndpoint(world, servers[1]!, { port: UDP_PORT });
    const inside = await udpEndpoint(world, client);

    send(inside, 'to-s1', SERVER_IPS[0]);
    send(inside, 'to-s2', SERVER_IPS[1]);
    // Same server, other port: also a new mapping.
    send(inside, 'to-s1-other-port', SERVER_IPS[0], UDP_PORT + 1);
    await world.run({ forMs: 100 });

    expect(s1.received).toHaveLength(1);
    expect(s2.received).toHaveLength(1);
    expect(s1.received[0]!.from).not.toBe(s2.received[0]!.from);
    const mappings = nat.mappings();
    expect(mappings).toHaveLength(3);
    expect(new Set(mappings.map((m) => m.externalPort)).size).toBe(3);
    for (const mapping of mappings) expect(mapping.inside).toBe(`${CLIENT_IP}:${inside.socket.port}`);
  });
});

describe('NAT: inbound', () => {
  it('nothing comes in without a mapping', async () => {
    const { world, client, nat, servers } = natLab({ filtering: 'endpoint-independent' });
    // Inside sockets on the very ports probed from outside: a NAT without a mapping must not guess.
    const insideSockets = await Promise.all([40_000, 50_000, 60_000].map((port) => udpEndpoint(world, client, { port })));
    const outside = await udpEndpoint(world, servers[0]!, { port: UDP_PORT });

    for (const port of [40_000, 50_000, 60_000, 1_024, 65_535]) send(outside, 'knock', NAT_OUTSIDE_IP, port);
    await world.run({ forMs: 100 });

    for (const inside of insideSockets) expect(inside.received).toEqual([]);
    expect(drops(world, 'nat-no-mapping')).toBe(5);
    expect(nat.stats.inboundDropped).toBe(5);
    expect(nat.mappings()).toEqual([]);
  });

  it('nothing routed straight to an inside address gets in either, even with a route to it', async () => {
    const { world, client, servers } = natLab({ filtering: 'endpoint-independent' });
    const inside = await udpEndpoint(world, client, { port: 40_000 });
    const attacker = servers[0]!;
    world.route(attacker, '198.19.1.0/24', NAT_OUTSIDE_IP);
    const outside = await udpEndpoint(world, attacker, { port: UDP_PORT });
    send(outside, 'knock', CLIENT_IP, 40_000);
    await world.run({ forMs: 100 });
    expect(inside.received).toEqual([]);
    expect(drops(world, 'nat-unsolicited')).toBe(1);
  });

  it('address-and-port-dependent filtering: only the endpoint the inside host sent to gets in', async () => {
    const { world, client, nat, servers } = natLab({ filtering: 'address-and-port-dependent' });
    const s1 = await udpEndpoint(world, servers[0]!, { port: UDP_PORT });
    const s1OtherPort = await udpEndpoint(world, servers[0]!, { port: UDP_PORT + 1 });
    const s3 = await udpEndpoint(world, servers[2]!, { port: UDP_PORT });
    const inside = await udpEndpoint(world, client);

    send(inside, 'open', SERVER_IPS[0]);
    await world.run({ forMs: 100 });
    const externalPort = nat.mappings()[0]!.externalPort;
    expect(s1.received.map((r) => r.from)).toEqual([`${NAT_OUTSIDE_IP}:${externalPort}`]);

    send(s3, 'stranger', NAT_OUTSIDE_IP, externalPort);
    send(s1OtherPort, 'same-host-other-port', NAT_OUTSIDE_IP, externalPort);
    await world.run({ forMs: 100 });
    expect(inside.received).toEqual([]);
    expect(drops(world, 'nat-no-mapping')).toBe(2);

    send(s1, 'reply', NAT_OUTSIDE_IP, externalPort);
    await world.run({ forMs: 100 });
    expect(inside.received.map((r) => [r.from, r.data])).toEqual([[`${SERVER_IPS[0]}:${UDP_PORT}`, 'reply']]);
  });

  it('endpoint-independent filtering: a third host reaches the inside socket through an existing mapping', async () => {
    const { world, client, nat, servers } = natLab({ filtering: 'endpoint-independent' });
    await udpEndpoint(world, servers[0]!, { port: UDP_PORT });
    const s3 = await udpEndpoint(world, servers[2]!, { port: UDP_PORT });
    const inside = await udpEndpoint(world, client);

    send(inside, 'open', SERVER_IPS[0]);
    await world.run({ forMs: 100 });
    const externalPort = nat.mappings()[0]!.externalPort;

    send(s3, 'stranger', NAT_OUTSIDE_IP, externalPort);
    await world.run({ forMs: 100 });
    expect(inside.received.map((r) => [r.from, r.data])).toEqual([[`${SERVER_IPS[2]}:${UDP_PORT}`, 'stranger']]);
    expect(drops(world, 'nat-no-mapping')).toBe(0);
  });
});

describe('NAT: idle timeout', () => {
  const UDP_IDLE_MS = 5_000;

  it('an idle mapping expires: replies are dropped and the next datagram gets a new mapping', async () => {
    const { world, client, nat, servers } = natLab({ udpIdleMs: UDP_IDLE_MS });
    const server = await udpEndpoint(world, servers[0]!, { port: UDP_PORT });
    const inside = await udpEndpoint(world, client);

    send(inside, 'first', SERVER_IPS[0]);
    await world.run({ forMs: 100 });
    const firstPort = nat.mappings()[0]!.externalPort;

    // Within the idle time, a reply still gets in.
    await world.run({ untilMs: 4_000 });
    send(server, 'early-reply', NAT_OUTSIDE_IP, firstPort);
    await world.run({ forMs: 100 });
    expect(inside.received.map((r) => r.data)).toEqual(['early-reply']);

    // The reply refreshed the mapping at ~4 s; after UDP_IDLE_MS of silence it is gone.
    await world.run({ untilMs: 4_000 + UDP_IDLE_MS + 500 });
    expect(nat.mappings()).toEqual([]);
    send(server, 'late-reply', NAT_OUTSIDE_IP, firstPort);
    await world.run({ forMs: 100 });
    expect(inside.received.map((r) => r.data)).toEqual(['early-reply']);
    expect(drops(world, 'nat-no-mapping')).toBe(1);
    expect(world.engine.trace.count('nat.expire')).toBe(1);

    send(inside, 'second', SERVER_IPS[0]);
    await world.run({ forMs: 100 });
    expect(nat.stats.mappingsCreated).toBe(2);
    const mappings = nat.mappings();
    expect(mappings).toHaveLength(1);
    expect(server.received.map((r) => r.from)).toEqual([
      `${NAT_OUTSIDE_IP}:${firstPort}`,
      `${NAT_OUTSIDE_IP}:${mappings[0]!.externalPort}`,
    ]);
  });

  it('outbound traffic keeps a mapping alive far beyond the idle time', async () => {
    const { world, client, nat, servers } = natLab({ udpIdleMs: UDP_IDLE_MS });
    const server = await udpEndpoint(world, servers[0]!, { port: UDP_PORT });
    const inside = await udpEndpoint(world, client);

    const keepAliveMs = UDP_IDLE_MS / 2;
    send(inside, 'keepalive', SERVER_IPS[0]);
    const timer = client.platform.clock.setInterval(() => send(inside, 'keepalive', SERVER_IPS[0]), keepAliveMs);
    await world.run({ untilMs: 10 * UDP_IDLE_MS });
    client.platform.clock.clearTimer(timer);

    expect(nat.stats.mappingsCreated).toBe(1);
    expect(new Set(server.received.map((r) => r.from)).size).toBe(1);
    expect(server.received.length).toBeGreaterThanOrEqual(20);
    const mapping = nat.mappings()[0]!;
    expect(mapping.idleMs).toBeLessThan(UDP_IDLE_MS);

    send(server, 'still-open', NAT_OUTSIDE_IP, mapping.externalPort);
    await world.run({ forMs: 100 });
    expect(inside.received.map((r) => r.data)).toEqual(['still-open']);
  });
});

describe('NAT: table bound', () => {
  it('with mappingsMax 3 a fourth flow is dropped, and admitted once an old mapping expired', async () => {
    const { world, client, nat, servers } = natLab({ mappingsMax: 3, udpIdleMs: 5_000 });
    const server = await udpEndpoint(world, servers[0]!, { port: UDP_PORT });
    const flows = await Promise.all([0, 1, 2, 3].map(() => udpEndpoint(world, client)));

    for (const [i, flow] of flows.entries()) send(flow, `flow-${i}`, SERVER_IPS[0]);
    await world.run({ forMs: 100 });

    expect(server.received.map((r) => r.data)).toEqual(['flow-0', 'flow-1', 'flow-2']);
    expect(nat.mappings()).toHaveLength(3);
    expect(drops(world, 'nat-table-full')).toBe(1);
    expect(nat.stats.outboundDropped).toBe(1);

    // Once the three mappings are idle past udpIdleMs, the table has room again.
    await world.run({ forMs: 6_000 });
    send(flows[3]!, 'flow-3-again', SERVER_IPS[0]);
    await world.run({ forMs: 100 });
    expect(server.received.map((r) => r.data)).toContain('flow-3-again');
    expect(nat.mappings().map((m) => m.inside)).toEqual([`${CLIENT_IP}:${flows[3]!.socket.port}`]);
  });
});

describe('NAT: TCP through the NAT, and a NAT restart', () => {
  interface TcpRun {
    lab: NatLab;
    socket: StreamSocket;
    clientReceived: string[];
    serverReceived: string[];
    serverPeers: string[];
    /** Sources of the TCP segments s1 received. */
    serverSources: string[];
    events: string[];
    error: () => Error | undefined;
  }

  /** client → s1:8080 echo server, 'one' echoed back. */
  async function connectedThroughNat(): Promise<TcpRun> {
    const lab = natLab();
    const { world, client, servers } = lab;
    const serverSources = tapTcpSources(servers[0]!);
    const serverReceived: string[] = [];
    const serverPeers: string[] = [];
    await servers[0]!.platform.streams.listen({ host: '0.0.0.0', port: TCP_PORT }, (peer) => {
      serverPeers.push(`${peer.remoteAddress}:${peer.remotePort}`);
      peer.on('data', (data: Buffer) => {
        serverReceived.push(data.toString('utf8'));
        peer.write(data);
      });
      peer.on('error', () => undefined);
    });

    const socket = client.platform.streams.connect({ host: SERVER_IPS[0], port: TCP_PORT });
    const clientReceived: string[] = [];
    const events: string[] = [];
    let failure: Error | undefined;
    socket.on('connect', () => socket.write('one'));
    socket.on('data', (data: Buffer) => clientReceived.push(data.toString('utf8')));
    socket.on('end', () => events.push('end'));
    socket.on('close', () => events.push('close'));
    socket.on('error', (error: Error) => {
      failure = error;
      events.push(`error:${errorCode(error)}`);
    });
    await world.run({ forMs: 1_000, stopWhen: () => clientReceived.join('') === 'one' });
    expect(clientReceived.join('')).toBe('one');
    // Let the last ACKs cross the NAT: from here on the connection is idle.
    await world.run({ forMs: 100 });
    return { lab, socket, clientReceived, serverReceived, serverPeers, serverSources, events, error: () => failure };
  }

  /** Records the source ("address:port") of every TCP segment `host` receives, in order, without repeats. */
  function tapTcpSources(host: SimHost): string[] {
    const sources: string[] = [];
    const receiveFrame = host.stack.receiveFrame.bind(host.stack);
    host.stack.receiveFrame = (nic, frame: Frame) => {
      const packet = frame.ip;
      if (packet?.tcp !== undefined) {
        const source = `${formatIpv4(packet.source)}:${packet.tcp.sourcePort}`;
        if (!sources.includes(source)) sources.push(source);
      }
      receiveFrame(nic, frame);
    };
    return sources;
  }

  it('a TCP connection from inside works through the NAT; the server sees the outside address', async () => {
    const { lab, serverPeers, serverReceived, serverSources } = await connectedThroughNat();
    const tcpMappings = lab.nat.mappings().filter((m) => m.protocol === 'tcp');
    expect(tcpMappings).toHaveLength(1);
    expect(serverPeers).toEqual([`${NAT_OUTSIDE_IP}:${tcpMappings[0]!.externalPort}`]);
    expect(serverReceived.join('')).toBe('one');
    expect(serverSources).toEqual([`${NAT_OUTSIDE_IP}:${tcpMappings[0]!.externalPort}`]);
  });

  for (const how of ['nat.reset()', 'nat-reset fault'] as const) {
    it(`after ${how} mid-connection, the server sees a new port, answers RST, and the client fails with ECONNRESET`, async () => {
      const { lab, socket, clientReceived, serverReceived, serverPeers, serverSources, events, error } = await connectedThroughNat();
      const { world, nat, servers } = lab;
      const oldPort = nat.mappings()[0]!.externalPort;
      const resetsBefore = servers[0]!.stack.tcp.stats.resetsSent;

      if (how === 'nat.reset()') {
        nat.reset();
      } else {
        scheduleFaults(world, [{ atMs: world.engine.elapsedMs() + 10, kind: 'nat-reset', host: 'nat' }]);
        await world.run({ forMs: 20 });
        expect(world.faultsApplied.get('nat-reset')).toBe(1);
        expect(world.engine.trace.count('fault.nat-reset')).toBe(1);
      }
      expect(nat.mappings()).toEqual([]);

      socket.write('two');
      await world.run({ forMs: 5_000, stopWhen: () => error() !== undefined });

      // Loud: the client gets ECONNRESET, at once, rather than a silent stall or a clean 'end'.
      expect(errorCode(error())).toBe('ECONNRESET');
      expect(events).not.toContain('end');
      expect(clientReceived.join('')).toBe('one');
      // The old connection on the server never saw 'two': it came from a port the server does not know.
      expect(serverReceived.join('')).toBe('one');
      expect(serverPeers).toHaveLength(1);
      expect(servers[0]!.stack.tcp.stats.resetsSent).toBe(resetsBefore + 1);

      const newMapping = nat.mappings().find((m) => m.protocol === 'tcp');
      expect(newMapping).toBeDefined();
      expect(newMapping!.externalPort).not.toBe(oldPort);
      expect(serverSources).toEqual([`${NAT_OUTSIDE_IP}:${oldPort}`, `${NAT_OUTSIDE_IP}:${newMapping!.externalPort}`]);
    });
  }

  it('after a NAT reset, a new connection works again', async () => {
    const { lab, error } = await connectedThroughNat();
    const { world, client, nat } = lab;
    nat.reset();
    const again = client.platform.streams.connect({ host: SERVER_IPS[0], port: TCP_PORT });
    const received: string[] = [];
    again.on('connect', () => again.write('three'));
    again.on('data', (data: Buffer) => received.push(data.toString('utf8')));
    await world.run({ forMs: 1_000, stopWhen: () => received.join('') === 'three' });
    expect(received.join('')).toBe('three');
    // The first connection is silent until it sends: a NAT reset alone is invisible to it.
    expect(error()).toBeUndefined();
  });
});
