// One client connection to the proxy, from accept to close:
//
//   head ──request──▶ (auth, allowlist) ──▶ dialling ──connect──▶ tunnel ──▶ closed
//     │                    │                   │
//     └──error/timeout─────┴───────────────────┴──▶ refusing ──▶ closed
//
// Every decision is one log event with a stable name and reason, and one
// counter in the service's stats.
import type { Clock, Log, Platform, StreamSocket, TimerHandle } from '../platform/types.js';
import { errorCode } from '../platform/errors.js';
import type { BasicAuthChecker } from './basic-auth.js';
import { proxyAuthenticateChallenge } from './basic-auth.js';
import { ConnectRequestParser } from './connect-request.js';
import type { ConnectRequest } from './connect-request.js';
import type { ResolvedProxyConfig } from './proxy-config.js';
import { connectionEstablished, formatRefusal } from './responses.js';
import type { ProxyStatus } from './responses.js';
import { openRelay, socketEndpoint, type Relay, type RelayDirection, type RelayResult } from '../net/relay.js';

/** What a connection needs from its service. */
export interface ConnectionContext {
  platform: Platform;
  config: ResolvedProxyConfig;
  checkAuth: BasicAuthChecker | undefined;
  log: Log;
  recordStatus(status: ProxyStatus): void;
  recordBytes(direction: RelayDirection, byteCount: number): void;
  tunnelOpened(): void;
  tunnelClosed(): void;
  /** Called once, when the client connection and any target connection are gone. */
  connectionClosed(connection: ProxyConnection): void;
}

export type ConnectionPhase = 'head' | 'dialling' | 'tunnel' | 'refusing' | 'closed';

/**
 * After a refusal the proxy reads and discards what the client still sends,
 * for at most this long, before closing. Closing with unread bytes would send
 * a reset that can overtake the response.
 */
export const refusalLingerMs = 1_000;

export class ProxyConnection {
  readonly #context: ConnectionContext;
  readonly #client: StreamSocket;
  readonly #clock: Clock;
  readonly #log: Log;
  readonly #parser: ConnectRequestParser;
  #phase: ConnectionPhase = 'head';
  #timer: TimerHandle | undefined;
  #target: StreamSocket | undefined;
  #tunnel: Relay<'target'> | undefined;
  readonly #onHeadData = (chunk: Buffer): void => this.#parse(chunk);

  constructor(context: ConnectionContext, client: StreamSocket, connectionId: number) {
    this.#context = context;
    this.#client = client;
    this.#clock = context.platform.clock;
    this.#log = context.log.child({ connectionId, client: `${client.remoteAddress ?? '?'}:${client.remotePort ?? '?'}` });
    this.#parser = new ConnectRequestParser({ headBytesMax: context.config.headBytesMax });

    client.on('error', (error) => this.#onClientError(error));
    client.once('close', () => this.#onClientClose());
    client.on('end', () => this.#onClientEnd());
    client.on('data', this.#onHeadData);
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#refuse(408, 'ERR_PROXY_HEAD_TIMEOUT', `no complete request head within ${context.config.headTimeoutMs} ms`);
    }, context.config.headTimeoutMs);
    this.#log.debug('proxy.accepted');
  }

  get phase(): ConnectionPhase {
    return this.#phase;
  }

  /** Tears the connection down (service stop); the close is reported as usual. */
  abort(reason: string): void {
    if (this.#phase === 'closed') return;
    if (this.#tunnel !== undefined) {
      this.#tunnel.abort('stopped');
      return;
    }
    this.#log.info('proxy.aborted', { phase: this.#phase, reason });
    this.#clearTimer();
    this.#target?.destroy();
    if (!this.#client.destroyed) this.#client.destroy();
  }

  // ------------------------------------------------------------ head

  #parse(chunk: Buffer): void {
    if (this.#phase !== 'head') return;
    const result = this.#parser.push(chunk);
    if (result.kind === 'need-more') return;
    if (result.kind === 'error') {
      const allow: [string, string][] = result.status === 405 ? [['Allow', 'CONNECT']] : [];
      this.#refuse(result.status, result.code, result.reason, allow);
      return;
    }
    this.#onRequest(result);
  }

  #onRequest(request: ConnectRequest): void {
    this.#clearTimer();
    // Hold further client bytes in the socket (and, past its buffer, in TCP)
    // until the target answers: backpressure instead of a queue here.
    this.#client.removeListener('data', this.#onHeadData);
    this.#client.pause();
    const target = request.target;

    let username: string | undefined;
    if (this.#context.checkAuth !== undefined) {
      const auth = this.#context.checkAuth(request.headers);
      if (!auth.ok) {
        this.#refuse(407, 'ERR_PROXY_AUTH_REQUIRED', `authentication ${auth.reason}`, [['Proxy-Authenticate', proxyAuthenticateChallenge]], {
          target,
          attemptedUser: auth.username,
        });
        return;
      }
      username = auth.username;
    }
    const allowedPorts = this.#context.config.allowedPorts;
    if (allowedPorts !== undefined && !allowedPorts.has(request.port)) {
      this.#refuse(403, 'ERR_PROXY_PORT_FORBIDDEN', `port ${request.port} is not in the allowlist`, [], { target, username });
      return;
    }
    this.#dial(request, username);
  }

  // ------------------------------------------------------------ dialling

  #dial(request: ConnectRequest, username: string | undefined): void {
    this.#phase = 'dialling';
    const fields = { target: request.target, username };
    const connectTimeoutMs = this.#context.config.connectTimeoutMs;
    const target = this.#context.platform.streams.connect({ host: request.host, port: request.port, allowHalfOpen: true });
    this.#target = target;
    // Stays attached for the socket's life: once the dial is over, errors
    // belong to the tunnel (or to a dial already given up on).
    const onDialError = (error: Error): void => {
      if (this.#phase !== 'dialling') return;
      this.#clearTimer();
      target.destroy();
      const code = errorCode(error) ?? error.name;
      if (code === 'ETIMEDOUT') this.#refuse(504, 'ERR_PROXY_CONNECT_TIMEOUT', `connect to target: ${code}`, [], fields);
      else this.#refuse(502, 'ERR_PROXY_TARGET_UNREACHABLE', `connect to target: ${code}`, [], fields);
    };
    target.on('error', onDialError);
    target.once('connect', () => this.#onTargetConnected(request, target, fields));
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      target.destroy();
      this.#refuse(504, 'ERR_PROXY_CONNECT_TIMEOUT', `no connection to target within ${connectTimeoutMs} ms`, [], fields);
    }, connectTimeoutMs);
  }

  #onTargetConnected(request: ConnectRequest, target: StreamSocket, fields: { target: string; username: string | undefined }): void {
    this.#clearTimer();
    if (this.#phase !== 'dialling') {
      target.destroy();
      return;
    }
    this.#phase = 'tunnel';
    this.#context.recordStatus(200);
    this.#context.tunnelOpened();
    this.#log.info('proxy.tunnel_opened', fields);
    this.#client.write(connectionEstablished);
    this.#tunnel = openRelay(socketEndpoint(this.#client), socketEndpoint(target), {
      clock: this.#clock,
      targetName: 'target',
      idleTimeoutMs: this.#context.config.idleTimeoutMs,
      initialUp: request.rest,
      onBytes: (direction, byteCount) => this.#context.recordBytes(direction, byteCount),
      onClosed: (result) => this.#onTunnelClosed(result, fields),
    });
  }

  #onTunnelClosed(result: RelayResult<'target'>, fields: { target: string; username: string | undefined }): void {
    this.#context.tunnelClosed();
    const level = result.reason === 'completed' ? 'info' : 'warn';
    this.#log[level]('proxy.tunnel_closed', { ...fields, ...result });
    this.#close();
  }

  // ------------------------------------------------------------ refusing

  #refuse(
    status: Exclude<ProxyStatus, 200>,
    code: string,
    reason: string,
    extraHeaders: readonly [string, string][] = [],
    fields: Record<string, string | undefined> = {},
  ): void {
    if (this.#phase === 'refusing' || this.#phase === 'closed' || this.#phase === 'tunnel') return;
    this.#phase = 'refusing';
    this.#clearTimer();
    this.#context.recordStatus(status);
    this.#log[status >= 500 ? 'warn' : 'info']('proxy.refused', { status, code, reason, ...fields });

    const client = this.#client;
    if (client.destroyed) return;
    client.removeListener('data', this.#onHeadData);
    client.on('data', discard);
    client.resume();
    client.end(formatRefusal(status, code, extraHeaders));
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      client.destroy();
    }, refusalLingerMs);
  }

  // ------------------------------------------------------------ client events

  #onClientEnd(): void {
    if (this.#phase === 'head') {
      this.#log.info('proxy.client_gone', { phase: 'head', reason: 'end before a complete request head' });
      this.#clearTimer();
      this.#client.destroy();
    }
    // Refusing: the client closed its side; the socket closes by itself once
    // the refusal is flushed (destroying now could drop it). In the tunnel,
    // the FIN is the tunnel's to pass on.
  }

  #onClientError(error: Error): void {
    if (this.#phase === 'tunnel' || this.#phase === 'closed') return; // the tunnel has its own handler
    this.#log.info('proxy.client_gone', { phase: this.#phase, reason: 'error', code: errorCode(error) ?? error.name });
    this.#client.destroy();
  }

  #onClientClose(): void {
    if (this.#phase === 'tunnel' || this.#phase === 'closed') return; // the tunnel reports its own end
    if (this.#phase === 'dialling') {
      this.#log.info('proxy.client_gone', { phase: 'dialling', reason: 'closed while dialling' });
      this.#target?.destroy();
    }
    this.#close();
  }

  #close(): void {
    if (this.#phase === 'closed') return;
    this.#phase = 'closed';
    this.#clearTimer();
    this.#context.connectionClosed(this);
  }

  #clearTimer(): void {
    this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
  }
}

function discard(): void {
  // Bytes after a refusal are read only so the close is not a reset.
}
