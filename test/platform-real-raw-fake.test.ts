// The real platform's raw sockets over a fake addon: what reaches the kernel
// (socket options, struct ip_mreqn), how errors are coded, and what becomes
// of malformed input. Runs anywhere; test/platform-real-raw.test.ts runs the
// real addon in network namespaces.
import { describe, expect, it } from 'vitest';
import os from 'node:os';
import { createRealDatagrams } from '../src/runtime/platform/real/datagrams.js';
import { openRealRawSocket, parseReceived, type RawSocketHost, type RealRawSocket } from '../src/runtime/platform/real/raw-socket.js';
import type { NativeRawSocket, RawSocketBinding } from '../src/runtime/platform/real/raw-socket-addon.js';
import type { RawPacketInfo } from '../src/runtime/platform/types.js';
import { encodeIpv4Header } from '../src/runtime/net/ipv4-header.js';
import { PlatformError } from '../src/runtime/platform/errors.js';

const SOL_SOCKET = 1;
const SO_BINDTODEVICE = 25;
const IPPROTO_IP = 0;
const IP_TTL = 2;
const IP_MULTICAST_IF = 32;
const IP_MULTICAST_TTL = 33;
const IP_MULTICAST_LOOP = 34;
const IP_ADD_MEMBERSHIP = 35;
const IP_DROP_MEMBERSHIP = 36;
const IP_MULTICAST_ALL = 49;
const IP_UNICAST_IF = 50;

interface OptionCall {
  level: number;
  option: number;
  value: number | Buffer;
}

/** Stands in for the addon's SocketWrap: records what it is asked, fails as told. */
class FakeNativeSocket implements NativeRawSocket {
  emit: (event: string, ...args: unknown[]) => void = () => undefined;
  readonly options: OptionCall[] = [];
  readonly sent: { data: Buffer; address: string }[] = [];
  /** What the next recv() calls read: a datagram, or an Error to throw. */
  readonly inbound: (Buffer | Error)[] = [];
  closeCount = 0;
  paused: [boolean, boolean] = [false, true];
  failOption: ((option: number) => Error | undefined) | undefined;
  failSend: Error | undefined;

  constructor(readonly protocol: number) {}

  close(): void {
    this.closeCount += 1;
    this.emit('close');
  }

  pause(recvPaused: boolean, sendPaused: boolean): void {
    this.paused = [recvPaused, sendPaused];
  }

  recv(buffer: Buffer, callback: (buffer: Buffer, bytes: number, source: string) => void): void {
    const next = this.inbound.shift();
    if (next === undefined) throw new Error('Resource temporarily unavailable');
    if (next instanceof Error) throw next;
    next.copy(buffer);
    callback(buffer, next.length, '0.0.0.0');
  }

  send(buffer: Buffer, offset: number, length: number, address: string, callback: (bytes: number) => void): void {
    if (this.closeCount > 0) throw new Error('Bad file descriptor');
    if (this.failSend !== undefined) throw this.failSend;
    this.sent.push({ data: Buffer.from(buffer.subarray(offset, offset + length)), address });
    callback(length);
  }

  setOption(level: number, option: number, value: number | Buffer, length?: number): void {
    const failure = this.failOption?.(option);
    if (failure !== undefined) throw failure;
    this.options.push({ level, option, value: typeof value === 'number' ? value : Buffer.from(value.subarray(0, length)) });
  }

  lastOption(option: number): number | Buffer | undefined {
    return this.options.filter((call) => call.option === option).at(-1)?.value;
  }

  /** Delivers one datagram the way the addon does: a readiness event, then recv(). */
  deliver(datagram: Buffer | Error): void {
    this.inbound.push(datagram);
    this.emit('recvReady');
  }
}

function fakeHost(options: { socketError?: Error; interfaces?: Record<string, number> } = {}): RawSocketHost & { natives: FakeNativeSocket[] } {
  const natives: FakeNativeSocket[] = [];
  const interfaces = options.interfaces ?? { eth0: 2, eth1: 3 };
  const SocketWrap = function (this: unknown, protocol: number) {
    if (options.socketError !== undefined) throw options.socketError;
    const socket = new FakeNativeSocket(protocol);
    natives.push(socket);
    return socket;
  } as unknown as RawSocketBinding['SocketWrap'];
  return {
    natives,
    binding: () => ({ SocketWrap }),
    ifindex(iface) {
      const index = interfaces[iface];
      if (index === undefined) throw new PlatformError('ENODEV' as never, `no interface named ${iface}`);
      return index;
    },
    ifaceForSource: (source) => (source.startsWith('198.18.1.') ? 'eth1' : undefined),
  };
}

function ipMreqn(group: string, ifindex: number): Buffer {
  const request = Buffer.alloc(12);
  Buffer.from(group.split('.').map(Number)).copy(request, 0);
  if (os.endianness() === 'LE') request.writeInt32LE(ifindex, 8);
  else request.writeInt32BE(ifindex, 8);
  return request;
}

function datagram(options: { payload?: Buffer; protocol?: number; ttl?: number; source?: string; destination?: string; identification?: number } = {}): Buffer {
  const payload = options.payload ?? Buffer.from('advert');
  const header = encodeIpv4Header({
    tos: 0xc0,
    totalLength: 20 + payload.length,
    identification: options.identification ?? 0x1234,
    flagsFragment: 0,
    ttl: options.ttl ?? 255,
    protocol: options.protocol ?? 112,
    source: options.source ?? '198.18.0.1',
    destination: options.destination ?? '224.0.0.18',
  });
  return Buffer.concat([header, payload]);
}

function open(host: RawSocketHost, iface?: string): { socket: RealRawSocket; receiver: FakeNativeSocket; sender: FakeNativeSocket } {
  const socket = openRealRawSocket(iface === undefined ? { protocol: 112 } : { protocol: 112, iface }, host);
  const natives = (host as ReturnType<typeof fakeHost>).natives;
  return { socket, receiver: natives.at(-2) as FakeNativeSocket, sender: natives.at(-1) as FakeNativeSocket };
}

describe('real raw sockets over a fake addon', () => {
  it('without CAP_NET_RAW, raw() rejects with EPERM and says what is missing', async () => {
    const datagrams = createRealDatagrams({ rawSocketHost: fakeHost({ socketError: new Error('Operation not permitted') }) });
    await expect(datagrams.raw({ protocol: 112 })).rejects.toMatchObject({
      name: 'PlatformError',
      code: 'EPERM',
      syscall: 'socket',
      message: expect.stringContaining('root or CAP_NET_RAW'),
    });
  });

  it('opens a receiving socket of the protocol and a send-only IPPROTO_RAW one, as keepalived does', () => {
    const host = fakeHost();
    const { socket, receiver, sender } = open(host, 'eth0');
    expect(socket.protocol).toBe(112);
    expect([receiver.protocol, sender.protocol]).toEqual([112, 255]);
    expect(receiver.lastOption(IP_MULTICAST_ALL)).toBe(0);
    for (const native of [receiver, sender]) {
      expect(native.lastOption(IP_MULTICAST_LOOP)).toBe(0);
      expect(native.options.find((call) => call.level === SOL_SOCKET && call.option === SO_BINDTODEVICE)?.value).toEqual(Buffer.from('eth0\0'));
    }
    expect(sender.paused).toEqual([true, true]);
  });

  it('rejects bad protocols and interface names with EINVAL, unknown interfaces with ENODEV, and closes what it opened', async () => {
    const host = fakeHost();
    const datagrams = createRealDatagrams({ rawSocketHost: host });
    await expect(datagrams.raw({ protocol: 0 })).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(datagrams.raw({ protocol: 256 })).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(datagrams.raw({ protocol: 112, iface: '../x' })).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(datagrams.raw({ protocol: 112, iface: 'a-name-far-too-long' })).rejects.toMatchObject({ code: 'EINVAL' });
    expect(host.natives).toHaveLength(0);

    const failing = fakeHost();
    const SocketWrap = failing.binding().SocketWrap;
    failing.binding = () => ({
      SocketWrap: function (protocol: number) {
        const socket = new SocketWrap(protocol, 1) as FakeNativeSocket;
        socket.failOption = (option) => (option === SO_BINDTODEVICE ? new Error('No such device') : undefined);
        return socket;
      } as unknown as RawSocketBinding['SocketWrap'],
    });
    await expect(createRealDatagrams({ rawSocketHost: failing }).raw({ protocol: 112, iface: 'nosuch0' })).rejects.toMatchObject({ code: 'ENODEV' });
    expect(failing.natives.map((native) => native.closeCount)).toEqual([1, 1]);
  });

  it('multicast: TTL by IP_MULTICAST_TTL and the interface by IP_MULTICAST_IF with struct ip_mreqn', () => {
    const { socket, receiver, sender } = open(fakeHost());
    socket.send(Buffer.from('advert'), { destination: '224.0.0.18', ttl: 255, iface: 'eth1' });
    expect(receiver.lastOption(IP_MULTICAST_TTL)).toBe(255);
    expect(receiver.lastOption(IP_MULTICAST_IF)).toEqual(ipMreqn('0.0.0.0', 3));
    expect(receiver.sent).toEqual([{ data: Buffer.from('advert'), address: '224.0.0.18' }]);
    expect(sender.sent).toEqual([]);
    expect(() => socket.send(Buffer.from('x'), { destination: '224.0.0.18' })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });

  it('unicast: TTL by IP_TTL (64 unless given), the interface by IP_UNICAST_IF in network byte order', () => {
    const { socket, receiver } = open(fakeHost());
    socket.send(Buffer.from('a'), { destination: '198.18.0.2', iface: 'eth0' });
    expect(receiver.lastOption(IP_TTL)).toBe(64);
    expect(receiver.lastOption(IP_UNICAST_IF)).toEqual(Buffer.from([0, 0, 0, 2]));
    socket.send(Buffer.from('b'), { destination: '198.18.0.2', ttl: 7 });
    expect(receiver.lastOption(IP_TTL)).toBe(7);
    expect(receiver.lastOption(IP_UNICAST_IF)).toEqual(Buffer.alloc(4));
    for (const ttl of [0, 256, 1.5]) {
      expect(() => socket.send(Buffer.from('c'), { destination: '198.18.0.2', ttl })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    }
    expect(() => socket.send(Buffer.from('c'), { destination: '198.18.0.999' })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => socket.send(Buffer.alloc(65_516), { destination: '198.18.0.2' })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });

  it('a chosen source address goes out through IP_HDRINCL with identification 0 for the kernel to fill', () => {
    const { socket, receiver, sender } = open(fakeHost());
    socket.send(Buffer.from('advert'), { destination: '224.0.0.18', source: '198.18.0.7', ttl: 255, iface: 'eth0' });
    expect(receiver.sent).toEqual([]);
    const [sent] = sender.sent;
    expect(sent?.address).toBe('224.0.0.18');
    const parsed = parseReceived(sent?.data ?? Buffer.alloc(0), 112);
    expect(parsed?.fields).toMatchObject({ source: '198.18.0.7', destination: '224.0.0.18', ttl: 255, identification: 0, totalLength: 26 });
    expect(parsed?.payload.toString()).toBe('advert');
  });

  it('sendDatagram sends the caller\'s header unchanged and refuses what the kernel would rewrite', () => {
    const { socket, sender } = open(fakeHost(), 'eth0');
    const whole = datagram({ identification: 0xbeef });
    socket.sendDatagram(whole, {});
    expect(sender.sent).toEqual([{ data: whole, address: '224.0.0.18' }]);
    expect(sender.lastOption(IP_MULTICAST_IF)).toEqual(ipMreqn('0.0.0.0', 2));
    const bad: [Buffer, string][] = [
      [datagram({ identification: 0 }), 'identification 0'],
      [datagram({ ttl: 0 }), 'TTL 0'],
      [Buffer.concat([datagram(), Buffer.from('tail')]), 'header says 26 bytes'],
      [Buffer.alloc(10), 'shorter than an IPv4 header'],
    ];
    for (const [candidate, message] of bad) {
      expect(() => socket.sendDatagram(candidate, {})).toThrow(expect.objectContaining({ code: 'EINVAL', message: expect.stringContaining(message) }));
    }
    expect(() => socket.sendDatagram(whole, { iface: 'eth1' })).toThrow(expect.objectContaining({ code: 'EINVAL', message: expect.stringContaining('bound to eth0') }));
    expect(() => open(fakeHost()).socket.sendDatagram(whole, {})).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });

  it('send errors carry errno codes; a full send buffer drops the datagram and counts it', () => {
    const { socket, receiver } = open(fakeHost());
    receiver.failSend = new Error('Network is unreachable');
    expect(() => socket.send(Buffer.from('x'), { destination: '198.18.9.9' })).toThrow(expect.objectContaining({ code: 'ENETUNREACH', syscall: 'sendto' }));
    receiver.failSend = new Error('Resource temporarily unavailable');
    socket.send(Buffer.from('x'), { destination: '198.18.9.9' });
    expect(socket.sendDroppedCount).toBe(1);
  });

  it('memberships use struct ip_mreqn with the interface index; dropping a group not joined is EINVAL', () => {
    const { socket, receiver } = open(fakeHost());
    socket.addMembership('224.0.0.18', 'eth1');
    expect(receiver.options.at(-1)).toEqual({ level: IPPROTO_IP, option: IP_ADD_MEMBERSHIP, value: ipMreqn('224.0.0.18', 3) });
    socket.dropMembership('224.0.0.18', 'eth1');
    expect(receiver.options.at(-1)).toEqual({ level: IPPROTO_IP, option: IP_DROP_MEMBERSHIP, value: ipMreqn('224.0.0.18', 3) });
    expect(() => socket.addMembership('198.18.0.1', 'eth1')).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => socket.addMembership('224.0.0.18', 'nosuch0')).toThrow(expect.objectContaining({ code: 'ENODEV' }));
    receiver.failOption = (option) => (option === IP_ADD_MEMBERSHIP ? new Error('Address already in use') : new Error('Cannot assign requested address'));
    expect(() => socket.addMembership('224.0.0.18', 'eth1')).toThrow(expect.objectContaining({ code: 'EADDRINUSE' }));
    expect(() => socket.dropMembership('224.0.0.18', 'eth1')).toThrow(expect.objectContaining({ code: 'EINVAL', message: expect.stringContaining('not a member') }));
  });

  it('emits the payload after the header, the header itself and its fields; the interface is the bound one', () => {
    const { socket, receiver } = open(fakeHost(), 'eth0');
    const messages: [Buffer, RawPacketInfo][] = [];
    socket.on('message', (payload: Buffer, info: RawPacketInfo) => messages.push([payload, info]));
    const first = datagram({ payload: Buffer.from('first'), identification: 7 });
    receiver.deliver(first);
    receiver.deliver(datagram({ payload: Buffer.from('second') }));
    expect(messages.map(([payload]) => payload.toString())).toEqual(['first', 'second']);
    expect(messages[0]?.[1]).toEqual({
      source: '198.18.0.1',
      destination: '224.0.0.18',
      ttl: 255,
      protocol: 112,
      iface: 'eth0',
      header: first.subarray(0, 20),
    });
  });

  it('unbound: the interface is where the socket joined the group, else a guess from the source, else empty', () => {
    const { socket, receiver } = open(fakeHost());
    const ifaces: string[] = [];
    socket.on('message', (_payload: Buffer, info: RawPacketInfo) => ifaces.push(info.iface));
    socket.addMembership('224.0.0.18', 'eth0');
    receiver.deliver(datagram({ source: '198.18.1.5' }));
    receiver.deliver(datagram({ source: '198.18.1.5', destination: '198.18.1.1' }));
    receiver.deliver(datagram({ source: '198.18.2.5', destination: '198.18.1.1' }));
    expect(ifaces).toEqual(['eth0', 'eth1', '']);
  });

  it('drops malformed input without throwing, counts it, and keeps receiving', () => {
    const { socket, receiver } = open(fakeHost(), 'eth0');
    const payloads: string[] = [];
    socket.on('message', (payload: Buffer) => payloads.push(payload.toString()));
    const tooLong = datagram();
    tooLong.writeUInt16BE(200, 2);
    const ipv6 = datagram();
    ipv6[0] = 0x65;
    const headerTooLong = datagram();
    headerTooLong[0] = 0x4f;
    const malformed = [Buffer.alloc(0), Buffer.alloc(19, 0x45), ipv6, headerTooLong, tooLong, datagram({ protocol: 51 })];
    for (const bad of malformed) expect(() => receiver.deliver(bad)).not.toThrow();
    expect(socket.malformedReceivedCount).toBe(malformed.length);
    // Bytes beyond the header's total length are not payload.
    receiver.deliver(Buffer.concat([datagram({ payload: Buffer.from('ok') }), Buffer.from('padding')]));
    expect(payloads).toEqual(['ok']);
  });

  it('a spurious wake-up (EAGAIN) is no error; other receive failures are, with a code', () => {
    const { socket, receiver } = open(fakeHost());
    const errors: Error[] = [];
    socket.on('error', (error: Error) => errors.push(error));
    receiver.emit('recvReady');
    receiver.deliver(new Error('Resource temporarily unavailable'));
    expect(errors).toEqual([]);
    receiver.deliver(new Error('No buffer space available'));
    expect(errors).toMatchObject([{ code: 'ENOBUFS', syscall: 'recvfrom' }]);
    receiver.emit('error', new Error('-9'));
    expect(errors.at(-1)).toMatchObject({ code: 'EBADF', syscall: 'poll' });
  });

  it('after close every call is EBADF, nothing more is emitted, and close is idempotent', async () => {
    const { socket, receiver, sender } = open(fakeHost(), 'eth0');
    let messages = 0;
    socket.on('message', () => messages++);
    await socket.close();
    await socket.close();
    expect([receiver.closeCount, sender.closeCount]).toEqual([1, 1]);
    receiver.emit('recvReady');
    expect(messages).toBe(0);
    const calls: (() => void)[] = [
      () => socket.send(Buffer.from('x'), { destination: '224.0.0.18', iface: 'eth0' }),
      () => socket.sendDatagram(datagram(), {}),
      () => socket.addMembership('224.0.0.18', 'eth0'),
      () => socket.dropMembership('224.0.0.18', 'eth0'),
    ];
    for (const call of calls) expect(call).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });
});

describe('parseReceived', () => {
  it('splits header and payload, honouring the header length and the total length', () => {
    const whole = datagram({ payload: Buffer.from('payload') });
    const parsed = parseReceived(whole, 112);
    expect(parsed?.header).toEqual(whole.subarray(0, 20));
    expect(parsed?.payload.toString()).toBe('payload');
    expect(parsed?.fields.identification).toBe(0x1234);
    expect(parseReceived(whole, 51)).toBeUndefined();
  });
});
