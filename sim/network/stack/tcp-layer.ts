// The TCP layer of one simulated kernel: connection demultiplexing,
// listeners, ephemeral ports, RST for segments nobody owns, and the binding
// of each sans-IO TcpConnection to engine timers and the IP layer.
import type { Ipv4 } from '../ip.js';
import { formatIpv4, IPV4_ANY, parseIpv4 } from '../ip.js';
import type { IpPacket, TcpSegment } from '../packet.js';
import { IPPROTO_TCP, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../packet.js';
import type { SimTimer, Owner } from '../engine.js';
import type { SimHost } from '../host.js';
import { PlatformError } from '../../../src/runtime/platform/errors.js';
import type { TcpEffects, TcpErrorCode, TcpOutSegment, TcpState, TcpStats, TcpTimer } from './tcp-core.js';
import { TcpConnection } from './tcp-core.js';
import { SimSocket } from './sim-socket.js';
import { EPHEMERAL_PORT_MAX, EPHEMERAL_PORT_MIN, pickFreePort } from './ports.js';

const DEFAULT_TTL = 64;

export interface SimListenerOptions {
  address: Ipv4;
  port: number;
  backlog: number;
  allowHalfOpen: boolean;
  owner: Owner;
  /**
   * Called as the handshake completes, before the application hears of the
   * socket: the owning process takes it (so its exit closes it). Returns false
   * when that process is gone; the connection is then reset, as Linux resets
   * connections left in a closed listener's accept queue.
   */
  adopt: (socket: SimSocket) => boolean;
  onConnection: (socket: SimSocket) => void;
}

export class SimListener {
  halfOpen = 0;
  closed = false;
  constructor(readonly options: SimListenerOptions) {}
}

// Map keys for addresses and ports: short strings of 16-bit code units (an
// address is two units, a port one). Decimal text keys cost a number
// formatting, a concatenation and a long hash on every received segment.
function listenerKey(address: Ipv4, port: number): string {
  return String.fromCharCode(address >>> 16, address & 0xffff, port);
}

function connectionKey(localIp: Ipv4, localPort: number, remoteIp: Ipv4, remotePort: number): string {
  return String.fromCharCode(localIp >>> 16, localIp & 0xffff, localPort, remoteIp >>> 16, remoteIp & 0xffff, remotePort);
}

export interface TcpLayerStats {
  connectionsOpened: number;
  connectionsAccepted: number;
  connectionsFailed: number;
  resetsSent: number;
  synsDroppedBacklog: number;
}

/** One connection in the kernel: the core, its timers, and the socket the application holds (if any). */
export class TcpEndpoint implements TcpEffects {
  readonly core: TcpConnection;
  socket: SimSocket | undefined;
  listener: SimListener | undefined;
  private readonly timers: Record<TcpTimer, SimTimer | undefined> = { retransmit: undefined, keepalive: undefined, linger: undefined };
  private labelText: string | undefined;

  constructor(
    readonly layer: TcpLayer,
    readonly key: string,
    readonly localIp: Ipv4,
    readonly localPort: number,
    readonly remoteIp: Ipv4,
    readonly remotePort: number,
  ) {
    const host = layer.host;
    this.core = new TcpConnection(host.tcpSettings, this, host.kernelRng.uint32());
  }

  /** The connection as the trace names it, built once: every state change records it. */
  get label(): string {
    this.labelText ??= `${formatIpv4(this.localIp)}:${this.localPort}>${formatIpv4(this.remoteIp)}:${this.remotePort}`;
    return this.labelText;
  }

  send(segment: TcpOutSegment): void {
    const tcp: TcpSegment = {
      sourcePort: this.localPort,
      destinationPort: this.remotePort,
      seq: segment.seq,
      ack: segment.ack,
      flags: segment.flags,
      windowBytes: segment.windowBytes,
      data: segment.data,
    };
    this.layer.transmit(this.localIp, this.remoteIp, tcp);
  }

  armTimer(timer: TcpTimer, delayMs: number): void {
    const engine = this.layer.host.world.engine;
    engine.cancel(this.timers[timer]);
    this.timers[timer] = engine.schedule(
      delayMs,
      () => {
        this.timers[timer] = undefined;
        this.core.timer(timer, engine.elapsedMs());
      },
      this.layer.host.kernel,
    );
  }

  cancelTimer(timer: TcpTimer): void {
    this.layer.host.world.engine.cancel(this.timers[timer]);
    this.timers[timer] = undefined;
  }

  established(): void {
    const listener = this.listener;
    if (listener !== undefined) {
      listener.halfOpen--;
      this.listener = undefined;
      if (listener.closed) {
        this.core.abort(this.layer.host.world.engine.elapsedMs());
        return;
      }
      const socket = new SimSocket(this.layer.host, listener.options.owner, { allowHalfOpen: listener.options.allowHalfOpen });
      socket.attachAccepted(this);
      this.socket = socket;
      if (!listener.options.adopt(socket)) {
        this.socket = undefined;
        this.core.abort(this.layer.host.world.engine.elapsedMs());
        return;
      }
      this.layer.stats.connectionsAccepted++;
      this.layer.host.world.engine.schedule(0, () => listener.options.onConnection(socket), listener.options.owner);
      return;
    }
    this.socket?.onEstablished();
  }

  readable(): void {
    this.socket?.onReadable();
  }

  writable(): void {
    this.socket?.onWritable();
  }

  failed(code: TcpErrorCode): void {
    this.layer.stats.connectionsFailed++;
    this.layer.host.world.engine.record(this.layer.host.name, 'tcp.error', { conn: this.label, code });
    this.socket?.onFailed(code);
  }

  closed(): void {
    this.layer.retire(this.core.stats);
    if (this.listener !== undefined) {
      this.listener.halfOpen--;
      this.listener = undefined;
    }
    this.layer.forget(this);
    this.socket?.onClosed();
  }

  stateChanged(from: TcpState, to: TcpState): void {
    this.layer.host.world.engine.record(this.layer.host.name, 'tcp.state', { conn: this.label, from, to });
  }

  /** Kernel wiped (host crash): timers gone, nothing sent, nobody told. */
  wipe(): void {
    for (const timer of ['retransmit', 'keepalive', 'linger'] as const) this.cancelTimer(timer);
    this.socket?.onWiped();
    this.socket = undefined;
  }
}

export class TcpLayer {
  readonly stats: TcpLayerStats = {
    connectionsOpened: 0,
    connectionsAccepted: 0,
    connectionsFailed: 0,
    resetsSent: 0,
    synsDroppedBacklog: 0,
  };
  private readonly connections = new Map<string, TcpEndpoint>();
  private readonly listeners = new Map<string, SimListener>();
  private readonly retired: TcpStats = emptyStats();

  constructor(readonly host: SimHost) {}

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Starts an active open for `socket`. Errors are thrown as PlatformError for the caller to deliver. */
  connect(socket: SimSocket, host: string, port: number, localAddress: string | undefined): TcpEndpoint {
    const remoteIp = parseIpv4(host);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new PlatformError('EINVAL', `bad port ${port}`, { syscall: 'connect', address: host, port });
    }
    let localIp: Ipv4;
    if (localAddress !== undefined) {
      localIp = parseIpv4(localAddress);
      if (!this.host.stack.isLocalAddress(localIp)) {
        throw new PlatformError('EADDRNOTAVAIL', `${localAddress} is not an address of ${this.host.name}`, { syscall: 'connect', address: localAddress });
      }
    } else {
      const source = this.host.stack.sourceAddressFor(remoteIp);
      if (source === undefined) {
        throw new PlatformError('ENETUNREACH', `no route from ${this.host.name} to ${host}`, { syscall: 'connect', address: host, port });
      }
      localIp = source;
    }
    const localPort = this.ephemeralPort(localIp, remoteIp, port);
    const key = connectionKey(localIp, localPort, remoteIp, port);
    const endpoint = new TcpEndpoint(this, key, localIp, localPort, remoteIp, port);
    endpoint.socket = socket;
    this.connections.set(key, endpoint);
    this.stats.connectionsOpened++;
    endpoint.core.connect(this.host.world.engine.elapsedMs());
    return endpoint;
  }

  listen(options: SimListenerOptions): SimListener {
    const { address, port } = options;
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new PlatformError('EINVAL', `bad port ${port}`, { syscall: 'listen', address: formatIpv4(address), port });
    }
    if (address !== IPV4_ANY && !this.host.stack.isLocalAddress(address)) {
      throw new PlatformError('EADDRNOTAVAIL', `${formatIpv4(address)} is not an address of ${this.host.name}`, {
        syscall: 'listen',
        address: formatIpv4(address),
        port,
      });
    }
    let boundPort = port;
    if (boundPort === 0) boundPort = this.ephemeralPort(address, IPV4_ANY, 0);
    for (const existing of this.listeners.values()) {
      const other = existing.options;
      if (other.port === boundPort && (other.address === address || other.address === IPV4_ANY || address === IPV4_ANY)) {
        throw new PlatformError('EADDRINUSE', `${formatIpv4(address)}:${boundPort} is already in use on ${this.host.name}`, {
          syscall: 'listen',
          address: formatIpv4(address),
          port: boundPort,
        });
      }
    }
    const listener = new SimListener({ ...options, port: boundPort });
    this.listeners.set(listenerKey(address, boundPort), listener);
    return listener;
  }

  unlisten(listener: SimListener): void {
    listener.closed = true;
    this.listeners.delete(listenerKey(listener.options.address, listener.options.port));
  }

  hasListener(address: Ipv4, port: number): boolean {
    return this.findListener(address, port) !== undefined;
  }

  hasConnection(localIp: Ipv4, localPort: number, remoteIp: Ipv4, remotePort: number): boolean {
    return this.connections.has(connectionKey(localIp, localPort, remoteIp, remotePort));
  }

  /** Any listener or connection on this local port, whatever the address. */
  portInUse(port: number): boolean {
    for (const listener of this.listeners.values()) if (listener.options.port === port) return true;
    for (const endpoint of this.connections.values()) if (endpoint.localPort === port) return true;
    return false;
  }

  receive(packet: IpPacket): void {
    const segment = packet.tcp as TcpSegment;
    const key = connectionKey(packet.destination, segment.destinationPort, packet.source, segment.sourcePort);
    const nowMs = this.host.world.engine.elapsedMs();
    const isSyn = (segment.flags & (TCP_SYN | TCP_ACK)) === TCP_SYN;
    let endpoint = this.connections.get(key);
    if (endpoint !== undefined && isSyn && endpoint.core.state === 'TIME_WAIT') {
      // A new connection reusing the 4-tuple ends the old one's TIME_WAIT, as Linux allows.
      endpoint.core.abort(nowMs);
      endpoint = undefined;
    }
    if (endpoint !== undefined) {
      endpoint.core.receive(segment, nowMs);
      return;
    }
    if (segment.flags & TCP_RST) return;
    const listener = isSyn ? this.findListener(packet.destination, segment.destinationPort) : undefined;
    if (listener === undefined) {
      this.sendReset(packet, segment);
      return;
    }
    if (listener.halfOpen >= listener.options.backlog) {
      this.stats.synsDroppedBacklog++;
      this.host.world.recordPacketDrop(this.host.name, packet, 'backlog-full');
      return;
    }
    const accepted = new TcpEndpoint(this, key, packet.destination, segment.destinationPort, packet.source, segment.sourcePort);
    accepted.listener = listener;
    listener.halfOpen++;
    this.connections.set(key, accepted);
    accepted.core.acceptSyn(segment, nowMs);
  }

  hostUnreachable(packet: IpPacket): void {
    const segment = packet.tcp;
    if (segment === undefined) return;
    const key = connectionKey(packet.source, segment.sourcePort, packet.destination, segment.destinationPort);
    this.connections.get(key)?.core.hostUnreachable();
  }

  /** Segment counters of every connection this kernel has had, closed or open. */
  segmentStats(): TcpStats {
    const total = { ...this.retired };
    for (const endpoint of this.connections.values()) addStats(total, endpoint.core.stats);
    return total;
  }

  retire(stats: TcpStats): void {
    addStats(this.retired, stats);
  }

  forget(endpoint: TcpEndpoint): void {
    if (this.connections.get(endpoint.key) === endpoint) this.connections.delete(endpoint.key);
  }

  /** Host crash: every connection and listener vanishes without a packet. */
  reset(): void {
    for (const endpoint of this.connections.values()) {
      this.retire(endpoint.core.stats);
      endpoint.wipe();
    }
    this.connections.clear();
    for (const listener of this.listeners.values()) listener.closed = true;
    this.listeners.clear();
  }

  private findListener(address: Ipv4, port: number): SimListener | undefined {
    return this.listeners.get(listenerKey(address, port)) ?? this.listeners.get(listenerKey(IPV4_ANY, port));
  }

  private sendReset(packet: IpPacket, segment: TcpSegment): void {
    const dataBytes = segment.data?.length ?? 0;
    const hasAck = (segment.flags & TCP_ACK) !== 0;
    const consumed = dataBytes + (segment.flags & TCP_SYN ? 1 : 0) + (segment.flags & TCP_FIN ? 1 : 0);
    this.transmit(packet.destination, packet.source, {
      sourcePort: segment.destinationPort,
      destinationPort: segment.sourcePort,
      seq: hasAck ? segment.ack : 0,
      ack: hasAck ? 0 : segment.seq + consumed,
      flags: hasAck ? TCP_RST : TCP_RST | TCP_ACK,
      windowBytes: 0,
      data: undefined,
    });
  }

  /** Every TCP segment this kernel sends leaves through here. */
  transmit(source: Ipv4, destination: Ipv4, tcp: TcpSegment): void {
    if (tcp.flags & TCP_RST) this.stats.resetsSent++;
    this.host.stack.send(this.host.world.newPacket(this.host.name, { source, destination, ttl: DEFAULT_TTL, protocol: IPPROTO_TCP, tcp }));
  }

  private ephemeralPort(localIp: Ipv4, remoteIp: Ipv4, remotePort: number): number {
    const port = pickFreePort(this.host.kernelRng, EPHEMERAL_PORT_MIN, EPHEMERAL_PORT_MAX, (candidate) => {
      if (this.listeners.has(listenerKey(localIp, candidate)) || this.listeners.has(listenerKey(IPV4_ANY, candidate))) return false;
      return remotePort === 0 || !this.connections.has(connectionKey(localIp, candidate, remoteIp, remotePort));
    });
    if (port === undefined) throw new PlatformError('EADDRNOTAVAIL', `no free ephemeral port on ${this.host.name}`, { syscall: 'connect' });
    return port;
  }
}

function emptyStats(): TcpStats {
  return { segmentsSent: 0, segmentsRetransmitted: 0, timeouts: 0, fastRetransmits: 0, bytesSent: 0, bytesReceived: 0 };
}

function addStats(total: TcpStats, stats: TcpStats): void {
  total.segmentsSent += stats.segmentsSent;
  total.segmentsRetransmitted += stats.segmentsRetransmitted;
  total.timeouts += stats.timeouts;
  total.fastRetransmits += stats.fastRetransmits;
  total.bytesSent += stats.bytesSent;
  total.bytesReceived += stats.bytesReceived;
}
