// Raft messages between members over the network: one outbound stream per
// peer to its peer port (2380), frames of a 4-byte big-endian length and a
// JSON message. Like etcd's rafthttp, a message that cannot go now is dropped
// rather than queued without end: Raft sends again what matters (heartbeats,
// appends from the follower's match index, votes on the next timeout).
//
// Inbound frames are checked before they reach the Raft node: a malformed or
// oversized frame closes that connection with a warning, never the member.
import type { Log, Platform, StreamListener, StreamSocket } from '../../../src/runtime/platform/types.js';
import type { RaftMessage } from '../raft/messages.js';
import type { NodeId } from '../raft/types.js';

export const PEER_PORT = 2380;
/** A frame longer than this is not from a member of this model (appends are bounded). */
const FRAME_BYTES_MAX = 8 * 1024 * 1024;
/** Messages waiting for a connection to a peer, at most; older ones are dropped first. */
const QUEUED_MESSAGES_MAX = 256;
/** After a failed connection, wait this long before dialling that peer again. */
const REDIAL_AFTER_MS = 100;
const CONNECT_TIMEOUT_MS = 1_000;
/** A peer that stopped answering is noticed by keepalive, so the stream is dialled again. */
const KEEPALIVE_IDLE_MS = 2_000;
/**
 * We keep sending to a peer and hear nothing back for this long: the stream
 * is stuck behind a cut (TCP backs off its retransmissions for many seconds,
 * and keepalive never starts while data is unacknowledged), so it is dropped
 * and dialled again, as etcd's rafthttp drops a stream that stops making
 * progress. Raft peers answer within a heartbeat interval.
 */
const SILENCE_MS = 3_000;
const WATCHDOG_INTERVAL_MS = 1_000;
const MESSAGE_TYPES = new Set(['pre-vote-request', 'vote-request', 'pre-vote-response', 'vote-response', 'append', 'append-accepted', 'append-rejected', 'heartbeat', 'heartbeat-response']);

export interface PeerTransportOptions {
  self: NodeId;
  /** Every other member's address. */
  peers: ReadonlyMap<NodeId, string>;
  /** Address to listen on for peers. */
  listenHost: string;
  port?: number;
  onMessage(message: RaftMessage): void;
  log: Log;
}

interface Outbound {
  socket: StreamSocket | undefined;
  connected: boolean;
  queue: Buffer[];
  redialAtMs: number;
  lastSentMs: number;
  lastHeardMs: number;
}

export class PeerTransport {
  private readonly outbound = new Map<NodeId, Outbound>();
  private readonly inbound = new Set<StreamSocket>();
  private listener: StreamListener | undefined;
  private watchdog: ReturnType<Platform['clock']['setInterval']> | undefined;
  private closed = false;
  dropped = 0;

  private constructor(
    private readonly platform: Platform,
    private readonly options: PeerTransportOptions,
  ) {
    const nowMs = platform.clock.now();
    for (const peer of options.peers.keys()) this.outbound.set(peer, { socket: undefined, connected: false, queue: [], redialAtMs: 0, lastSentMs: nowMs, lastHeardMs: nowMs });
  }

  static async start(platform: Platform, options: PeerTransportOptions): Promise<PeerTransport> {
    const transport = new PeerTransport(platform, options);
    transport.listener = await platform.streams.listen({ host: options.listenHost, port: options.port ?? PEER_PORT }, (socket) => transport.accept(socket));
    transport.watchdog = platform.clock.setInterval(() => transport.dropSilentStreams(), WATCHDOG_INTERVAL_MS);
    return transport;
  }

  send(message: RaftMessage): void {
    const peer = this.outbound.get(message.to);
    if (peer === undefined) throw new Error(`${this.options.self}: a message to ${message.to}, who is not a peer`);
    if (this.closed) return;
    peer.lastSentMs = this.platform.clock.now();
    const frame = encodeFrame(message);
    if (peer.connected && peer.socket !== undefined) {
      peer.socket.write(frame);
      return;
    }
    if (peer.queue.length >= QUEUED_MESSAGES_MAX) {
      peer.queue.shift();
      this.dropped++;
    }
    peer.queue.push(frame);
    this.dial(message.to, peer);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.platform.clock.clearTimer(this.watchdog);
    for (const peer of this.outbound.values()) peer.socket?.destroy();
    for (const socket of this.inbound) socket.destroy();
    await this.listener?.close();
  }

  private dropSilentStreams(): void {
    const nowMs = this.platform.clock.now();
    for (const peer of this.outbound.values()) {
      const talking = nowMs - peer.lastSentMs < SILENCE_MS;
      if (peer.connected && talking && nowMs - peer.lastHeardMs > SILENCE_MS) {
        peer.lastHeardMs = nowMs;
        peer.socket?.destroy();
      }
    }
  }

  private dial(id: NodeId, peer: Outbound): void {
    if (peer.socket !== undefined || this.platform.clock.now() < peer.redialAtMs) return;
    const host = this.options.peers.get(id) as string;
    const socket = this.platform.streams.connect({ host, port: this.options.port ?? PEER_PORT, keepAliveIdleMs: KEEPALIVE_IDLE_MS });
    peer.socket = socket;
    // A peer behind a partition would hold the dial for the kernel's whole SYN back-off.
    const giveUp = this.platform.clock.setTimeout(() => socket.destroy(), CONNECT_TIMEOUT_MS);
    socket.on('connect', () => {
      this.platform.clock.clearTimer(giveUp);
      peer.connected = true;
      for (const frame of peer.queue.splice(0)) socket.write(frame);
    });
    // Peers never write on an outbound stream: anything read is ignored.
    socket.on('data', () => {});
    const lost = (): void => {
      this.platform.clock.clearTimer(giveUp);
      if (peer.socket !== socket) return;
      peer.socket = undefined;
      peer.connected = false;
      this.dropped += peer.queue.length;
      peer.queue.length = 0;
      peer.redialAtMs = this.platform.clock.now() + REDIAL_AFTER_MS;
    };
    socket.on('error', lost);
    socket.on('close', lost);
  }

  private accept(socket: StreamSocket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.inbound.add(socket);
    // A peer whose host vanished sends no FIN: keepalive notices, so the socket does not stay here for good.
    socket.setKeepAlive(true, KEEPALIVE_IDLE_MS);
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 4) {
        const length = pending.readUInt32BE(0);
        if (length > FRAME_BYTES_MAX) return this.refuse(socket, `frame of ${length} bytes`);
        if (pending.length < 4 + length) break;
        const body = pending.subarray(4, 4 + length);
        pending = pending.subarray(4 + length);
        const message = decodeMessage(body);
        if (typeof message === 'string') return this.refuse(socket, message);
        const sender = this.outbound.get(message.from);
        if (message.to !== this.options.self || sender === undefined) return this.refuse(socket, `a message from ${message.from} to ${message.to}`);
        sender.lastHeardMs = this.platform.clock.now();
        this.options.onMessage(message);
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.inbound.delete(socket));
  }

  private refuse(socket: StreamSocket, why: string): void {
    this.options.log.warn('etcd.peer.refused', { member: this.options.self, remote: socket.remoteAddress, reason: why });
    socket.destroy();
  }
}

function encodeFrame(message: RaftMessage): Buffer {
  const body = Buffer.from(JSON.stringify(message, (_key, value: unknown) => (value instanceof Uint8Array ? { $b64: Buffer.from(value).toString('base64') } : value)));
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length, 0);
  return Buffer.concat([header, body]);
}

/** The message, or why the frame is not one. */
function decodeMessage(body: Buffer): RaftMessage | string {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'), (_key, field: unknown) =>
      typeof field === 'object' && field !== null && typeof (field as { $b64?: unknown }).$b64 === 'string'
        ? new Uint8Array(Buffer.from((field as { $b64: string }).$b64, 'base64'))
        : field,
    );
  } catch {
    return 'a frame that is not JSON';
  }
  const message = value as Partial<RaftMessage> | null;
  if (typeof message !== 'object' || message === null) return 'a frame that is not an object';
  if (typeof message.type !== 'string' || !MESSAGE_TYPES.has(message.type)) return `a message of type ${JSON.stringify(message.type)}`;
  if (typeof message.from !== 'string' || typeof message.to !== 'string' || typeof message.term !== 'number') return 'a message without from, to and term';
  return message as RaftMessage;
}
