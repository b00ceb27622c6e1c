// Real hosts: raw IP sockets (the raw-socket addon) and gratuitous ARP
// (arping) between network namespaces. Each namespace runs an agent: the
// real platform's datagrams and addresses, bundled like dist/ and run with
// plain `node` from a directory with no node_modules, so it must find the
// addon that `cli/build.ts` copies beside the bundle. The test drives the
// agents over stdin/stdout, one JSON line per call or event.
// Needs root, iproute2, arping, tcpdump, setpriv and the built addon; skips
// with the reason otherwise, and fails instead when PF9LAB_REQUIRE_REAL_HOST=1.
//
//   a  198.18.90.1 ── 198.18.90.2  b  198.18.91.2 ── 198.18.91.1  c
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { NetnsLab, lineContaining, realHostRequired, realHostUnavailable } from './helpers/netns.js';
import { decodeIpv4Header, encodeIpv4Header, ipv4HeaderChecksumOk } from '../src/runtime/net/ipv4-header.js';

const ADDON_BUILT = 'node_modules/raw-socket/build/Release/raw.node';

async function unavailableReason(): Promise<string | undefined> {
  const reason = await realHostUnavailable(['ip', 'arping', 'tcpdump', 'setpriv']);
  if (reason !== undefined) return reason;
  if (!existsSync(ADDON_BUILT)) return `needs the raw-socket addon built (${ADDON_BUILT}): npm ci with python3, make and g++`;
  return undefined;
}

const unavailable = await unavailableReason();
if (unavailable !== undefined) {
  process.stdout.write(`platform-real-raw: skipped: ${unavailable}\n`);
}

// The agent: one process per namespace, calls in on stdin, results and events out on stdout.
const AGENT = `
import { createInterface } from 'node:readline';
import { createRealDatagrams } from './src/runtime/platform/real/datagrams.js';
import { createRealAddresses } from './src/runtime/platform/real/addresses.js';

const datagrams = createRealDatagrams();
const addresses = createRealAddresses();
const sockets = new Map<number, Awaited<ReturnType<typeof datagrams.raw>>>();
const out = (line: unknown): void => { process.stdout.write(JSON.stringify(line) + '\\n'); };
const errorOf = (error: unknown) => {
  const { code, syscall, name, message } = error as { code?: string; syscall?: string; name?: string; message?: string };
  return { code, syscall, name, message: message ?? String(error) };
};
const socketOf = (id: number) => {
  const socket = sockets.get(id);
  if (socket === undefined) throw new Error('no socket ' + id);
  return socket;
};
type Args = Record<string, any>;
const ops: Record<string, (args: Args) => unknown> = {
  async open({ protocol, iface }) {
    const socket = await datagrams.raw(iface === undefined ? { protocol } : { protocol, iface });
    const id = sockets.size + 1;
    sockets.set(id, socket);
    socket.on('message', (payload, info) => out({ event: 'message', socket: id, payload: payload.toString('hex'), info: { ...info, header: info.header.toString('hex') } }));
    socket.on('error', (error) => out({ event: 'error', socket: id, error: errorOf(error) }));
    return { socket: id };
  },
  send: ({ socket, payload, options }) => socketOf(socket).send(Buffer.from(payload, 'hex'), options),
  sendDatagram: ({ socket, datagram, options }) => socketOf(socket).sendDatagram(Buffer.from(datagram, 'hex'), options),
  join: ({ socket, group, iface }) => socketOf(socket).addMembership(group, iface),
  drop: ({ socket, group, iface }) => socketOf(socket).dropMembership(group, iface),
  close: ({ socket }) => socketOf(socket).close(),
  garp: ({ iface, address }) => addresses.gratuitousArp(iface, address),
};
createInterface({ input: process.stdin }).on('line', (line) => {
  const { id, op, ...args } = JSON.parse(line) as Args;
  Promise.resolve()
    .then(() => ops[op]!(args))
    .then((result) => out({ id, ok: true, result: result ?? null }), (error: unknown) => out({ id, ok: false, error: errorOf(error) }));
});
process.stdin.on('end', () => process.exit(0));
out({ event: 'ready' });
`;

interface AgentMessage {
  socket: number;
  payload: string;
  info: { source: string; destination: string; ttl: number; protocol: number; iface: string; header: string };
}

interface AgentError extends Error {
  code?: string;
  syscall?: string;
}

const CALL_TIMEOUT_MS = 10_000;
const MESSAGES_QUEUED_MAX = 1_000;

/** The test's end of one agent: calls with bounded waits, and the messages its sockets received. */
class Agent {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
  private readonly messages: AgentMessage[] = [];
  private messageWaiter: (() => void) | undefined;
  private overflow = false;
  readonly ready: Promise<string>;

  constructor(private readonly child: ChildProcess) {
    this.ready = lineContaining(child, '"event":"ready"');
    createInterface({ input: child.stdout! }).on('line', (line) => this.onLine(line));
  }

  private onLine(line: string): void {
    if (!line.startsWith('{')) return;
    const parsed = JSON.parse(line) as Record<string, unknown>;
    if (typeof parsed['id'] === 'number') {
      const call = this.pending.get(parsed['id']);
      if (call === undefined) return;
      this.pending.delete(parsed['id']);
      clearTimeout(call.timer);
      if (parsed['ok'] === true) call.resolve(parsed['result']);
      else {
        const detail = parsed['error'] as { code?: string; syscall?: string; message: string };
        call.reject(Object.assign(new Error(detail.message), { code: detail.code, syscall: detail.syscall }) as AgentError);
      }
    } else if (parsed['event'] === 'message') {
      if (this.messages.length >= MESSAGES_QUEUED_MAX) this.overflow = true;
      else this.messages.push(parsed as unknown as AgentMessage);
      this.messageWaiter?.();
    }
  }

  call(op: string, args: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`agent call ${op} got no answer within ${CALL_TIMEOUT_MS} ms`));
      }, CALL_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      this.child.stdin!.write(`${JSON.stringify({ id, op, ...args })}\n`);
    });
  }

  async open(protocol: number, iface?: string): Promise<number> {
    const { socket } = (await this.call('open', iface === undefined ? { protocol } : { protocol, iface })) as { socket: number };
    return socket;
  }

  /** The next message any socket of this agent received, or a failure after timeoutMs. */
  async nextMessage(timeoutMs = 5_000): Promise<AgentMessage> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no raw message within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.messageWaiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.messageWaiter = undefined;
    }
    expect(this.overflow).toBe(false);
    return this.messages.shift() as AgentMessage;
  }

  /** Fails if any message arrives within quietMs. */
  async expectNoMessage(quietMs = 500): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, quietMs));
    expect(this.messages).toEqual([]);
  }
}

const run = promisify(execFile);
const GROUP = '224.0.0.18';
const hex = (text: string): string => Buffer.from(text).toString('hex');

describe.skipIf(unavailable !== undefined && !realHostRequired())('raw IP sockets and gratuitous ARP on real hosts (network namespaces)', () => {
  const lab = new NetnsLab(`${process.pid % 100_000}`, { prefix: 'pf9raw' });
  let dir = '';
  let agentPath = '';
  let nsA = '';
  let nsB = '';
  let nsC = '';
  let ifaceA = ''; // a's end towards b
  let ifaceBA = ''; // b's end towards a
  let ifaceBC = ''; // b's end towards c
  let ifaceC = ''; // c's end towards b
  let a: Agent;
  let b: Agent;
  let c: Agent;

  function startAgent(ns: string, path = agentPath, prefix: readonly string[] = []): Agent {
    const [command, ...args] = [...prefix, process.execPath, path];
    return new Agent(lab.spawn(ns, command as string, args, { stdin: true }));
  }

  beforeAll(async () => {
    if (unavailable !== undefined) throw new Error(`PF9LAB_REQUIRE_REAL_HOST=1 but: ${unavailable}`);
    dir = await mkdtemp(join(tmpdir(), 'pf9raw-'));
    const dist = join(dir, 'dist');
    // The real build puts raw-socket.node into dist/; the agent is bundled beside it the same way.
    await run(join('node_modules', '.bin', 'tsx'), ['cli/build.ts', '--outdir', dist], { timeout: 60_000 });
    agentPath = join(dist, 'raw-agent.mjs');
    await build({
      stdin: { contents: AGENT, resolveDir: process.cwd(), sourcefile: 'raw-agent.ts', loader: 'ts' },
      outfile: agentPath,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      logLevel: 'warning',
    });

    nsA = await lab.namespace('a');
    nsB = await lab.namespace('b');
    nsC = await lab.namespace('c');
    ({ left: ifaceA, right: ifaceBA } = await lab.link({ ns: nsA, cidr: '198.18.90.1/24' }, { ns: nsB, cidr: '198.18.90.2/24' }));
    ({ left: ifaceBC, right: ifaceC } = await lab.link({ ns: nsB, cidr: '198.18.91.2/24' }, { ns: nsC, cidr: '198.18.91.1/24' }));
    a = startAgent(nsA);
    b = startAgent(nsB);
    c = startAgent(nsC);
    await Promise.all([a.ready, b.ready, c.ready]);
  }, 120_000);

  afterAll(async () => {
    await lab.cleanup();
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('VRRP multicast: protocol 112 to 224.0.0.18 with TTL 255 arrives with its header, TTL and interface; the sender does not hear itself', async () => {
    const receiver = await b.open(112, ifaceBA);
    await b.call('join', { socket: receiver, group: GROUP, iface: ifaceBA });
    const sender = await a.open(112);
    await a.call('join', { socket: sender, group: GROUP, iface: ifaceA });

    await a.call('send', { socket: sender, payload: hex('advert-1'), options: { destination: GROUP, ttl: 255, iface: ifaceA } });
    const message = await b.nextMessage();
    expect(message.payload).toBe(hex('advert-1'));
    expect(message.info).toMatchObject({ source: '198.18.90.1', destination: GROUP, ttl: 255, protocol: 112, iface: ifaceBA });
    const header = Buffer.from(message.info.header, 'hex');
    expect(header).toHaveLength(20);
    expect(ipv4HeaderChecksumOk(header)).toBe(true);
    expect(decodeIpv4Header(header)).toMatchObject({ totalLength: 28, ttl: 255, protocol: 112, source: '198.18.90.1', destination: GROUP });
    // IP_MULTICAST_LOOP is off, as in keepalived.
    await a.expectNoMessage();

    await a.call('close', { socket: sender });
    await b.call('close', { socket: receiver });
  });

  it('sendDatagram: a hand-built header arrives with its identification and TOS intact, and the checksum the kernel filled in', async () => {
    const receiver = await b.open(112, ifaceBA);
    await b.call('join', { socket: receiver, group: GROUP, iface: ifaceBA });
    const sender = await a.open(112, ifaceA);
    const payload = Buffer.from('vrrp-advert-bytes');
    const header = encodeIpv4Header({
      tos: 0xc0,
      totalLength: 20 + payload.length,
      identification: 0xbeef,
      flagsFragment: 0,
      ttl: 255,
      protocol: 112,
      source: '198.18.90.1',
      destination: GROUP,
    });
    header.writeUInt16BE(0, 10); // left for the kernel

    await a.call('sendDatagram', { socket: sender, datagram: Buffer.concat([header, payload]).toString('hex'), options: {} });
    const message = await b.nextMessage();
    expect(message.payload).toBe(payload.toString('hex'));
    const arrived = Buffer.from(message.info.header, 'hex');
    expect(decodeIpv4Header(arrived)).toMatchObject({ identification: 0xbeef, tos: 0xc0, ttl: 255, totalLength: 20 + payload.length });
    expect(ipv4HeaderChecksumOk(arrived)).toBe(true);
    expect(Buffer.concat([arrived.subarray(0, 10), arrived.subarray(12)])).toEqual(Buffer.concat([header.subarray(0, 10), header.subarray(12)]));

    const zeroId = Buffer.from(header);
    zeroId.writeUInt16BE(0, 4);
    await expect(a.call('sendDatagram', { socket: sender, datagram: Buffer.concat([zeroId, payload]).toString('hex'), options: {} })).rejects.toMatchObject({
      code: 'EINVAL',
    });
    await a.call('close', { socket: sender });
    await b.call('close', { socket: receiver });
  });

  it('unicast: the TTL asked for, and a chosen source address (the kernel fills the identification)', async () => {
    const receiver = await b.open(51, ifaceBA);
    const sender = await a.open(51);
    await a.call('send', { socket: sender, payload: hex('ah-1'), options: { destination: '198.18.90.2', ttl: 7, iface: ifaceA } });
    expect((await b.nextMessage()).info).toMatchObject({ source: '198.18.90.1', destination: '198.18.90.2', ttl: 7, protocol: 51, iface: ifaceBA });

    await a.call('send', { socket: sender, payload: hex('ah-2'), options: { destination: '198.18.90.2', source: '198.18.90.1', ttl: 9 } });
    const message = await b.nextMessage();
    expect(message.payload).toBe(hex('ah-2'));
    const header = decodeIpv4Header(Buffer.from(message.info.header, 'hex'));
    expect(header).toMatchObject({ source: '198.18.90.1', ttl: 9, protocol: 51 });
    expect(header.identification).not.toBe(0);
    await a.call('close', { socket: sender });
    await b.call('close', { socket: receiver });
  });

  it('dropping the membership stops delivery, even while another socket of the host stays a member', async () => {
    const receiver = await b.open(112);
    const other = await b.open(112, ifaceBA);
    for (const socket of [receiver, other]) await b.call('join', { socket, group: GROUP, iface: ifaceBA });
    const sender = await a.open(112);
    await a.call('send', { socket: sender, payload: hex('before-drop'), options: { destination: GROUP, ttl: 255, iface: ifaceA } });
    const before = [await b.nextMessage(), await b.nextMessage()];
    expect(before.map((message) => message.socket).sort()).toEqual([receiver, other].sort());
    // Unbound, the receiver names the interface where it joined the group.
    expect(before.find((message) => message.socket === receiver)?.info.iface).toBe(ifaceBA);

    // The interface stays in the group for `other`: with IP_MULTICAST_ALL on (Linux's default) the receiver would still hear it.
    await b.call('drop', { socket: receiver, group: GROUP, iface: ifaceBA });
    await a.call('send', { socket: sender, payload: hex('after-drop'), options: { destination: GROUP, ttl: 255, iface: ifaceA } });
    expect(await b.nextMessage()).toMatchObject({ socket: other, payload: hex('after-drop') });
    await b.expectNoMessage();
    await expect(b.call('drop', { socket: receiver, group: GROUP, iface: ifaceBA })).rejects.toMatchObject({ code: 'EINVAL' });
    await a.call('close', { socket: sender });
    for (const socket of [receiver, other]) await b.call('close', { socket });
  });

  it('a socket bound to an interface hears only what arrives there', async () => {
    const onA = await b.open(112, ifaceBA);
    const onC = await b.open(112, ifaceBC);
    // Both sockets join on both interfaces: only the binding can keep a packet out.
    for (const socket of [onA, onC]) {
      await b.call('join', { socket, group: GROUP, iface: ifaceBA });
      await b.call('join', { socket, group: GROUP, iface: ifaceBC });
    }
    const fromA = await a.open(112);
    const fromC = await c.open(112);
    await a.call('send', { socket: fromA, payload: hex('from-a'), options: { destination: GROUP, ttl: 255, iface: ifaceA } });
    expect(await b.nextMessage()).toMatchObject({ socket: onA, payload: hex('from-a'), info: { iface: ifaceBA, source: '198.18.90.1' } });
    await c.call('send', { socket: fromC, payload: hex('from-c'), options: { destination: GROUP, ttl: 255, iface: ifaceC } });
    expect(await b.nextMessage()).toMatchObject({ socket: onC, payload: hex('from-c'), info: { iface: ifaceBC, source: '198.18.91.1' } });
    await b.expectNoMessage(300);
    for (const socket of [onA, onC]) await b.call('close', { socket });
    await a.call('close', { socket: fromA });
    await c.call('close', { socket: fromC });
  });

  it('errors carry the seam\'s codes: ENODEV, EINVAL, and EBADF after an idempotent close', async () => {
    await expect(b.open(112, 'pf9nosuch0')).rejects.toMatchObject({ code: 'ENODEV' });
    await expect(b.open(0)).rejects.toMatchObject({ code: 'EINVAL' });
    const socket = await b.open(112);
    await expect(b.call('join', { socket, group: GROUP, iface: 'pf9nosuch0' })).rejects.toMatchObject({ code: 'ENODEV' });
    await expect(b.call('join', { socket, group: '198.18.90.1', iface: ifaceBA })).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(b.call('send', { socket, payload: hex('x'), options: { destination: GROUP } })).rejects.toMatchObject({ code: 'EINVAL' });
    await b.call('close', { socket });
    await b.call('close', { socket });
    await expect(b.call('send', { socket, payload: hex('x'), options: { destination: '198.18.90.1' } })).rejects.toMatchObject({ code: 'EBADF' });
    await expect(b.call('join', { socket, group: GROUP, iface: ifaceBA })).rejects.toMatchObject({ code: 'EBADF' });
  });

  it('without CAP_NET_RAW, opening fails with EPERM', async () => {
    // Still uid 0, but with every capability dropped.
    const unprivileged = startAgent(nsA, agentPath, ['setpriv', '--inh-caps=-all', '--bounding-set=-all', '--']);
    await unprivileged.ready;
    await expect(unprivileged.open(112)).rejects.toMatchObject({ code: 'EPERM', syscall: 'socket', message: expect.stringContaining('CAP_NET_RAW') });
  });

  it('the bundle uses the addon beside it: without raw-socket.node (and no node_modules) raw sockets are unsupported', async () => {
    const bare = join(dir, 'bare');
    await mkdir(bare);
    await copyFile(agentPath, join(bare, 'raw-agent.mjs'));
    const agent = startAgent(nsA, join(bare, 'raw-agent.mjs'));
    await agent.ready;
    await expect(agent.open(112)).rejects.toMatchObject({ code: 'ERR_PLATFORM_UNSUPPORTED', message: expect.stringContaining('raw-socket.node') });
  });

  it('gratuitous ARP: the neighbour sees "who-has VIP tell VIP" and moves its entry for the VIP to the sender', async () => {
    const vip = '198.18.90.100';
    await lab.ip(nsA, ['addr', 'add', `${vip}/32`, 'dev', ifaceA]);
    // b still points the VIP at a MAC that left (a STALE entry, as after a failover).
    await lab.ip(nsB, ['neigh', 'replace', vip, 'lladdr', '02:00:00:00:00:01', 'dev', ifaceBA, 'nud', 'stale']);
    const macA = JSON.parse(await lab.ip(nsA, ['-j', 'link', 'show', ifaceA]))[0].address as string;

    // A few ARP packets at most: b may also be checking its entry for a.
    const capture = lab.spawn(nsB, 'timeout', ['15', 'tcpdump', '-i', ifaceBA, '-n', '-e', '-l', '-c', '5', 'arp']);
    await lineContaining(capture, 'listening on');
    const announced = lineContaining(capture, `tell ${vip}`);
    await a.call('garp', { iface: ifaceA, address: vip });
    const line = await announced;
    expect(line).toContain(`${macA} > ff:ff:ff:ff:ff:ff`);
    expect(line).toContain(`Request who-has ${vip} (ff:ff:ff:ff:ff:ff) tell ${vip}`);

    const neighbour = JSON.parse(await lab.ip(nsB, ['-j', 'neigh', 'show', vip, 'dev', ifaceBA])) as { lladdr?: string }[];
    expect(neighbour[0]?.lladdr).toBe(macA);
    await expect(a.call('garp', { iface: 'pf9nosuch0', address: vip })).rejects.toThrow(/No such device/);
  });
});
