// Reaching the DU for one tunnel: TCP directly or through the HTTP proxy
// (CONNECT, Basic auth), then TLS 1.3 with our client certificate and the
// service's SNI, verifying the DU by our CA and by du.serverName (not by the
// SNI, which only picks the backend). Resolves once secureConnect has come
// and the DU's certificate passed; every failure rejects with a classified
// TunnelError and leaves nothing open.
//
// Time (src/runtime/pki/README.md): OpenSSL judges certificate validity on
// the real wall clock, the simulation runs on a virtual one. So OpenSSL does
// not decide (rejectUnauthorized: false); after secureConnect the PKI's
// verifyPeerCertificate judges the DU's certificate on the platform clock,
// then OpenSSL's verdict counts unless it is only about time. This is done
// before the promise resolves, and nothing writes to the TLS socket before
// that: the relay (which pipes the local client in) starts only afterwards.
import type { EventEmitter } from 'node:events';
import type { SecureContext, TLSSocket } from 'node:tls';
import { OPENSSL_TIME_ERRORS, PkiError, verifyPeerCertificate } from '../pki/index.js';
import type { Platform, StreamSocket } from '../platform/types.js';
import { PlatformError, errorCode } from '../platform/errors.js';
import { dialViaProxy } from '../proxy/connect-client.js';
import type { CommsConfig } from './config.js';
import type { Credentials } from './credentials.js';
import { TunnelError, classifyRemoteFailure, describeError, type FailurePhase } from './failure.js';

export interface DuConnection {
  tls: TLSSocket;
  /** The TCP stream under the TLS: reset it to fail the tunnel towards the DU. */
  raw: StreamSocket;
  /** True once the DU sent a TLS 1.3 session ticket: it accepted our certificate. */
  readonly ticketSeen: () => boolean;
}

export interface DialRequest {
  platform: Platform;
  config: CommsConfig;
  credentials: Credentials;
  sni: string;
}

export async function dialDu(request: DialRequest): Promise<DuConnection> {
  const raw = await dialTcp(request).catch((error: unknown) => {
    throw asTunnelError('dial', error);
  });
  // A relay passes on what it got at once: Nagle would hold a small request back for the DU's delayed ACK.
  raw.setNoDelay(true);
  return handshake(request, raw);
}

function dialTcp({ platform, config }: DialRequest): Promise<StreamSocket> {
  const { du, proxy, limits } = config;
  if (proxy !== undefined) {
    return dialViaProxy(platform.streams, platform.clock, {
      proxy: { host: proxy.host, port: proxy.port },
      target: { host: du.host, port: du.port },
      ...(proxy.auth === undefined ? {} : { auth: proxy.auth }),
      allowHalfOpen: true,
      keepAliveIdleMs: limits.keepAliveIdleMs,
      timeoutMs: limits.dialTimeoutMs,
    });
  }
  return connectDirect(platform, du.host, du.port, limits);
}

function connectDirect(platform: Platform, host: string, port: number, limits: CommsConfig['limits']): Promise<StreamSocket> {
  const timeoutMs = limits.dialTimeoutMs;
  const socket = platform.streams.connect({ host, port, allowHalfOpen: true, keepAliveIdleMs: limits.keepAliveIdleMs });
  return new Promise<StreamSocket>((resolve, reject) => {
    const finish = (error: Error | undefined): void => {
      platform.clock.clearTimer(timer);
      socket.off('connect', onConnect);
      socket.off('error', onError);
      if (error === undefined) return resolve(socket);
      socket.on('error', () => undefined);
      socket.destroy();
      reject(error);
    };
    const onConnect = (): void => finish(undefined);
    const onError = (error: Error): void => finish(error);
    const timer = platform.clock.setTimeout(() => {
      finish(new PlatformError('ETIMEDOUT', `no connection to ${host}:${port} within ${timeoutMs} ms`, { address: host, port }));
    }, timeoutMs);
    socket.once('connect', onConnect);
    socket.once('error', onError);
  });
}

/**
 * One TLS context per credential set (a reload makes a new set), shared by
 * its tunnels: building one parses the key and the certificates, about a
 * millisecond and some memory per tunnel otherwise.
 */
const secureContexts = new WeakMap<Credentials, SecureContext>();

function secureContextFor(platform: Platform, credentials: Credentials): SecureContext {
  let context = secureContexts.get(credentials);
  if (context === undefined) {
    context = platform.tls.createSecureContext({ ca: credentials.caPem, cert: credentials.certPem, key: credentials.keyPem, minVersion: 'TLSv1.3' });
    secureContexts.set(credentials, context);
  }
  return context;
}

function handshake({ platform, config, credentials, sni }: DialRequest, raw: StreamSocket): Promise<DuConnection> {
  const serverName = config.du.serverName;
  let tls: TLSSocket;
  try {
    tls = platform.tls.connect({
      socket: raw,
      servername: sni,
      secureContext: secureContextFor(platform, credentials),
      // OpenSSL's verdict (real clock) is not final: see checkDuCertificate.
      rejectUnauthorized: false,
      // The name is the PKI's check (du.serverName, not the SNI): authorizationError is OpenSSL's alone.
      checkServerIdentity: () => undefined,
      handshakeTimeoutMs: config.limits.handshakeTimeoutMs,
    });
  } catch (error) {
    // createSecureContext refused the credentials (they were checked at load, so this is rare).
    raw.destroy();
    return Promise.reject(new TunnelError('credentials', describeError(error), errorCode(error)));
  }
  let ticket = false;
  // TLS 1.3 sends tickets only after the server has accepted the client's
  // Finished and certificate: a ticket is the DU's "yes" (see relay.ts).
  tls.on('session', () => {
    ticket = true;
  });
  return new Promise<DuConnection>((resolve, reject) => {
    const onSecure = (): void => {
      tls.off('error', onError);
      raw.off('error', onError);
      tls.off('close', onClose);
      // Synchronously, before resolving: no client byte can reach the TLS socket before this passes.
      const refusal = checkDuCertificate(tls, credentials, platform.clock.now(), serverName);
      if (refusal !== undefined) {
        failBoth(tls, raw);
        reject(refusal);
        return;
      }
      resolve({ tls, raw, ticketSeen: () => ticket });
    };
    const onError = (error: Error): void => {
      tls.off('secureConnect', onSecure);
      tls.off('close', onClose);
      failBoth(tls, raw);
      reject(asTunnelError('handshake', error, { viaProxy: config.proxy !== undefined }));
    };
    const onClose = (): void => onError(new PlatformError('ECONNRESET', 'DU closed the connection during the TLS handshake'));
    tls.once('secureConnect', onSecure);
    tls.once('error', onError);
    raw.once('error', onError);
    tls.once('close', onClose);
  });
}

/**
 * The DU's certificate, as the DU gateway judges its clients (du/gateway.ts):
 * the PKI's verdict first — issued by our CA, both inside their windows on
 * the platform clock, serverAuth, names du.serverName (SAN) — then OpenSSL's
 * errors other than time (its time verdict is on the real clock). In this
 * order the reported failure never depends on the real date.
 */
function checkDuCertificate(tls: TLSSocket, credentials: Credentials, nowMs: number, serverName: string): TunnelError | undefined {
  // Only the leaf's DER is needed: getPeerCertificate(true) also builds the issuer chain (about 0.3 ms a tunnel).
  const der = tls.getPeerCertificate().raw as Buffer | undefined;
  if (der === undefined || der.length === 0) return new TunnelError('server-untrusted', 'the DU presented no certificate');
  try {
    verifyPeerCertificate(der, { caCertificate: credentials.caCertificate, nowMs, purpose: 'serverAuth', expectedName: serverName });
  } catch (error) {
    const code = error instanceof PkiError ? error.code : errorCode(error);
    return new TunnelError('server-untrusted', `DU certificate: ${describeError(error)}`, code);
  }
  const openSslError = tls.authorizationError === null || tls.authorizationError === undefined ? undefined : String(tls.authorizationError);
  if (openSslError !== undefined && !OPENSSL_TIME_ERRORS.has(openSslError)) {
    return new TunnelError('server-untrusted', `DU certificate: OpenSSL: ${openSslError}`, openSslError);
  }
  return undefined;
}

/** Resets the TCP under a TLS socket and destroys both, swallowing their late errors. */
export function failBoth(tls: TLSSocket, raw: StreamSocket): void {
  tls.on('error', () => undefined);
  raw.on('error', () => undefined);
  if (!raw.destroyed) raw.resetAndDestroy();
  if (!tls.destroyed) tls.destroy();
}

export function asTunnelError(phase: FailurePhase, error: unknown, path: { viaProxy?: boolean } = {}): TunnelError {
  if (error instanceof TunnelError) return error;
  const code = errorCode(error);
  return new TunnelError(classifyRemoteFailure(phase, error, path), `${phase}: ${describeError(error)}`, code);
}

/**
 * Through the proxy, before the relay starts (so before any client byte is
 * written to the DU): waits for the DU's confirmation — a TLS 1.3 session
 * ticket — for at most `timeoutMs`. An end or reset meanwhile is
 * 'ambiguous-reset' (a refusing DU or a dying proxy), which the dial loop may
 * retry without risk of duplicating anything. Resolves with the connection
 * when the ticket comes, when the wait runs out (a DU that sends no tickets:
 * the relay starts anyway, and a later end is clean only if the DU has spoken
 * by then, see relay.ts), or when `signal` aborts (the caller checks it);
 * rejects with a TunnelError after resetting both sockets.
 */
export function awaitConfirmation(connection: DuConnection, clock: Platform['clock'], timeoutMs: number, signal: AbortSignal): Promise<DuConnection> {
  const { tls, raw } = connection;
  if (signal.aborted) return Promise.resolve(connection);
  return new Promise<DuConnection>((resolve, reject) => {
    const settle = (): void => {
      cleanup();
      resolve(connection);
    };
    // Resolve from a timer, never inside 'session': Node emits it while it is
    // still processing the records it read, and a record written from there
    // (synchronously, in a microtask or in nextTick) never reaches the peer
    // intact — the DU then fails the next one with bad_record_mac. The
    // listeners stay until then, so an end or an error in between is still
    // judged here.
    const onConfirmed = (): void => {
      tls.off('session', onConfirmed);
      clock.clearTimer(timer);
      timer = clock.setTimeout(settle, 0);
    };
    const onError = (error: Error | undefined): void => {
      cleanup();
      failBoth(tls, raw);
      reject(asTunnelError('unconfirmed', error, { viaProxy: true }));
    };
    const onEnd = (): void => onError(undefined);
    // Once TLS owns the TCP stream (the real platform), only the TLS socket reports the DU's end.
    const listeners: [EventEmitter, string, (error?: Error) => void][] = [
      [tls, 'session', onConfirmed],
      [tls, 'error', onError],
      [tls, 'end', onEnd],
      [tls, 'close', onEnd],
      [raw, 'error', onError],
      [raw, 'end', onEnd],
      [raw, 'close', onEnd],
    ];
    const cleanup = (): void => {
      clock.clearTimer(timer);
      for (const [emitter, event, listener] of listeners) emitter.off(event, listener);
      signal.removeEventListener('abort', settle);
    };
    // Timing out leaves the connection as it is: claiming a ticket here would let a refusal that is still on its way end the tunnel cleanly.
    let timer = clock.setTimeout(settle, timeoutMs);
    for (const [emitter, event, listener] of listeners) emitter.once(event, listener);
    signal.addEventListener('abort', settle, { once: true });
    if (connection.ticketSeen()) onConfirmed();
  });
}
