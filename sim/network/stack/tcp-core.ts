// A sans-IO TCP connection: segments, timer expiries and application calls
// go in (with the current virtual time), segments to send, timers to arm and
// application notifications come out through TcpEffects. No sockets, no
// clock, no scheduling of its own.
//
// What it models, after RFC 793/9293 and Linux defaults:
// - three-way handshake, SYN and SYN-ACK retries (ETIMEDOUT), RST → ECONNREFUSED;
// - reliable in-order delivery over loss, duplication and reordering:
//   cumulative ACKs, out-of-order queue, go-back-N on RTO, fast retransmit;
// - RTO after RFC 6298 (Karn's rule, exponential backoff, min 200 ms);
// - Reno-style congestion window (slow start, congestion avoidance);
// - flow control: the receive window is the free receive buffer, the right
//   edge never shrinks, zero-window probes keep a stalled sender alive;
// - half-close (FIN) with the full close state machine and TIME_WAIT;
// - failure of a broken path only through retries2, TCP_USER_TIMEOUT or
//   keepalive, as a real kernel does: data stalls first, then ETIMEDOUT.
// Sequence numbers are unbounded integers: no 2^32 wrap in the simulation.
import { ByteQueue } from './byte-queue.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../packet.js';

/** The payload of a segment without data: shared, since most segments are bare ACKs and an empty Buffer still costs an allocation. */
const NO_DATA = Buffer.alloc(0);

export type TcpState =
  | 'CLOSED'
  | 'SYN_SENT'
  | 'SYN_RECEIVED'
  | 'ESTABLISHED'
  | 'FIN_WAIT_1'
  | 'FIN_WAIT_2'
  | 'CLOSE_WAIT'
  | 'CLOSING'
  | 'LAST_ACK'
  | 'TIME_WAIT';

export type TcpErrorCode = 'ECONNREFUSED' | 'ECONNRESET' | 'ETIMEDOUT' | 'EHOSTUNREACH';
export type TcpTimer = 'retransmit' | 'keepalive' | 'linger';

export interface TcpSettings {
  mssBytes: number;
  sendBufferBytes: number;
  receiveBufferBytes: number;
  initialCwndSegments: number;
  rtoInitialMs: number;
  rtoMinMs: number;
  rtoMaxMs: number;
  synRetries: number;
  synAckRetries: number;
  /** Retransmissions of data before giving up (Linux tcp_retries2). */
  retries2: number;
  /** TCP_USER_TIMEOUT: give up when sent data stays unacknowledged this long (0: off). */
  userTimeoutMs: number;
  keepAliveIntervalMs: number;
  keepAliveProbes: number;
  timeWaitMs: number;
  /** How long an orphaned connection may sit in FIN_WAIT_2 (tcp_fin_timeout). */
  finTimeoutMs: number;
}

/** Linux defaults (net.ipv4.tcp_*), except buffer sizes, which are fixed here. */
export const DEFAULT_TCP_SETTINGS: Readonly<TcpSettings> = Object.freeze({
  mssBytes: 1460,
  sendBufferBytes: 64 * 1024,
  receiveBufferBytes: 128 * 1024,
  initialCwndSegments: 10,
  rtoInitialMs: 1000,
  rtoMinMs: 200,
  rtoMaxMs: 120_000,
  synRetries: 6,
  synAckRetries: 5,
  retries2: 15,
  userTimeoutMs: 0,
  keepAliveIntervalMs: 75_000,
  keepAliveProbes: 9,
  timeWaitMs: 60_000,
  finTimeoutMs: 60_000,
});

export interface TcpOutSegment {
  seq: number;
  ack: number;
  flags: number;
  windowBytes: number;
  data?: Buffer;
}

export interface TcpInSegment {
  readonly seq: number;
  readonly ack: number;
  readonly flags: number;
  readonly windowBytes: number;
  readonly data: Buffer | undefined;
}

export interface TcpEffects {
  send(segment: TcpOutSegment): void;
  armTimer(timer: TcpTimer, delayMs: number): void;
  cancelTimer(timer: TcpTimer): void;
  /** Handshake complete. */
  established(): void;
  /** New in-order bytes, or the end of the stream, can be read. */
  readable(): void;
  /** The send buffer has room again. */
  writable(): void;
  failed(code: TcpErrorCode): void;
  /** The connection is gone for good: forget it. */
  closed(): void;
  stateChanged(from: TcpState, to: TcpState): void;
}

export interface TcpStats {
  segmentsSent: number;
  segmentsRetransmitted: number;
  timeouts: number;
  fastRetransmits: number;
  bytesSent: number;
  bytesReceived: number;
}

interface OutOfOrder {
  seq: number;
  data: Buffer;
  fin: boolean;
}

export class TcpAssertionError extends Error {
  readonly code = 'ERR_TCP_INVARIANT';
}

/** A message with numbers in it is passed as a function: formatting it on every check cost more than the checks. */
function assert(condition: boolean, message: string | (() => string)): asserts condition {
  if (!condition) throw new TcpAssertionError(typeof message === 'string' ? message : message());
}

export class TcpConnection {
  state: TcpState = 'CLOSED';
  readonly stats: TcpStats = {
    segmentsSent: 0,
    segmentsRetransmitted: 0,
    timeouts: 0,
    fastRetransmits: 0,
    bytesSent: 0,
    bytesReceived: 0,
  };

  // Send side: sendQueue holds the bytes from sendQueueSeq (== first unacked data byte) onward.
  private sndUna: number;
  private sndNxt: number;
  private sndMax: number;
  private sndWnd = 0;
  private sndWl1 = 0;
  private sndWl2 = 0;
  private readonly sendQueue = new ByteQueue();
  private sendQueueSeq: number;
  private finQueued = false;
  private finSent = false;
  private finSeq = -1;

  // Receive side.
  private rcvNxt = 0;
  private readonly receiveQueue = new ByteQueue();
  private outOfOrder: OutOfOrder[] = [];
  private finReceived = false;
  private advertisedWindow = 0;

  // Congestion control and timers.
  private cwnd: number;
  private ssthresh = Number.MAX_SAFE_INTEGER;
  private dupAcks = 0;
  private srttMs: number | undefined;
  private rttvarMs = 0;
  private rtoMs: number;
  private retries = 0;
  private rttProbe: { seq: number; sentAtMs: number } | undefined;
  private lastProgressMs = 0;
  private retransmitArmed = false;
  private persisting = false;
  private persistProbes = 0;
  private keepAliveIdleMs: number | undefined;
  private keepAliveProbesSent = 0;
  private lastReceiveMs = 0;
  private orphaned = false;
  private nowMs = 0;

  constructor(
    private readonly settings: TcpSettings,
    private readonly effects: TcpEffects,
    private readonly iss: number,
  ) {
    this.sndUna = iss;
    this.sndNxt = iss;
    this.sndMax = iss;
    this.sendQueueSeq = iss + 1;
    this.cwnd = settings.initialCwndSegments * settings.mssBytes;
    this.rtoMs = settings.rtoInitialMs;
  }

  // ------------------------------------------------------------ application side

  /** Active open: sends the SYN. */
  connect(nowMs: number): void {
    assert(this.state === 'CLOSED', () => `connect() in ${this.state}`);
    this.nowMs = nowMs;
    this.lastReceiveMs = nowMs;
    this.setState('SYN_SENT');
    this.sndNxt = this.iss + 1;
    this.sndMax = this.sndNxt;
    this.rttProbe = { seq: this.iss + 1, sentAtMs: nowMs };
    this.sendSyn(false);
  }

  /** Passive open from a listener's SYN: sends the SYN-ACK. */
  acceptSyn(syn: TcpInSegment, nowMs: number): void {
    assert(this.state === 'CLOSED', () => `acceptSyn() in ${this.state}`);
    this.nowMs = nowMs;
    this.lastReceiveMs = nowMs;
    this.rcvNxt = syn.seq + 1;
    this.sndWnd = syn.windowBytes;
    this.sndWl1 = syn.seq;
    this.setState('SYN_RECEIVED');
    this.sndNxt = this.iss + 1;
    this.sndMax = this.sndNxt;
    this.rttProbe = { seq: this.iss + 1, sentAtMs: nowMs };
    this.sendSyn(true);
  }

  /** Free space in the send buffer. */
  sendSpace(): number {
    return this.settings.sendBufferBytes - this.sendQueue.length;
  }

  /** Queues bytes for sending; the caller keeps the buffer bound through sendSpace(). */
  write(data: Buffer, nowMs: number): void {
    assert(!this.finQueued, 'write() after shutdown()');
    assert(this.state !== 'CLOSED', 'write() on a closed connection');
    this.nowMs = nowMs;
    this.sendQueue.push(data);
    this.trySend();
  }

  get readableBytes(): number {
    return this.receiveQueue.length;
  }

  /** True once the peer's FIN has been reached and every byte before it was read. */
  get atEof(): boolean {
    return this.finReceived && this.receiveQueue.length === 0;
  }

  read(maxBytes: number, nowMs: number): Buffer | undefined {
    this.nowMs = nowMs;
    const data = this.receiveQueue.shift(maxBytes);
    if (data !== undefined) this.maybeSendWindowUpdate();
    return data;
  }

  /** Half-close: a FIN follows the queued bytes. */
  shutdown(nowMs: number): void {
    this.nowMs = nowMs;
    if (this.finQueued) return;
    this.finQueued = true;
    this.trySend();
  }

  /** The application let go of the connection. Unread data means RST, as on Linux. */
  close(nowMs: number): void {
    this.nowMs = nowMs;
    this.orphaned = true;
    if (this.state === 'CLOSED') return;
    if (this.state === 'SYN_SENT') {
      this.finish();
      return;
    }
    // Like Linux's tcp_close: unread data means RST, whatever the state.
    if (this.receiveQueue.length > 0) {
      this.abort(nowMs);
      return;
    }
    switch (this.state) {
      case 'FIN_WAIT_2':
        this.effects.armTimer('linger', this.settings.finTimeoutMs);
        return;
      case 'TIME_WAIT':
      case 'CLOSING':
      case 'LAST_ACK':
        return;
      default:
        this.shutdown(nowMs);
    }
  }

  /** Sends a RST and forgets the connection (no error to the application). */
  abort(nowMs: number): void {
    this.nowMs = nowMs;
    if (this.state === 'CLOSED') return;
    if (this.state !== 'SYN_SENT') {
      this.emit({ seq: this.sndMax, ack: this.rcvNxt, flags: TCP_RST | TCP_ACK, windowBytes: 0 });
    }
    this.finish();
  }

  setKeepAlive(idleMs: number | undefined, nowMs: number): void {
    this.nowMs = nowMs;
    this.keepAliveIdleMs = idleMs !== undefined && idleMs > 0 ? idleMs : undefined;
    this.keepAliveProbesSent = 0;
    if (this.keepAliveIdleMs === undefined) this.effects.cancelTimer('keepalive');
    else if (this.state !== 'CLOSED') this.effects.armTimer('keepalive', this.keepAliveIdleMs);
  }

  /** ARP for the next hop failed: a connect in progress fails like Linux's EHOSTUNREACH. */
  hostUnreachable(): void {
    if (this.state === 'SYN_SENT') this.fail('EHOSTUNREACH');
  }

  // ------------------------------------------------------------ network side

  receive(segment: TcpInSegment, nowMs: number): void {
    this.nowMs = nowMs;
    if (this.state === 'CLOSED') return;
    this.lastReceiveMs = nowMs;
    this.keepAliveProbesSent = 0;
    if (this.state === 'SYN_SENT') {
      this.receiveInSynSent(segment);
      return;
    }
    const dataBytes = segment.data?.length ?? 0;
    const hasFin = (segment.flags & TCP_FIN) !== 0;
    const hasRst = (segment.flags & TCP_RST) !== 0;

    if (!this.acceptable(segment.seq, dataBytes + (hasFin ? 1 : 0), hasFin && dataBytes === 0)) {
      if (hasRst) return;
      // A zero window still takes valid ACKs (RFC 793 "special allowance").
      if (this.receiveWindow() === 0 && segment.seq === this.rcvNxt && (segment.flags & TCP_ACK) !== 0) {
        this.processAck(segment, dataBytes, hasFin);
      }
      // Answers keepalive and zero-window probes, and old duplicates.
      if (!this.isClosed()) this.sendAck();
      return;
    }
    if (hasRst) {
      // Both directions complete (peer's FIN received, everything we sent
      // acknowledged): nothing is lost, so no error, and bytes still queued
      // for the application stay readable, as on Linux (TIME_WAIT reset).
      if (this.state === 'SYN_RECEIVED' || (this.finReceived && this.nothingLeftToSend())) this.finish();
      else this.fail('ECONNRESET');
      return;
    }
    if ((segment.flags & TCP_SYN) !== 0) {
      // RFC 5961: a SYN inside the window gets a challenge ACK, nothing more.
      this.sendAck();
      return;
    }
    if ((segment.flags & TCP_ACK) === 0) return;
    if (this.state === 'SYN_RECEIVED') {
      if (segment.ack !== this.iss + 1) {
        this.emit({ seq: segment.ack, ack: 0, flags: TCP_RST, windowBytes: 0 });
        return;
      }
      this.establish(segment);
    }
    this.processAck(segment, dataBytes, hasFin);
    if (this.isClosed()) return;
    if (dataBytes > 0 || hasFin) {
      if (this.orphaned && dataBytes > 0 && this.receivesData()) {
        // Data for a socket nobody will read: reset, as Linux does.
        this.abort(nowMs);
        return;
      }
      this.processData(segment.seq, segment.data, hasFin);
    }
    this.checkInvariants();
  }

  timer(kind: TcpTimer, nowMs: number): void {
    this.nowMs = nowMs;
    if (this.state === 'CLOSED') return;
    switch (kind) {
      case 'retransmit':
        this.retransmitArmed = false;
        if (this.persisting) this.onPersist();
        else this.onRetransmitTimeout();
        break;
      case 'keepalive':
        this.onKeepAlive();
        break;
      case 'linger':
        // TIME_WAIT over, or an orphan gave up waiting for the peer's FIN.
        if (this.state === 'TIME_WAIT' || this.state === 'FIN_WAIT_2') this.finish();
        break;
    }
    if (!this.isClosed()) this.checkInvariants();
  }

  // ------------------------------------------------------------ internals

  private receiveInSynSent(segment: TcpInSegment): void {
    const hasAck = (segment.flags & TCP_ACK) !== 0;
    if (hasAck && segment.ack !== this.iss + 1) {
      if ((segment.flags & TCP_RST) === 0) this.emit({ seq: segment.ack, ack: 0, flags: TCP_RST, windowBytes: 0 });
      return;
    }
    if ((segment.flags & TCP_RST) !== 0) {
      if (hasAck) this.fail('ECONNREFUSED');
      return;
    }
    if ((segment.flags & TCP_SYN) === 0 || !hasAck) return;
    this.rcvNxt = segment.seq + 1;
    this.sendAck();
    this.establish(segment);
    this.trySend();
  }

  /** Either end of the handshake: `segment` acknowledged our SYN. */
  private establish(segment: TcpInSegment): void {
    this.sndUna = segment.ack;
    this.sndWnd = segment.windowBytes;
    this.sndWl1 = segment.seq;
    this.sndWl2 = segment.ack;
    this.sampleRtt(segment.ack);
    this.cancelRetransmit();
    this.retries = 0;
    this.setState('ESTABLISHED');
    this.effects.established();
    if (this.keepAliveIdleMs !== undefined) this.effects.armTimer('keepalive', this.keepAliveIdleMs);
  }

  private acceptable(seq: number, length: number, bareFin = false): boolean {
    const window = this.receiveWindow();
    // A FIN alone takes no buffer space: at rcvNxt it is acceptable even into a zero window,
    // or a reader that stalled right after the last byte would see its writer time out.
    if (length === 0 || (bareFin && seq === this.rcvNxt)) {
      return window === 0 ? seq === this.rcvNxt : seq >= this.rcvNxt && seq < this.rcvNxt + window;
    }
    if (window === 0) return false;
    return seq < this.rcvNxt + window && seq + length > this.rcvNxt;
  }

  private receivesData(): boolean {
    return this.state === 'ESTABLISHED' || this.state === 'FIN_WAIT_1' || this.state === 'FIN_WAIT_2';
  }

  private processAck(segment: TcpInSegment, dataBytes: number, hasFin: boolean): void {
    const ack = segment.ack;
    // Any ACK answers our zero-window probes: the peer is alive, so probing goes on (RFC 1122 4.2.2.17).
    this.persistProbes = 0;
    if (ack > this.sndMax) {
      // Acknowledges something never sent.
      this.sendAck();
      return;
    }
    let finAcked = false;
    if (ack > this.sndUna) {
      const ackedBytes = ack - this.sndUna;
      // finSeq, not finSent: a timeout clears finSent to resend the FIN, and its ACK must still count.
      finAcked = this.finSeq >= 0 && ack > this.finSeq && this.sndUna <= this.finSeq;
      const dataAcked = Math.min(ackedBytes - (finAcked ? 1 : 0), this.sendQueue.length);
      this.sendQueue.consume(dataAcked);
      this.sendQueueSeq += dataAcked;
      this.sndUna = ack;
      if (this.sndNxt < this.sndUna) this.sndNxt = this.sndUna;
      this.sampleRtt(ack);
      this.retries = 0;
      this.dupAcks = 0;
      this.lastProgressMs = this.nowMs;
      const mss = this.settings.mssBytes;
      this.cwnd += this.cwnd < this.ssthresh ? Math.min(dataAcked, mss) : Math.max(1, Math.floor((mss * mss) / this.cwnd));
      if (this.sndUna === this.sndMax) this.cancelRetransmit();
      else this.armRetransmit();
      if (dataAcked > 0 && this.sendSpace() > 0) this.effects.writable();
    } else if (
      ack === this.sndUna &&
      dataBytes === 0 &&
      !hasFin &&
      segment.windowBytes === this.sndWnd &&
      this.sndMax > this.sndUna
    ) {
      this.dupAcks++;
      if (this.dupAcks === 3) this.fastRetransmit();
    }

    if (segment.seq > this.sndWl1 || (segment.seq === this.sndWl1 && ack >= this.sndWl2)) {
      const wasZero = this.sndWnd === 0;
      this.sndWnd = segment.windowBytes;
      this.sndWl1 = segment.seq;
      this.sndWl2 = ack;
      if (wasZero && this.sndWnd > 0 && this.persisting) {
        this.persisting = false;
        this.persistProbes = 0;
        this.cancelRetransmit();
      }
    }
    if (finAcked) this.ourFinAcked();
    if (!this.isClosed()) this.trySend();
  }

  private ourFinAcked(): void {
    switch (this.state) {
      case 'FIN_WAIT_1':
        this.setState('FIN_WAIT_2');
        if (this.orphaned) this.effects.armTimer('linger', this.settings.finTimeoutMs);
        break;
      case 'CLOSING':
        this.enterTimeWait();
        break;
      case 'LAST_ACK':
        this.finish();
        break;
      default:
        break;
    }
  }

  private processData(seq: number, data: Buffer | undefined, fin: boolean): void {
    if (!this.receivesData()) {
      // Data or FIN after the peer's FIN: a retransmission. In TIME_WAIT, re-ACK and wait again.
      if (fin && this.state === 'TIME_WAIT') this.effects.armTimer('linger', this.settings.timeWaitMs);
      this.sendAck();
      return;
    }
    const window = this.receiveWindow();
    let payload = data ?? NO_DATA;
    let start = seq;
    if (start < this.rcvNxt) {
      const cut = Math.min(this.rcvNxt - start, payload.length);
      payload = payload.subarray(cut);
      start += cut;
    }
    // Keep only what fits in the advertised window; a FIN beyond it waits for a retransmission.
    const room = this.rcvNxt + window - start;
    if (payload.length > room) {
      payload = payload.subarray(0, Math.max(0, room));
      fin = false;
    }
    let progressed = false;
    if (start === this.rcvNxt) {
      if (payload.length > 0) {
        this.receiveQueue.push(payload);
        this.rcvNxt += payload.length;
        this.stats.bytesReceived += payload.length;
        progressed = true;
      }
      if (fin) {
        this.receiveFin();
        progressed = true;
      }
      if (this.drainOutOfOrder()) progressed = true;
    } else if (start > this.rcvNxt && (payload.length > 0 || fin)) {
      this.storeOutOfOrder({ seq: start, data: payload, fin });
    }
    this.sendAck();
    if (progressed) this.effects.readable();
  }

  private storeOutOfOrder(entry: OutOfOrder): void {
    // Bounded by the window: every stored byte lies in [rcvNxt, rcvNxt + window).
    const existing = this.outOfOrder.findIndex((candidate) => candidate.seq === entry.seq);
    if (existing >= 0) {
      const current = this.outOfOrder[existing] as OutOfOrder;
      if (current.data.length >= entry.data.length && (current.fin || !entry.fin)) return;
      this.outOfOrder[existing] = entry;
      return;
    }
    assert(
      entry.seq >= this.rcvNxt && entry.seq + entry.data.length <= this.rcvNxt + this.settings.receiveBufferBytes,
      () => `out-of-order bytes ${entry.seq}+${entry.data.length} outside the window at ${this.rcvNxt}`,
    );
    this.outOfOrder.push(entry);
    this.outOfOrder.sort((a, b) => a.seq - b.seq);
  }

  private drainOutOfOrder(): boolean {
    let progressed = false;
    while (this.outOfOrder.length > 0 && !this.finReceived) {
      const next = this.outOfOrder[0] as OutOfOrder;
      if (next.seq > this.rcvNxt) break;
      this.outOfOrder.shift();
      const endSeq = next.seq + next.data.length;
      if (endSeq > this.rcvNxt) {
        const tail = next.data.subarray(this.rcvNxt - next.seq);
        this.receiveQueue.push(tail);
        this.rcvNxt += tail.length;
        this.stats.bytesReceived += tail.length;
        progressed = true;
      }
      if (next.fin && endSeq >= this.rcvNxt) {
        this.receiveFin();
        progressed = true;
      }
    }
    if (this.finReceived) this.outOfOrder = [];
    return progressed;
  }

  private receiveFin(): void {
    this.rcvNxt += 1;
    this.finReceived = true;
    switch (this.state) {
      case 'ESTABLISHED':
        this.setState('CLOSE_WAIT');
        break;
      case 'FIN_WAIT_1':
        this.setState('CLOSING');
        break;
      case 'FIN_WAIT_2':
        this.enterTimeWait();
        break;
      default:
        break;
    }
  }

  private enterTimeWait(): void {
    this.setState('TIME_WAIT');
    this.cancelRetransmit();
    this.effects.cancelTimer('keepalive');
    this.effects.armTimer('linger', this.settings.timeWaitMs);
  }

  private trySend(): void {
    if (!this.canSend()) return;
    const mss = this.settings.mssBytes;
    const dataEndSeq = this.sendQueueSeq + this.sendQueue.length;
    for (;;) {
      const inFlight = this.sndNxt - this.sndUna;
      const unsent = dataEndSeq - this.sndNxt;
      if (unsent > 0) {
        const room = Math.min(this.cwnd, this.sndWnd) - inFlight;
        if (room <= 0) {
          if (this.sndWnd === 0 && inFlight === 0) this.startPersist();
          break;
        }
        const length = Math.min(mss, unsent, room);
        this.sendData(this.sndNxt, length);
        this.sndNxt += length;
        if (this.sndNxt > this.sndMax) this.sndMax = this.sndNxt;
      } else if (this.finQueued && !this.finSent && unsent === 0) {
        if (this.sndNxt === this.sndUna) this.lastProgressMs = this.nowMs;
        this.finSeq = this.sndNxt;
        this.finSent = true;
        this.emit({ seq: this.sndNxt, ack: this.rcvNxt, flags: TCP_FIN | TCP_ACK, windowBytes: this.advertise() });
        this.sndNxt += 1;
        if (this.sndNxt > this.sndMax) this.sndMax = this.sndNxt;
        if (this.state === 'ESTABLISHED') this.setState('FIN_WAIT_1');
        else if (this.state === 'CLOSE_WAIT') this.setState('LAST_ACK');
        break;
      } else {
        break;
      }
    }
    if (this.sndNxt > this.sndUna && !this.retransmitArmed) this.armRetransmit();
  }

  /** Every byte queued, and our FIN if one was queued, has been acknowledged. */
  private nothingLeftToSend(): boolean {
    if (this.sendQueue.length > 0 || this.sndUna < this.sndMax) return false;
    return !this.finQueued || (this.finSeq >= 0 && this.sndUna > this.finSeq);
  }

  private synchronized(): boolean {
    return this.state !== 'CLOSED' && this.state !== 'SYN_SENT' && this.state !== 'SYN_RECEIVED';
  }

  private canSend(): boolean {
    switch (this.state) {
      case 'ESTABLISHED':
      case 'CLOSE_WAIT':
      case 'FIN_WAIT_1':
      case 'CLOSING':
      case 'LAST_ACK':
        return true;
      default:
        return false;
    }
  }

  private sendData(seq: number, length: number): void {
    const data = this.sendQueue.copy(seq - this.sendQueueSeq, length);
    const retransmission = seq < this.sndMax;
    if (retransmission) this.stats.segmentsRetransmitted++;
    else {
      if (this.sndNxt === this.sndUna) this.lastProgressMs = this.nowMs;
      if (this.rttProbe === undefined) this.rttProbe = { seq: seq + length, sentAtMs: this.nowMs };
      this.stats.bytesSent += length;
    }
    this.emit({ seq, ack: this.rcvNxt, flags: TCP_ACK, windowBytes: this.advertise(), data });
  }

  private sendSyn(withAck: boolean): void {
    this.emit({
      seq: this.iss,
      ack: withAck ? this.rcvNxt : 0,
      flags: withAck ? TCP_SYN | TCP_ACK : TCP_SYN,
      windowBytes: this.advertise(),
    });
    this.armRetransmit();
  }

  private sendAck(): void {
    // snd_max, not sndNxt: after a timeout sndNxt is rewound below what the
    // peer already holds, and an ACK with that sequence number would be
    // refused as outside its window (BSD does the same).
    this.emit({ seq: this.sndMax, ack: this.rcvNxt, flags: TCP_ACK, windowBytes: this.advertise() });
  }

  private emit(segment: TcpOutSegment): void {
    this.stats.segmentsSent++;
    this.effects.send(segment);
  }

  /** The window is the free receive buffer; out-of-order bytes sit inside it, so its right edge never shrinks. */
  private receiveWindow(): number {
    return Math.max(0, this.settings.receiveBufferBytes - this.receiveQueue.length);
  }

  private advertise(): number {
    this.advertisedWindow = this.receiveWindow();
    return this.advertisedWindow;
  }

  private maybeSendWindowUpdate(): void {
    if (!this.receivesData() && this.state !== 'CLOSE_WAIT') return;
    const threshold = Math.min(this.settings.receiveBufferBytes / 2, 2 * this.settings.mssBytes);
    if (this.receiveWindow() - this.advertisedWindow >= threshold) this.sendAck();
  }

  private sampleRtt(ack: number): void {
    const probe = this.rttProbe;
    if (probe === undefined || ack < probe.seq) return;
    this.rttProbe = undefined;
    const sampleMs = Math.max(0, this.nowMs - probe.sentAtMs);
    if (this.srttMs === undefined) {
      this.srttMs = sampleMs;
      this.rttvarMs = sampleMs / 2;
    } else {
      this.rttvarMs = 0.75 * this.rttvarMs + 0.25 * Math.abs(this.srttMs - sampleMs);
      this.srttMs = 0.875 * this.srttMs + 0.125 * sampleMs;
    }
    this.rtoMs = Math.min(this.settings.rtoMaxMs, Math.max(this.settings.rtoMinMs, this.srttMs + Math.max(1, 4 * this.rttvarMs)));
  }

  private armRetransmit(): void {
    let delayMs = this.rtoMs;
    const userTimeoutMs = this.settings.userTimeoutMs;
    if (userTimeoutMs > 0 && this.state !== 'SYN_SENT' && this.state !== 'SYN_RECEIVED') {
      // Like Linux, never sleep past the user timeout.
      delayMs = Math.min(delayMs, Math.max(1, this.lastProgressMs + userTimeoutMs - this.nowMs));
    }
    this.retransmitArmed = true;
    this.effects.armTimer('retransmit', delayMs);
  }

  private cancelRetransmit(): void {
    this.retransmitArmed = false;
    this.effects.cancelTimer('retransmit');
  }

  private onRetransmitTimeout(): void {
    const settings = this.settings;
    if (this.state === 'SYN_SENT' || this.state === 'SYN_RECEIVED') {
      const limit = this.state === 'SYN_SENT' ? settings.synRetries : settings.synAckRetries;
      if (++this.retries > limit) {
        if (this.state === 'SYN_SENT') this.fail('ETIMEDOUT');
        else this.finish();
        return;
      }
      this.stats.timeouts++;
      this.rtoMs = Math.min(this.rtoMs * 2, settings.rtoMaxMs);
      this.rttProbe = undefined;
      this.stats.segmentsRetransmitted++;
      this.sendSyn(this.state === 'SYN_RECEIVED');
      return;
    }
    if (this.sndMax === this.sndUna) return;
    this.retries++;
    // Like Linux, never give up before at least one retransmission.
    const userTimedOut = this.retries > 1 && settings.userTimeoutMs > 0 && this.nowMs - this.lastProgressMs >= settings.userTimeoutMs;
    if (this.retries > settings.retries2 || userTimedOut) {
      this.fail('ETIMEDOUT');
      return;
    }
    this.stats.timeouts++;
    const inFlight = this.sndMax - this.sndUna;
    this.ssthresh = Math.max(Math.floor(inFlight / 2), 2 * settings.mssBytes);
    this.cwnd = settings.mssBytes;
    this.dupAcks = 0;
    this.rttProbe = undefined;
    this.rtoMs = Math.min(this.rtoMs * 2, settings.rtoMaxMs);
    // Go back N: resend from the first unacknowledged byte.
    this.sndNxt = this.sndUna;
    if (this.finSent && this.finSeq >= this.sndUna) this.finSent = false;
    this.trySend();
    if (!this.retransmitArmed) this.armRetransmit();
  }

  private fastRetransmit(): void {
    const mss = this.settings.mssBytes;
    const inFlight = this.sndMax - this.sndUna;
    this.ssthresh = Math.max(Math.floor(inFlight / 2), 2 * mss);
    this.cwnd = this.ssthresh;
    this.stats.fastRetransmits++;
    this.rttProbe = undefined;
    const unackedData = this.sendQueueSeq + this.sendQueue.length - this.sndUna;
    if (unackedData > 0) this.sendData(this.sndUna, Math.min(mss, unackedData));
  }

  private startPersist(): void {
    if (this.persisting) return;
    this.persisting = true;
    this.persistProbes = 0;
    this.retransmitArmed = true;
    this.effects.armTimer('retransmit', this.rtoMs);
  }

  private onPersist(): void {
    if (this.sndWnd > 0) {
      this.persisting = false;
      this.trySend();
      return;
    }
    if (++this.persistProbes > this.settings.retries2) {
      this.fail('ETIMEDOUT');
      return;
    }
    // A probe below the window: the peer answers with its current window.
    this.emit({ seq: this.sndUna - 1, ack: this.rcvNxt, flags: TCP_ACK, windowBytes: this.advertise() });
    this.retransmitArmed = true;
    this.effects.armTimer('retransmit', Math.min(this.rtoMs * 2 ** this.persistProbes, this.settings.rtoMaxMs));
  }

  private onKeepAlive(): void {
    const idleLimitMs = this.keepAliveIdleMs;
    // As on Linux, keepalive also guards a half-closed connection that only waits to receive (FIN_WAIT_2).
    if (idleLimitMs === undefined || !this.synchronized() || this.state === 'TIME_WAIT') return;
    if (this.sndMax > this.sndUna) {
      // Data in flight: retransmission, not keepalive, judges the path.
      this.effects.armTimer('keepalive', idleLimitMs);
      return;
    }
    const idleMs = this.nowMs - this.lastReceiveMs;
    if (this.keepAliveProbesSent === 0 && idleMs < idleLimitMs) {
      this.effects.armTimer('keepalive', idleLimitMs - idleMs);
      return;
    }
    if (this.keepAliveProbesSent >= this.settings.keepAliveProbes) {
      this.fail('ETIMEDOUT');
      return;
    }
    this.keepAliveProbesSent++;
    this.emit({ seq: this.sndUna - 1, ack: this.rcvNxt, flags: TCP_ACK, windowBytes: this.advertise() });
    this.effects.armTimer('keepalive', this.settings.keepAliveIntervalMs);
  }

  private fail(code: TcpErrorCode): void {
    if (this.state === 'CLOSED') return;
    this.stopTimers();
    this.setState('CLOSED');
    this.effects.failed(code);
    this.effects.closed();
  }

  private finish(): void {
    if (this.state === 'CLOSED') return;
    this.stopTimers();
    this.setState('CLOSED');
    this.effects.closed();
  }

  private stopTimers(): void {
    this.retransmitArmed = false;
    this.persisting = false;
    this.effects.cancelTimer('retransmit');
    this.effects.cancelTimer('keepalive');
    this.effects.cancelTimer('linger');
  }

  /** A method, not a comparison, so the compiler does not narrow state across calls that change it. */
  isClosed(): boolean {
    return this.state === 'CLOSED';
  }

  private setState(state: TcpState): void {
    const from = this.state;
    if (from === state) return;
    this.state = state;
    this.effects.stateChanged(from, state);
  }

  private checkInvariants(): void {
    assert(this.sndUna <= this.sndNxt && this.sndNxt <= this.sndMax, () => `send sequence order: una=${this.sndUna} nxt=${this.sndNxt} max=${this.sndMax}`);
    assert(this.sendQueueSeq <= this.sndUna + 1, `send queue starts past the first unacked byte`);
    assert(this.receiveQueue.length <= this.settings.receiveBufferBytes, () => `receive queue ${this.receiveQueue.length} beyond its bound`);
    assert(this.cwnd >= 1, 'congestion window collapsed to zero');
  }
}
