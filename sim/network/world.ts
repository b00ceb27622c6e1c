// The simulated world: hosts, L2 segments and links, routers, NATs, the
// partition state, and the engine that runs them. A scenario reads like a
// story about a network:
//
//   const world = new World({ seed });
//   const lan = world.segment('lan');
//   const h1 = world.host('h1');
//   world.attach(h1, lan, '198.19.1.11/24', { gateway: '198.19.1.1' });
//   world.partition(['h1'], ['server']);
import type { CommandMain, ServiceMain } from '../../src/runtime/platform/types.js';
import { Engine, type RunOptions } from './engine.js';
import type { TraceFields, TraceOptions } from './trace.js';
import { SimHost, type HostOptions } from './host.js';
import { Segment } from './segment.js';
import { DEFAULT_LINK_PROFILE, Link, linkProfile, type LinkProfile } from './link.js';
import { Nic } from './nic.js';
import type { Frame, IpPacket } from './packet.js';
import { tcpFlagsText } from './packet.js';
import { formatIpv4, parseCidr, parseIpv4 } from './ip.js';
import { DEFAULT_NAT_OPTIONS, Nat, type NatOptions } from './nat.js';

/** A world built wrongly (a duplicate name, an unknown host, a gateway off-link). */
export class TopologyError extends Error {
  readonly code = 'ERR_SIM_TOPOLOGY';
  constructor(message: string) {
    super(`ERR_SIM_TOPOLOGY: ${message}`);
    this.name = 'TopologyError';
  }
}

export interface WorldOptions {
  seed: number;
  trace?: TraceOptions;
}

export interface AttachOptions {
  /** Interface name; eth0, eth1… by default. */
  iface?: string;
  /** Default route through this gateway. */
  gateway?: string;
  /** Changes to the segment's default link profile for this host's link. */
  link?: Partial<LinkProfile>;
}

interface PartitionRule {
  readonly id: string;
  readonly from: ReadonlySet<string>;
  readonly to: ReadonlySet<string>;
}

export interface RunFailure {
  host: string;
  atMs: number;
  error: unknown;
}

export class World {
  readonly engine: Engine;
  readonly hosts = new Map<string, SimHost>();
  readonly segments = new Map<string, Segment>();
  readonly modules = new Map<string, ServiceMain>();
  /** Executable paths that platform.processes.exec can run, on every host. */
  readonly commands = new Map<string, CommandMain>();
  readonly failures: RunFailure[] = [];
  readonly drops = new Map<string, number>();
  /** How many faults of each kind were applied (a fault that never fires must not pass unnoticed). */
  readonly faultsApplied = new Map<string, number>();
  private partitions: PartitionRule[] = [];
  private nextPacketId = 1;
  private nextMac = 1;
  private nextPartitionId = 1;

  constructor(options: WorldOptions) {
    this.engine = new Engine({ seed: options.seed, ...(options.trace === undefined ? {} : { trace: options.trace }) });
    this.engine.onUnownedError = (error) => this.recordFailure('world', error);
  }

  // ------------------------------------------------------------ building

  segment(name: string, profile: Partial<LinkProfile> = {}): Segment {
    if (this.segments.has(name)) throw new TopologyError(`segment "${name}" already exists`);
    const segment = new Segment(this, name, linkProfile(DEFAULT_LINK_PROFILE, profile));
    this.segments.set(name, segment);
    return segment;
  }

  host(name: string, options: HostOptions = {}): SimHost {
    if (this.hosts.has(name)) throw new TopologyError(`host "${name}" already exists`);
    if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new TopologyError(`host name "${name}" must be lower-case letters, digits and dashes`);
    const host = new SimHost(this, name, options);
    this.hosts.set(name, host);
    return host;
  }

  router(name: string, options: HostOptions = {}): SimHost {
    return this.host(name, { ...options, forwarding: true });
  }

  /** Gives `host` an interface on `segment` with address `cidr` (e.g. "198.18.0.10/24"). */
  attach(host: SimHost, segment: Segment, cidr: string, options: AttachOptions = {}): Nic {
    const name = options.iface ?? `eth${host.nics.length}`;
    if (host.nics.some((nic) => nic.name === name)) throw new TopologyError(`host ${host.name} already has interface ${name}`);
    const link = new Link(linkProfile(segment.defaultProfile, options.link), host.rng.fork(`link/${name}`));
    const nic = new Nic(host, name, this.allocateMac(), segment, link);
    const address = parseCidr(cidr);
    nic.configuredAddresses.push(address);
    nic.addresses.push(address);
    host.nics.push(nic);
    segment.attach(nic);
    if (options.gateway !== undefined) this.route(host, '0.0.0.0/0', options.gateway);
    return nic;
  }

  /** Adds a static route on `host`: `destination` (CIDR) via `gateway`. */
  route(host: SimHost, destination: string, gateway: string): void {
    const via = parseIpv4(gateway);
    const choice = host.stack.route(via);
    if (choice === undefined) throw new TopologyError(`host ${host.name}: gateway ${gateway} is not on any attached subnet`);
    host.stack.routes.push({ destination: parseCidr(destination), via, nic: choice.nic });
  }

  /** Masquerades traffic from `options.inside` leaving through `options.outside` on a router. */
  nat(router: SimHost, options: Pick<NatOptions, 'inside' | 'outside'> & Partial<NatOptions>): Nat {
    if (!router.stack.forwarding) throw new TopologyError(`host ${router.name} is not a router (forwarding off)`);
    const nat = new Nat(router, router.nic(options.inside), router.nic(options.outside), { ...DEFAULT_NAT_OPTIONS, ...options });
    router.stack.nat = nat;
    return nat;
  }

  /** Makes `main` startable as `platform.processes.start({ module: name, … })`. */
  registerModule(name: string, main: ServiceMain): void {
    this.modules.set(name, main);
  }

  /** Makes `main` runnable as `platform.processes.exec(path, …)` on every host. */
  registerCommand(path: string, main: CommandMain): void {
    this.commands.set(path, main);
  }

  getHost(name: string): SimHost {
    const host = this.hosts.get(name);
    if (host === undefined) throw new TopologyError(`no host named "${name}"`);
    return host;
  }

  // ------------------------------------------------------------ faults

  /** Drops traffic from every host in `from` to every host in `to` (one way). Returns its id. */
  partitionOneWay(from: readonly string[], to: readonly string[], id = `p${this.nextPartitionId++}`): string {
    for (const name of [...from, ...to]) this.getHost(name);
    this.partitions.push({ id, from: new Set(from), to: new Set(to) });
    this.engine.record('world', 'fault.partition', { id, from: from.join(','), to: to.join(','), oneWay: true });
    return id;
  }

  /** Cuts both directions between the two sets of hosts. Returns its id. */
  partition(sideA: readonly string[], sideB: readonly string[], id = `p${this.nextPartitionId++}`): string {
    for (const name of [...sideA, ...sideB]) this.getHost(name);
    this.partitions.push({ id, from: new Set(sideA), to: new Set(sideB) });
    this.partitions.push({ id, from: new Set(sideB), to: new Set(sideA) });
    this.engine.record('world', 'fault.partition', { id, from: sideA.join(','), to: sideB.join(','), oneWay: false });
    return id;
  }

  /** Removes one partition, or all of them. */
  heal(id?: string): void {
    this.partitions = id === undefined ? [] : this.partitions.filter((rule) => rule.id !== id);
    this.engine.record('world', 'fault.heal', { id: id ?? 'all' });
  }

  /** Changes the link profile of a host's interface (all of them when iface is omitted). */
  degrade(hostName: string, changes: Partial<LinkProfile>, iface?: string): void {
    const host = this.getHost(hostName);
    for (const nic of host.nics) {
      if (iface !== undefined && nic.name !== iface) continue;
      nic.link.profile = linkProfile(nic.link.profile, changes);
    }
    this.engine.record(hostName, 'fault.degrade', { iface: iface ?? '*', ...(changes as TraceFields) });
  }

  /** Puts a host's links back to their segment's default profile. */
  restoreLinks(hostName: string, iface?: string): void {
    const host = this.getHost(hostName);
    for (const nic of host.nics) {
      if (iface !== undefined && nic.name !== iface) continue;
      nic.link.profile = linkProfile(nic.segment.defaultProfile);
    }
    this.engine.record(hostName, 'fault.restore', { iface: iface ?? '*' });
  }

  hopBlocked(fromHost: string, toHost: string): boolean {
    if (this.partitions.length === 0) return false;
    for (const rule of this.partitions) if (rule.from.has(fromHost) && rule.to.has(toHost)) return true;
    return false;
  }

  /** End-to-end check on delivery: the packet's origin against the host consuming it. */
  pathBlocked(originHost: string, toHost: string): boolean {
    return originHost !== toHost && this.hopBlocked(originHost, toHost);
  }

  get activePartitions(): number {
    return this.partitions.length;
  }

  // ------------------------------------------------------------ running

  run(options: RunOptions = {}): Promise<number> {
    return this.engine.run(options);
  }

  // ------------------------------------------------------------ packets and the trace

  newPacket(originHost: string, fields: Omit<IpPacket, 'id' | 'originHost'>): IpPacket {
    // An explicit literal: object spread here was the costliest line of a datagram's trip.
    return {
      id: this.nextPacketId++,
      source: fields.source,
      destination: fields.destination,
      ttl: fields.ttl,
      protocol: fields.protocol,
      originHost,
      tcp: fields.tcp,
      udp: fields.udp,
      raw: fields.raw,
      ipId: fields.ipId,
    };
  }

  /** Every delivered frame is traced, as one preformatted line (the hot path of every run). */
  recordFrame(host: string, segment: string, frame: Frame): void {
    this.engine.trace.recordLine(this.engine.elapsedMs(), host, 'net.rx', frameLine(segment, frame));
  }

  recordDrop(host: string, segment: string, frame: Frame, reason: string): void {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + 1);
    this.engine.trace.recordLine(this.engine.elapsedMs(), host, 'net.drop', `${reason} ${frameLine(segment, frame)}`);
  }

  recordPacketDrop(host: string, packet: IpPacket, reason: string): void {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + 1);
    this.engine.trace.recordLine(this.engine.elapsedMs(), host, 'net.drop', `${reason} ${packetLine(packet)}`);
  }

  /** Scenario code (not a service) failed: the run fails, with where and when. */
  recordFailure(host: string, error: unknown): void {
    this.failures.push({ host, atMs: this.engine.elapsedMs(), error });
    const message = error instanceof Error ? error.message : String(error);
    this.engine.record(host, 'check.failure', { message });
  }

  private allocateMac(): string {
    const id = this.nextMac++;
    const hex = (n: number): string => n.toString(16).padStart(2, '0');
    // Locally administered unicast range (02:…).
    return `02:00:${hex((id >>> 24) & 0xff)}:${hex((id >>> 16) & 0xff)}:${hex((id >>> 8) & 0xff)}:${hex(id & 0xff)}`;
  }
}

/** One line per frame for the trace: what it is, between whom, and sizes; never payload. */
function frameLine(segment: string, frame: Frame): string {
  const arp = frame.arp;
  if (arp !== undefined) return `${segment} arp ${arp.op} ${ipText(arp.senderIp)}>${ipText(arp.targetIp)}`;
  return frame.ip === undefined ? segment : `${segment} ${packetLine(frame.ip)}`;
}

function packetLine(packet: IpPacket): string {
  const tcp = packet.tcp;
  if (tcp !== undefined) {
    return `tcp ${ipText(packet.source)}:${tcp.sourcePort}>${ipText(packet.destination)}:${tcp.destinationPort} ${tcpFlagsText(tcp.flags)} ${tcp.seq} ${tcp.ack} ${tcp.data?.length ?? 0}`;
  }
  const udp = packet.udp;
  if (udp !== undefined) {
    return `udp ${ipText(packet.source)}:${udp.sourcePort}>${ipText(packet.destination)}:${udp.destinationPort} ${udp.data.length}`;
  }
  return `ip${packet.protocol} ${ipText(packet.source)}>${ipText(packet.destination)} ttl=${packet.ttl} ${packet.raw?.length ?? 0}`;
}

/** Dotted addresses, memoised: a run uses few addresses and formats them millions of times. */
const ipTexts = new Map<number, string>();
function ipText(address: number): string {
  let text = ipTexts.get(address);
  if (text === undefined) {
    text = formatIpv4(address);
    if (ipTexts.size < 65_536) ipTexts.set(address, text);
  }
  return text;
}
