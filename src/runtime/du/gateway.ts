// The DU gateway, haproxy's role in front of the DU: TLS 1.3 on 443 that
// requires a client certificate from the DU CA and checks it against the
// revocation list, then routes by SNI through the service map to a backend
// over plain TCP and relays both ways. It runs on any Platform — simulated in
// the scenarios, real as dist/du-gateway.mjs.
//
// Decisions, in order, once the handshake is done (each refusal is one
// `du.refused` event with its reason and one counter; nothing is read from
// the client and no backend is dialled before all of them pass):
//   1. a client certificate at all (no-client-cert);
//   2. the PKI's `verifyPeerCertificate` on the PLATFORM clock, purpose
//      clientAuth, with the revocation list: a DU host certificate (CN = host
//      id, SAN = host-<id>.pf9lab) issued by the DU CA, within its window and
//      not revoked (cert-expired, cert-not-yet-valid, revoked; anything else,
//      including a certificate that is not a PKI host certificate, bad-cert);
//   3. OpenSSL's verdict, except on time: an `authorizationError` that is not
//      one of the PKI's OPENSSL_TIME_ERRORS is refused (bad-cert). It comes
//      after the PKI's because it names only OpenSSL's last error, which
//      depends on the real date: the refusal's logged detail must not;
//   4. an SNI in the service map (no-sni, unknown-sni) — the backend comes
//      only from the map: never an open proxy;
//   5. under the per-host limit, the host being the host id the PKI returned
//      (per-host-limit).
// Then the backend is dialled (failure or timeout: the client is reset) and
// the relay runs until both sides end or the idle timeout.
//
// A handshake that fails before any of that (Node's 'tlsClientError') is
// refused too, as handshake-timeout, no-client-cert, bad-signature (the
// client's CertificateVerify does not verify with its certificate's key: it
// showed a certificate without holding its key), or tls-error.
//
// Node's tls.Server with `rejectUnauthorized: true` destroys a connection
// whose certificate fails verification without any event, so the gateway
// could not say why it refused. It therefore asks for the certificate
// (`requestCert: true`), lets the handshake finish, and judges the
// certificate itself (decisions 1–3), before anything else happens. OpenSSL
// judges validity on the real wall clock, which in the simulation is not the
// virtual one, so its time verdict is replaced by the PKI's check on
// `platform.clock` (src/runtime/pki/README.md, "Time"); on a real host the two
// clocks agree.
import { constants as cryptoConstants } from 'node:crypto';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import type forge from 'node-forge';
import type { Log, Platform, StreamSocket, TimerHandle } from '../platform/types.js';
import { errorCode } from '../platform/errors.js';
import { readConfigText } from '../config/load.js';
import { ConfigError } from '../config/config-error.js';
import {
  OPENSSL_TIME_ERRORS, PkiError, RevocationList, parseCertificatePem, verifyPeerCertificate, type PeerIdentity,
} from '../pki/index.js';
import { resolveDuGatewayConfig, type DuBackend, type DuGatewayConfig, type ResolvedDuGatewayConfig } from './config.js';
import {
  refusalClose, refusalForHandshakeError, refusalForPkiError, type RefusalReason,
} from './refusal.js';
import { openRelay, socketEndpoint, type Relay, type RelayCloseReason } from '../net/relay.js';
import { readRevocationFile } from './revocation.js';
import { streamUnder } from './tls-stream.js';

export type { DuGatewayConfig } from './config.js';

export interface DuGatewayStats {
  /** TCP connections accepted, including those refused. */
  accepted: number;
  /** TCP connections held now (handshaking, dialling, relaying). */
  connectionsOpen: number;
  /** Tunnels dialling their backend or relaying now. */
  tunnelsOpen: number;
  tunnelsTotal: number;
  /** Bytes client → backend. */
  bytesUp: number;
  /** Bytes backend → client. */
  bytesDown: number;
  refusedByReason: Partial<Record<RefusalReason, number>>;
  /** Dial failures, by error code ('ETIMEDOUT' for the connect timeout). */
  backendFailuresByCode: Record<string, number>;
  /** Tunnels that ran, by how they ended. */
  tunnelsClosedByReason: Partial<Record<RelayCloseReason<'backend'>, number>>;
  /** Entries in the revocation list now in force. */
  revokedSerials: number;
}

export interface DuGateway {
  readonly address: string;
  readonly port: number;
  stats(): DuGatewayStats;
  /** Re-reads the revocation file now (the timer does this every revocationReloadMs). */
  reloadRevocations(): Promise<void>;
  /** Stops accepting, resets every tunnel and pending handshake. */
  stop(): Promise<void>;
}

/** Who the client is, as far as its certificate says. */
interface ClientIdentity {
  subject: string | undefined;
  serial: string | undefined;
  remote: string;
}

/** How long stop() waits for torn-down connections to report their close. */
const stopDrainMsMax = 5_000;

export async function startDuGateway(platform: Platform, config: DuGatewayConfig): Promise<DuGateway> {
  const settings = resolveDuGatewayConfig(config);
  return new Gateway(platform, settings).start();
}

class Gateway {
  readonly #platform: Platform;
  readonly #settings: ResolvedDuGatewayConfig;
  readonly #log: Log;
  /** Accepted TCP streams not yet closed; also what streamUnder trusts. */
  readonly #accepted = new Set<StreamSocket>();
  readonly #relays = new Set<Relay<'backend'>>();
  readonly #tunnelsPerHost = new Map<string, number>();
  readonly #stats: DuGatewayStats = {
    accepted: 0, connectionsOpen: 0, tunnelsOpen: 0, tunnelsTotal: 0, bytesUp: 0, bytesDown: 0,
    refusedByReason: {}, backendFailuresByCode: {}, tunnelsClosedByReason: {}, revokedSerials: 0,
  };
  #revocations: RevocationList = RevocationList.empty();
  /** The DU CA, parsed once at start, for verifyPeerCertificate. */
  #caCertificate: forge.pki.Certificate | undefined;
  #revocationText: string | undefined;
  #revocationTimer: TimerHandle | undefined;
  #reloading: Promise<void> | undefined;
  #stopping = false;
  #onDrained: (() => void) | undefined;

  constructor(platform: Platform, settings: ResolvedDuGatewayConfig) {
    this.#platform = platform;
    this.#settings = settings;
    this.#log = platform.log.child({ component: 'du-gateway' });
  }

  async start(): Promise<DuGateway> {
    const files = this.#platform.files;
    const { tls } = this.#settings;
    // Through readConfigText: a missing or unreadable PEM file is a configuration error naming the file.
    const [cert, key, ca] = await Promise.all([tls.certFile, tls.keyFile, tls.caFile].map((file) => readConfigText(files, file)));
    try {
      this.#caCertificate = parseCertificatePem(ca as string);
    } catch (error) {
      if (error instanceof PkiError) throw new ConfigError('ERR_CONFIG_INVALID', tls.caFile, error.message);
      throw error;
    }
    if (tls.revocationFile !== undefined) {
      const { list, text } = await readRevocationFile(files, tls.revocationFile);
      this.#setRevocations(list, text);
      this.#revocationTimer = this.#platform.clock.setInterval(() => void this.reloadRevocations(), this.#settings.revocationReloadMs);
    }
    const acceptor = this.#platform.tls.createAcceptor({
      cert, key, ca,
      requestCert: true,
      // Judged by the gateway itself (decision 1), so that a refusal has a reason: see the header.
      rejectUnauthorized: false,
      // Stateful session tickets (the ticket is a session id), not OpenSSL's
      // default stateless ones: those carry the encrypted session, whose
      // length varies by a cipher block with the random ticket_age_add, so
      // the size of the handshake's last flight (and the simulation's trace)
      // would depend on OpenSSL's randomness — as ECDSA signatures would
      // (DESIGN.md, "Determinism rules"). Measured, a client certificate for
      // host id "good" from CA "pf9lab DU CA", 40 handshakes: 4 603, 4 619 or
      // 4 635 bytes server to client with stateless tickets, 2 491 every time
      // with stateful ones. TLS 1.3 still sends two NewSessionTickets, so the
      // client's 'session' event (comms' sign that it was accepted) still comes.
      // Nothing resumes either way: comms never offers a session.
      secureOptions: cryptoConstants.SSL_OP_NO_TICKET,
      minVersion: 'TLSv1.3',
      handshakeTimeoutMs: this.#settings.handshakeTimeoutMs,
    });
    acceptor.on('secureConnection', (socket) => this.#onSecure(socket));
    acceptor.on('tlsClientError', (error, socket) => this.#onHandshakeError(error, socket));
    const listener = await this.#platform.streams.listen(
      { host: this.#settings.listen.host, port: this.#settings.listen.port, allowHalfOpen: true },
      (socket) => this.#onConnection(socket, (stream) => acceptor.accept(stream)),
    );
    this.#log.info('du.listening', {
      address: listener.address, port: listener.port, services: [...this.#settings.services.keys()].join(','),
      revocationFile: tls.revocationFile, connectionsPerHostMax: this.#settings.connectionsPerHostMax,
    });
    return {
      address: listener.address,
      port: listener.port,
      stats: () => this.#snapshot(),
      reloadRevocations: () => this.reloadRevocations(),
      stop: async () => {
        if (this.#stopping) return;
        this.#stopping = true;
        this.#platform.clock.clearTimer(this.#revocationTimer);
        await listener.close();
        await this.#drain();
        this.#log.info('du.stopped', { tunnelsTotal: this.#stats.tunnelsTotal, accepted: this.#stats.accepted });
      },
    };
  }

  reloadRevocations(): Promise<void> {
    const file = this.#settings.tls.revocationFile;
    if (file === undefined) return Promise.resolve();
    // One read at a time: a slow disk must not pile reloads up.
    this.#reloading ??= readRevocationFile(this.#platform.files, file)
      .then(({ list, text }) => {
        if (text !== this.#revocationText) this.#setRevocations(list, text);
      })
      .catch((error: unknown) => {
        this.#log.warn('du.revocation_reload_failed', { file, error: (error as Error).message, keptEntries: this.#revocations.size });
      })
      .finally(() => {
        this.#reloading = undefined;
      });
    return this.#reloading;
  }

  #setRevocations(list: RevocationList, text: string): void {
    this.#revocations = list;
    this.#revocationText = text;
    this.#stats.revokedSerials = list.size;
    this.#log.info('du.revocations_loaded', { entries: list.size });
  }

  #snapshot(): DuGatewayStats {
    return {
      ...this.#stats,
      connectionsOpen: this.#accepted.size,
      refusedByReason: { ...this.#stats.refusedByReason },
      backendFailuresByCode: { ...this.#stats.backendFailuresByCode },
      tunnelsClosedByReason: { ...this.#stats.tunnelsClosedByReason },
    };
  }

  // ---------------------------------------------------------------- accept and handshake

  #onConnection(socket: StreamSocket, handshake: (socket: StreamSocket) => void): void {
    this.#stats.accepted += 1;
    socket.on('error', () => undefined);
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    if (this.#stopping || this.#accepted.size >= this.#settings.connectionsMax) {
      this.#refuse(this.#stopping ? 'stopping' : 'connection-limit', { subject: undefined, serial: undefined, remote }, undefined);
      socket.resetAndDestroy();
      return;
    }
    this.#accepted.add(socket);
    // A relay passes on what it got at once: Nagle would hold a small answer back for the peer's delayed ACK (haproxy and stunnel set TCP_NODELAY too).
    socket.setNoDelay(true);
    socket.setKeepAlive(true, this.#settings.keepAliveIdleMs);
    socket.once('close', () => {
      this.#accepted.delete(socket);
      if (this.#accepted.size === 0) this.#onDrained?.();
    });
    handshake(socket);
  }

  #onHandshakeError(error: Error, tlsSocket: TLSSocket): void {
    const stream = streamUnder(tlsSocket, this.#accepted);
    const remote = stream === undefined ? '?' : `${stream.remoteAddress ?? '?'}:${stream.remotePort ?? '?'}`;
    const code = errorCode(error);
    const reason = refusalForHandshakeError(code);
    // Which of OpenSSL's padding checks a bad signature fails depends on the
    // handshake's random bytes, so its code would make the trace random: the
    // detail is the same sentence for all of them (refusal.ts, BAD_SIGNATURE_CODES).
    const detail = reason === 'bad-signature' ? 'CertificateVerify does not verify with the certificate\'s public key' : code ?? error.message;
    this.#refuse(reason, { subject: undefined, serial: undefined, remote }, undefined, detail);
    // The acceptor already destroyed the TLS socket; make the end a reset, as for any certificate failure.
    if (stream !== undefined && !stream.destroyed) stream.resetAndDestroy();
  }

  #onSecure(tlsSocket: TLSSocket): void {
    tlsSocket.on('error', () => undefined);
    const stream = streamUnder(tlsSocket, this.#accepted);
    // Read once: Node builds a new object from the certificate on every call.
    const certificate = tlsSocket.getPeerCertificate();
    const identity = identityOf(certificate, stream);
    const sni = typeof tlsSocket.servername === 'string' && tlsSocket.servername !== '' ? tlsSocket.servername.toLowerCase() : undefined;
    // Only the TCP stream is reset; the TLS socket closes on its own when its
    // stream goes. Destroying both crashes Node 20 (SIGSEGV) when the TLS socket
    // took over a net.Socket's handle (the real platform).
    const reset = (): void => {
      if (stream !== undefined && !stream.destroyed) stream.resetAndDestroy();
      else tlsSocket.destroy();
    };
    if (stream === undefined) {
      // Node moved the wrapped stream: the gateway cannot reset, so it must not relay either.
      this.#log.error('du.internal', { problem: 'no accepted stream under a TLS socket', sni });
      this.#refuse('tls-error', identity, sni);
      tlsSocket.destroy();
      return;
    }
    const decision = this.#decide(tlsSocket, certificate, identity, sni);
    if (decision.kind === 'refuse') {
      this.#refuse(decision.reason, identity, sni, decision.detail);
      if (refusalClose(decision.reason) === 'reset') reset();
      else tlsSocket.destroy(); // closes the stream under it too: a FIN, no close_notify, no byte
      return;
    }
    // Invariant: only a client the PKI verified (unrevoked, on the platform clock) with a mapped SNI gets this far.
    if (decision.peer.hostId !== decision.host || decision.backend !== this.#settings.services.get(sni ?? '')) {
      throw new Error('du-gateway: routing an unauthorized or unmapped connection');
    }
    this.#dial(tlsSocket, reset, decision.host, decision.backend, identity, sni as string);
  }

  #decide(
    tlsSocket: TLSSocket,
    certificate: PeerCertificate,
    identity: ClientIdentity,
    sni: string | undefined,
  ):
    | { kind: 'refuse'; reason: RefusalReason; detail?: string }
    | { kind: 'route'; backend: DuBackend; host: string; peer: PeerIdentity } {
    // The leaf's DER, from getPeerCertificate() without `true`, which would also build the issuer chain (~0.3 ms a connection).
    const raw = identity.serial === undefined ? undefined : certificate.raw;
    if (raw === undefined || raw.length === 0) return { kind: 'refuse', reason: 'no-client-cert' };
    const openSslError = tlsSocket.authorizationError === null || tlsSocket.authorizationError === undefined
      ? undefined
      : String(tlsSocket.authorizationError);
    const caCertificate = this.#caCertificate;
    if (caCertificate === undefined) throw new Error('du-gateway: a connection before the DU CA was loaded');
    let peer: PeerIdentity;
    try {
      peer = verifyPeerCertificate(raw, {
        caCertificate,
        nowMs: this.#platform.clock.now(),
        purpose: 'clientAuth',
        revocations: this.#revocations,
      });
    } catch (error) {
      // The PKI's verdict first: OpenSSL reports only its last error, which
      // depends on the real date, and the detail goes into the trace.
      const code = error instanceof PkiError ? error.code : undefined;
      return { kind: 'refuse', reason: refusalForPkiError(code), detail: error instanceof Error ? error.message : String(error) };
    }
    if (openSslError !== undefined && !OPENSSL_TIME_ERRORS.has(openSslError)) return { kind: 'refuse', reason: 'bad-cert', detail: `OpenSSL: ${openSslError}` };
    // A clientAuth check that passed always names the host (CN agreeing with the SAN).
    const host = peer.hostId;
    if (host === undefined) return { kind: 'refuse', reason: 'bad-cert', detail: 'no host id' };
    if (sni === undefined) return { kind: 'refuse', reason: 'no-sni' };
    const backend = this.#settings.services.get(sni);
    if (backend === undefined) return { kind: 'refuse', reason: 'unknown-sni' };
    const open = this.#tunnelsPerHost.get(host) ?? 0;
    if (open >= this.#settings.connectionsPerHostMax) {
      return { kind: 'refuse', reason: 'per-host-limit', detail: `${open} tunnels open` };
    }
    return { kind: 'route', backend, host, peer };
  }

  #refuse(reason: RefusalReason, identity: ClientIdentity, sni: string | undefined, detail?: string): void {
    this.#stats.refusedByReason[reason] = (this.#stats.refusedByReason[reason] ?? 0) + 1;
    this.#log.warn('du.refused', {
      reason, sni, subject: identity.subject, serial: identity.serial, remote: identity.remote, ...(detail === undefined ? {} : { detail }),
    });
  }

  // ---------------------------------------------------------------- backend and relay

  #dial(tlsSocket: TLSSocket, resetClient: () => void, host: string, backend: DuBackend, identity: ClientIdentity, sni: string): void {
    this.#tunnelsPerHost.set(host, (this.#tunnelsPerHost.get(host) ?? 0) + 1);
    this.#stats.tunnelsOpen += 1;
    this.#stats.tunnelsTotal += 1;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.#stats.tunnelsOpen -= 1;
      const left = (this.#tunnelsPerHost.get(host) ?? 1) - 1;
      if (left === 0) this.#tunnelsPerHost.delete(host);
      else this.#tunnelsPerHost.set(host, left);
    };
    const log = this.#log.child({ sni, subject: identity.subject, serial: identity.serial, remote: identity.remote });
    const clock = this.#platform.clock;
    const target = this.#platform.streams.connect({ host: backend.host, port: backend.port, allowHalfOpen: true });
    target.setNoDelay(true);
    let connected = false;

    const failDial = (code: string): void => {
      if (connected || released) return;
      clock.clearTimer(timer);
      this.#stats.backendFailuresByCode[code] = (this.#stats.backendFailuresByCode[code] ?? 0) + 1;
      log.warn('du.backend_failed', { backend: `${backend.host}:${backend.port}`, code });
      target.removeAllListeners('connect');
      target.on('error', () => undefined);
      if (!target.destroyed) target.resetAndDestroy();
      resetClient();
      release();
    };
    const timer = clock.setTimeout(() => failDial('ETIMEDOUT'), this.#settings.connectTimeoutMs);
    target.once('error', (error: Error) => failDial(errorCode(error) ?? error.name));
    // The client gave up while we dialled: nothing was read from it, so nothing reaches the backend.
    const onClientGone = (): void => {
      if (connected || released) return;
      clock.clearTimer(timer);
      target.on('error', () => undefined);
      target.destroy();
      resetClient();
      release();
    };
    tlsSocket.once('close', onClientGone);
    target.once('connect', () => {
      if (released) return;
      connected = true;
      clock.clearTimer(timer);
      tlsSocket.removeListener('close', onClientGone);
      log.info('du.tunnel_opened', { backend: `${backend.host}:${backend.port}` });
      const relay = openRelay({ stream: tlsSocket, reset: resetClient }, socketEndpoint(target), {
        clock,
        targetName: 'backend',
        idleTimeoutMs: this.#settings.idleTimeoutMs,
        onBytes: (direction, byteCount) => {
          if (direction === 'up') this.#stats.bytesUp += byteCount;
          else this.#stats.bytesDown += byteCount;
        },
        onClosed: (result) => {
          this.#relays.delete(relay);
          release();
          this.#stats.tunnelsClosedByReason[result.reason] = (this.#stats.tunnelsClosedByReason[result.reason] ?? 0) + 1;
          const fields = {
            reason: result.reason, errorCode: result.errorCode, bytesUp: result.bytesUp, bytesDown: result.bytesDown, durationMs: result.durationMs,
          };
          if (result.reason === 'completed') log.info('du.tunnel_closed', fields);
          else log.warn('du.tunnel_closed', fields);
        },
      });
      this.#relays.add(relay);
    });
  }

  async #drain(): Promise<void> {
    if (this.#accepted.size === 0) return;
    const drained = new Promise<void>((resolve) => {
      const timer = this.#platform.clock.setTimeout(() => {
        this.#log.warn('du.stop_incomplete', { connectionsOpen: this.#accepted.size, waitedMs: stopDrainMsMax });
        resolve();
      }, stopDrainMsMax);
      this.#onDrained = () => {
        this.#platform.clock.clearTimer(timer);
        resolve();
      };
    });
    for (const relay of [...this.#relays]) relay.abort('stopped');
    for (const socket of [...this.#accepted]) if (!socket.destroyed) socket.resetAndDestroy();
    await drained;
  }
}

function identityOf(certificate: PeerCertificate, stream: StreamSocket | undefined): ClientIdentity {
  const present = typeof certificate === 'object' && certificate !== null && Object.keys(certificate).length > 0;
  const commonName = present ? certificate.subject?.CN : undefined;
  return {
    subject: typeof commonName === 'string' ? commonName : Array.isArray(commonName) ? commonName.join(',') : undefined,
    serial: present && typeof certificate.serialNumber === 'string' ? certificate.serialNumber : undefined,
    remote: stream === undefined ? '?' : `${stream.remoteAddress ?? '?'}:${stream.remotePort ?? '?'}`,
  };
}
