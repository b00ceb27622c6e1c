// An etcd v3 client over the JSON gateway (POST /v3/...), for the apiserver
// stand-in. The same code talks to the simulated member and to Debian's etcd
// 3.4: both speak the gateway's JSON, which src/runtime/etcd/gateway encodes.
//
// A failed request says whether its command may still have taken effect,
// because histories and retries depend on it: a request refused before it
// was proposed ("no leader", a state-machine refusal, a connection never
// made) certainly did not; one that timed out or lost its connection after
// being sent may have ("request timed out" in etcd means exactly that).
import type { Platform } from '../platform/types.js';
import { HttpError, httpRequest, httpStream, type HttpStream } from '../net/http1/index.js';
import type { KvCommand, ResponseFor, WatchCreateRequest, WatchResponse } from './api/index.js';
import {
  ETCD_MEMBER_STATUS,
  decodeErrorBody,
  decodeKeepAliveResult,
  decodeResponseBody,
  decodeStreamLine,
  decodeWatchResult,
  encodeRequest,
  encodeWatchRequest,
  type EtcdStatus,
} from './gateway/index.js';

export type EtcdClientErrorCode = 'ERR_ETCD_CLIENT_REFUSED' | 'ERR_ETCD_CLIENT_UNAVAILABLE' | 'ERR_ETCD_CLIENT_PROTOCOL';

export class EtcdClientError extends Error {
  constructor(
    readonly code: EtcdClientErrorCode,
    /** 'failed': the command certainly did not take effect; 'unknown': it may have. */
    readonly outcome: 'failed' | 'unknown',
    message: string,
    readonly status?: EtcdStatus,
  ) {
    super(`${code}: ${message}`);
    this.name = 'EtcdClientError';
  }
}

export interface EtcdClientOptions {
  host: string;
  port: number;
  /** Per request; the member's own timeout (7 s) should come first. */
  timeoutMs: number;
}

/**
 * Statuses with which etcd says the request was not carried out. Not
 * "server stopped": etcd also answers it to a proposal already in flight,
 * which may still commit.
 */
const REFUSED_BEFORE_PROPOSING = new Set([ETCD_MEMBER_STATUS.noLeader.message, ETCD_MEMBER_STATUS.notLeader.message, ETCD_MEMBER_STATUS.tooManyRequests.message]);

export class EtcdClient {
  constructor(
    private readonly platform: Platform,
    private readonly options: EtcdClientOptions,
  ) {}

  async request<C extends KvCommand>(command: C): Promise<ResponseFor<C>> {
    const { endpoint, path, body } = encodeRequest(command);
    if (endpoint === 'watch') throw new Error('EtcdClient.request: use watch() for /v3/watch');
    let response;
    try {
      response = await httpRequest(this.platform, { host: this.options.host, port: this.options.port, method: 'POST', path, body, headers: { 'content-type': 'application/json' }, timeoutMs: this.options.timeoutMs });
    } catch (error) {
      throw transportError(error, command);
    }
    const text = response.body.toString('utf8');
    if (response.status !== 200) {
      const status = readStatus(text);
      // A state-machine refusal (4xx) or etcd saying it did not propose: nothing happened.
      const failed = response.status < 500 || (status !== undefined && REFUSED_BEFORE_PROPOSING.has(status.message)) || isReadOnly(command);
      throw new EtcdClientError(
        failed ? 'ERR_ETCD_CLIENT_REFUSED' : 'ERR_ETCD_CLIENT_UNAVAILABLE',
        failed ? 'failed' : 'unknown',
        `${path}: HTTP ${response.status}: ${status?.message ?? text.slice(0, 200)}`,
        status,
      );
    }
    try {
      if (endpoint !== 'lease.keepalive') return decodeResponseBody(endpoint, text).response as ResponseFor<C>;
      // A stream endpoint: one request in the body, so one line back, and the stream ends with the body.
      const line = decodeStreamLine(text.split('\n').find((candidate) => candidate.trim() !== '') ?? '');
      if ('error' in line) throw new EtcdClientError('ERR_ETCD_CLIENT_REFUSED', 'failed', `${path}: ${line.error.message}`, line.error);
      return decodeKeepAliveResult(line.result).response as ResponseFor<C>;
    } catch (error) {
      if (error instanceof EtcdClientError) throw error;
      throw new EtcdClientError('ERR_ETCD_CLIENT_PROTOCOL', isReadOnly(command) ? 'failed' : 'unknown', `${path}: ${(error as Error).message}`);
    }
  }

  /** A watch; `onResponse` hears every response after the "created" one. Close it to stop. */
  watch(create: WatchCreateRequest, onResponse: (response: WatchResponse) => void, onEnd: (error?: Error) => void): { close(): void } {
    const stream: HttpStream = httpStream(this.platform, {
      host: this.options.host,
      port: this.options.port,
      method: 'POST',
      path: '/v3/watch',
      body: encodeWatchRequest({ type: 'create', create }),
      headers: { 'content-type': 'application/json' },
      timeoutMs: this.options.timeoutMs,
    });
    void (async () => {
      for await (const line of stream.lines) {
        const decoded = decodeStreamLine(line);
        if ('error' in decoded) throw new EtcdClientError('ERR_ETCD_CLIENT_UNAVAILABLE', 'failed', `watch: ${decoded.error.message}`, decoded.error);
        onResponse(decodeWatchResult(decoded.result).response);
      }
    })().then(
      () => onEnd(),
      (error: unknown) => onEnd(error instanceof Error ? error : new Error(String(error))),
    );
    return { close: () => stream.close() };
  }
}

function isReadOnly(command: KvCommand): boolean {
  return command.type === 'range' || command.type === 'leaseTimeToLive';
}

function readStatus(body: string): EtcdStatus | undefined {
  try {
    return decodeErrorBody(body);
  } catch {
    return undefined;
  }
}

function transportError(error: unknown, command: KvCommand): EtcdClientError {
  if (error instanceof HttpError && error.code === 'ERR_HTTP_CONNECT') {
    return new EtcdClientError('ERR_ETCD_CLIENT_REFUSED', 'failed', `cannot reach etcd: ${error.message}`);
  }
  // Sent, then the answer never came: a write may have been applied.
  return new EtcdClientError('ERR_ETCD_CLIENT_UNAVAILABLE', isReadOnly(command) ? 'failed' : 'unknown', error instanceof Error ? error.message : String(error));
}
