// A simulated etcd member: the Raft driver (WAL on the host's disk, peers on
// port 2380), the key-value state machine it applies committed commands to,
// and etcd's v3 JSON gateway on port 2379.
//
// Requests as etcd serves them:
// - writes (put, delete, txn, compaction, lease grant and revoke) are
//   proposed and answered once applied here;
// - range is linearizable (ReadIndex) unless `serializable`, which answers
//   from this member's state at once, as etcd does;
// - lease keepalive and time-to-live are the leader's own business;
// - a follower hands what only the leader can do to the leader over HTTP
//   (etcd forwards proposals over its peer transport; the outcome for the
//   client is the same), once: a forwarded request is never forwarded again;
// - a request that does not settle within REQUEST_TIMEOUT_MS gets etcd's
//   "request timed out": on the minority side of a partition, writes fail.
// Watches are served from this member's state, as etcd's are.
import { createHash } from 'node:crypto';
import type { Platform, Service } from '../../../src/runtime/platform/types.js';
import { httpRequest, serveHttp, type HttpBodyResponse, type HttpServer, type HttpServerResponse, type HttpStreamResponse } from '../../../src/runtime/net/http1/index.js';
import { EtcdKvError, EtcdKvStore, KvWatchStream, type KvCommand, type KvOutcome, type LeaseId } from '../kv/index.js';
import {
  ETCD_MEMBER_STATUS,
  decodeRequest,
  encodeErrorBody,
  encodeOutcome,
  encodeStreamLine,
  encodeResponseFields,
  encodeWatchLine,
  endpointOfPath,
  errorResponseFor,
  GatewayRequestError,
  type EtcdStatus,
  type GatewayEndpoint,
  type GatewayHeaderContext,
  type GatewayHttpResponse,
  type WatchRequest,
} from '../../../src/runtime/etcd/gateway/index.js';
import { isPlanted } from '../../../src/runtime/testing/planted-bugs.js';
import { RaftDriver, type Refusal } from './raft-driver.js';
import { PeerTransport } from './peer-transport.js';
import { WalRaftStorage } from './wal.js';
import { CLIENT_PORT, parseEtcdFlags, type EtcdMemberFlags } from './flags.js';

/** etcd's default request timeout is 5 s plus twice the election timeout; near enough. */
const REQUEST_TIMEOUT_MS = 7_000;
const FORWARD_TIMEOUT_MS = 6_000;
/** How often the leader looks for expired leases (etcd's revoke loop: 500 ms). */
const LEASE_CHECK_INTERVAL_MS = 500;
const FORWARDED_HEADER = 'x-pf9lab-forwarded-by';
/** Watch streams open at once on one member, at most. */
const WATCH_STREAMS_MAX = 256;

export async function etcdMemberMain(platform: Platform, args: readonly string[]): Promise<Service> {
  const member = await EtcdMember.start(platform, parseEtcdFlags(args));
  return { stop: () => member.stop() };
}

interface ActiveWatch {
  stream: KvWatchStream;
  write(line: string): boolean;
  end(): void;
}

type Answer = HttpBodyResponse & { body: string };

export class EtcdMember {
  private readonly store = new EtcdKvStore();
  private readonly watches = new Set<ActiveWatch>();
  private readonly revoking = new Set<LeaseId>();
  private driver!: RaftDriver;
  private transport!: PeerTransport;
  private server!: HttpServer;
  private leaseTimer: ReturnType<Platform['clock']['setInterval']> | undefined;
  private readonly clusterId: string;
  private readonly memberId: string;

  private constructor(
    private readonly platform: Platform,
    private readonly flags: EtcdMemberFlags,
  ) {
    this.clusterId = uint64Of(`cluster:${[...flags.cluster].map(([name, ip]) => `${name}=${ip}`).join(',')}`);
    this.memberId = uint64Of(`member:${flags.name}`);
  }

  static async start(platform: Platform, flags: EtcdMemberFlags): Promise<EtcdMember> {
    const member = new EtcdMember(platform, flags);
    const { name, cluster } = flags;
    member.transport = await PeerTransport.start(platform, {
      self: name,
      peers: new Map([...cluster].filter(([peer]) => peer !== name)),
      listenHost: cluster.get(name) as string,
      onMessage: (message) => member.driver?.receive(message),
      log: platform.log,
    });
    member.driver = await RaftDriver.start({
      config: { id: name, members: [...cluster.keys()], heartbeatIntervalMs: flags.heartbeatIntervalMs, electionTimeoutMs: flags.electionTimeoutMs },
      random: platform.random,
      clock: platform.clock,
      storage: new WalRaftStorage(platform.files, flags.dataDir),
      send: (message) => member.transport.send(message),
      apply: (_index, command) => member.apply(command),
      onLeadership: (leadership) => {
        if (leadership.role === 'leader') member.store.promoteLeases(platform.clock.now(), flags.electionTimeoutMs);
        else member.store.demoteLeases();
      },
      log: platform.log,
    });
    member.server = await serveHttp(platform, { host: '0.0.0.0', port: CLIENT_PORT }, (request) =>
      member.handle(request.path, request.method, request.body.toString('utf8'), request.headers),
    );
    member.leaseTimer = platform.clock.setInterval(() => member.revokeExpiredLeases(), LEASE_CHECK_INTERVAL_MS);
    platform.log.info('etcd.started', { member: name, members: [...cluster.keys()].join(',') });
    return member;
  }

  async stop(): Promise<void> {
    this.platform.clock.clearTimer(this.leaseTimer);
    for (const watch of this.watches) watch.end();
    this.watches.clear();
    this.driver.stop();
    await this.server.close();
    await this.transport.close();
  }

  private headerContext(): GatewayHeaderContext {
    return { clusterId: this.clusterId, memberId: this.memberId, raftTerm: this.driver.leadership.term };
  }

  /** A committed command, applied in log order on every member. */
  private apply(commandText: string): KvOutcome {
    const outcome = this.store.apply(JSON.parse(commandText) as unknown, this.platform.clock.now());
    if (outcome.ok && outcome.response.type === 'leaseRevoke') this.revoking.clear();
    this.flushWatches();
    return outcome;
  }

  private async handle(path: string, method: string, body: string, headers: Readonly<Record<string, string>>): Promise<HttpServerResponse> {
    const endpoint = endpointOfPath(path);
    if (endpoint === undefined) return json({ httpStatus: 404, body: JSON.stringify({ error: 'Not Found', message: 'Not Found', code: 5 }) });
    if (method !== 'POST') return json({ httpStatus: 405, body: JSON.stringify({ error: 'Method Not Allowed', message: 'Method Not Allowed', code: 12 }) });
    let decoded;
    try {
      decoded = decodeRequest(endpoint, body);
    } catch (error) {
      if (error instanceof GatewayRequestError || error instanceof EtcdKvError) return json(errorResponseFor(error, endpoint));
      throw error;
    }
    const forwarded = headers[FORWARDED_HEADER] !== undefined;
    switch (decoded.kind) {
      case 'watch':
        return this.watch(decoded.requests);
      case 'keepalive':
        return this.leaderOnly(path, body, forwarded, async () => {
          const lines = decoded.commands.map((command) => {
            const outcome = this.store.apply(command, this.platform.clock.now());
            return outcome.ok ? encodeStreamLine(encodeResponseFields(outcome.response, this.headerContext())) : errorResponseFor(outcome.error, endpoint).body + '\n';
          });
          return { status: 200, headers: { 'content-type': 'application/json' }, body: lines.join('') };
        });
      case 'unary':
        return this.unary(endpoint, decoded.command, path, body, forwarded);
    }
  }

  private async unary(endpoint: GatewayEndpoint, command: KvCommand, path: string, body: string, forwarded: boolean): Promise<Answer> {
    if (command.type === 'range' && command.serializable === true) return json(encodeOutcome(this.store.apply(command, this.platform.clock.now()), endpoint, this.headerContext()));
    if (command.type === 'leaseKeepAlive' || command.type === 'leaseTimeToLive') {
      return this.leaderOnly(path, body, forwarded, async () => json(encodeOutcome(this.store.apply(command, this.platform.clock.now()), endpoint, this.headerContext())));
    }
    if (command.type === 'range') {
      if (isPlanted('etcd-read-without-quorum')) return json(encodeOutcome(this.store.apply(command, this.platform.clock.now()), endpoint, this.headerContext()));
      const barrier = await this.withTimeout(this.driver.readBarrier());
      if (barrier.ok) return json(encodeOutcome(this.store.apply(command, this.platform.clock.now()), endpoint, this.headerContext()));
      return this.refused(barrier, path, body, forwarded);
    }
    const proposal = await this.withTimeout(this.driver.propose(JSON.stringify(command)));
    if (proposal.ok) return json(encodeOutcome(proposal.response as KvOutcome, endpoint, this.headerContext()));
    return this.refused(proposal, path, body, forwarded);
  }

  /** What the leader must answer itself: here if this member leads, else at the leader. */
  private async leaderOnly(path: string, body: string, forwarded: boolean, answer: () => Promise<Answer>): Promise<Answer> {
    if (this.driver.leadership.isLeader) return answer();
    return this.refused({ ok: false, code: 'ERR_RAFT_NOT_LEADER', leaderHint: this.driver.leadership.leaderId }, path, body, forwarded);
  }

  private async refused(refusal: Refusal, path: string, body: string, forwarded: boolean): Promise<Answer> {
    switch (refusal.code) {
      case 'ERR_RAFT_NOT_LEADER': {
        const leaderIp = refusal.leaderHint === undefined ? undefined : this.flags.cluster.get(refusal.leaderHint);
        if (leaderIp === undefined || forwarded || refusal.leaderHint === this.flags.name) return status(ETCD_MEMBER_STATUS.noLeader);
        return this.forward(leaderIp, path, body);
      }
      case 'ERR_ETCD_PROPOSAL_LOST':
        return status(ETCD_MEMBER_STATUS.timeoutDueToLeaderFail);
      case 'ERR_ETCD_TIMEOUT':
        return status(ETCD_MEMBER_STATUS.timeout);
      case 'ERR_ETCD_STOPPED':
        return status(ETCD_MEMBER_STATUS.stopped);
      default:
        return status(ETCD_MEMBER_STATUS.tooManyRequests);
    }
  }

  private async forward(leaderIp: string, path: string, body: string): Promise<Answer> {
    try {
      const response = await httpRequest(this.platform, {
        host: leaderIp,
        port: CLIENT_PORT,
        method: 'POST',
        path,
        body,
        headers: { 'content-type': 'application/json', [FORWARDED_HEADER]: this.flags.name },
        timeoutMs: FORWARD_TIMEOUT_MS,
      });
      return { status: response.status, headers: { 'content-type': 'application/json' }, body: response.body.toString('utf8') };
    } catch {
      return status(ETCD_MEMBER_STATUS.timeoutDueToConnectionLost);
    }
  }

  private withTimeout<T extends { ok: boolean }>(pending: Promise<T>): Promise<T | { ok: false; code: 'ERR_ETCD_TIMEOUT' }> {
    return new Promise((resolve) => {
      const timer = this.platform.clock.setTimeout(() => resolve({ ok: false, code: 'ERR_ETCD_TIMEOUT' }), REQUEST_TIMEOUT_MS);
      void pending.then((result) => {
        this.platform.clock.clearTimer(timer);
        resolve(result);
      });
    });
  }

  private watch(requests: readonly WatchRequest[]): HttpServerResponse {
    if (this.watches.size >= WATCH_STREAMS_MAX) return json(encodeErrorBody(ETCD_MEMBER_STATUS.tooManyRequests));
    const stream = new KvWatchStream(this.store);
    const response: HttpStreamResponse = {
      status: 200,
      headers: { 'content-type': 'application/json' },
      stream: (write, end, onClose) => {
        const watch: ActiveWatch = { stream, write, end };
        this.watches.add(watch);
        onClose(() => this.watches.delete(watch));
        for (const request of requests) {
          const response = request.type === 'create' ? stream.create(request.create) : request.type === 'cancel' ? stream.cancel(request.watchId) : stream.progress();
          if (response !== undefined) write(encodeWatchLine(response, this.headerContext()));
        }
        this.flushWatch(watch);
      },
    };
    return response;
  }

  private flushWatches(): void {
    for (const watch of this.watches) this.flushWatch(watch);
  }

  private flushWatch(watch: ActiveWatch): void {
    if (!watch.stream.hasPending) return;
    for (const response of watch.stream.poll()) watch.write(encodeWatchLine(response, this.headerContext()));
  }

  private revokeExpiredLeases(): void {
    if (!this.driver.leadership.isLeader) return;
    for (const id of this.store.expiredLeases(this.platform.clock.now())) {
      if (this.revoking.has(id)) continue;
      this.revoking.add(id);
      void this.driver.propose(JSON.stringify({ type: 'leaseRevoke', id } satisfies KvCommand)).then(() => this.revoking.delete(id));
    }
  }
}

function json(response: GatewayHttpResponse): Answer {
  return { status: response.httpStatus, headers: { 'content-type': 'application/json' }, body: response.body };
}

function status(etcdStatus: EtcdStatus): Answer {
  return json(encodeErrorBody(etcdStatus));
}

/** A stable uint64 as decimal text, as etcd's ids are (etcd hashes its configuration too). */
function uint64Of(text: string): string {
  return createHash('sha256').update(text).digest().readBigUInt64BE(0).toString();
}
