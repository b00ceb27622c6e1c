// comms as a running service: one loopback listener per configured service;
// every accepted local connection becomes its own mutually authenticated TLS
// tunnel to the DU with that service's SNI (DESIGN.md, "comms").
//
// Per local connection: dial (retrying network failures, and one ambiguous
// reset through the proxy, with the shared backoff, bounded by
// limits.dialAttemptsMax), TLS, then relay. Any failure
// resets the local connection and is counted and logged as
// comms.tunnel_failed with its reason.
import type { Platform, Service, StreamListener, StreamSocket } from '../platform/types.js';
import { Backoff } from './backoff.js';
import { LOOPBACK_HOST, type CommsConfig, type ServiceConfig } from './config.js';
import { CredentialStore } from './credentials.js';
import { awaitConfirmation, dialDu, type DuConnection } from './dial.js';
import { TunnelError, type FailureReason } from './failure.js';
import { CommsMetrics, type CommsMetricsSnapshot } from './metrics.js';
import { startRelay, type Relay, type RelayResult } from './relay.js';
import { startStatusEndpoint } from './status.js';

export interface CommsService extends Service {
  /** Bound local ports by service name (useful when listenPort was 0). */
  readonly ports: Readonly<Record<string, number>>;
  readonly statusPort: number | undefined;
  metrics(): CommsMetricsSnapshot;
  /** Polls the certificate files now (the timer does it every tls.reloadIntervalMs). */
  reloadCredentials(): Promise<void>;
}

/** How long stop() waits for reset tunnels to report their close. */
const STOP_DRAIN_MS_MAX = 5_000;

export async function startComms(platform: Platform, config: CommsConfig, configFile = '(config)'): Promise<CommsService> {
  const log = platform.log.child({ component: 'comms' });
  const credentials = await CredentialStore.open(platform.files, config.tls, log, configFile);
  const metrics = new CommsMetrics(config.services.map((service) => service.name));
  const backoff = new Backoff({ baseMs: config.limits.backoffBaseMs, capMs: config.limits.backoffCapMs });
  const tunnels = new Set<Tunnel>();
  const listeners: StreamListener[] = [];
  const ports: Record<string, number> = {};
  const stopController = new AbortController();
  let onDrained: (() => void) | undefined;
  let nextTunnelId = 1;

  const context: TunnelContext = {
    platform, config, credentials, metrics, backoff, stopSignal: stopController.signal, log,
    closed(tunnel) {
      tunnels.delete(tunnel);
      metrics.tunnelsOpen = tunnels.size;
      if (tunnels.size === 0) onDrained?.();
    },
  };

  const onConnection = (service: ServiceConfig, local: StreamSocket): void => {
    metrics.tunnelsTotal += 1;
    // Answers go to the local client as they come, not held by Nagle for its delayed ACK.
    local.setNoDelay(true);
    const id = nextTunnelId++;
    if (stopController.signal.aborted || tunnels.size >= config.limits.tunnelsMax) {
      const reason: FailureReason = stopController.signal.aborted ? 'stopped' : 'limit';
      metrics.failed(reason);
      log.warn('comms.tunnel_failed', { tunnel: id, service: service.name, reason, message: `${config.limits.tunnelsMax} tunnels open` });
      local.on('error', () => undefined);
      local.resetAndDestroy();
      return;
    }
    const tunnel = new Tunnel(context, service, local, id);
    tunnels.add(tunnel);
    metrics.tunnelsOpen = tunnels.size;
    void tunnel.run();
  };

  try {
    for (const service of config.services) {
      const listener = await platform.streams.listen(
        { host: LOOPBACK_HOST, port: service.listenPort, allowHalfOpen: true },
        (socket) => onConnection(service, socket),
      );
      listeners.push(listener);
      ports[service.name] = listener.port;
      log.info('comms.listening', { service: service.name, address: listener.address, port: listener.port, sni: service.sni });
    }
    if (config.status !== undefined) {
      const status = await startStatusEndpoint(platform, config.status.listenPort, () => {
        metrics.certReloads = credentials.reloads;
        return metrics.render();
      });
      listeners.push(status);
      log.info('comms.status_listening', { address: status.address, port: status.port });
    }
  } catch (error) {
    await Promise.all(listeners.map((listener) => listener.close()));
    throw error;
  }
  credentials.watch(platform.clock, config.tls.reloadIntervalMs);
  log.info('comms.started', {
    du: `${config.du.host}:${config.du.port}`, serverName: config.du.serverName,
    proxy: config.proxy === undefined ? 'none' : `${config.proxy.host}:${config.proxy.port}`,
    services: config.services.length, certSerial: credentials.current.serial,
  });

  return {
    ports,
    statusPort: config.status === undefined ? undefined : listeners[listeners.length - 1]?.port,
    metrics: () => {
      metrics.certReloads = credentials.reloads;
      return metrics.snapshot();
    },
    reloadCredentials: () => credentials.poll(),
    async stop() {
      if (stopController.signal.aborted) return;
      stopController.abort();
      credentials.stop();
      await Promise.all(listeners.map((listener) => listener.close()));
      if (tunnels.size > 0) {
        const drained = new Promise<void>((resolve) => {
          const timer = platform.clock.setTimeout(resolve, STOP_DRAIN_MS_MAX);
          onDrained = () => {
            platform.clock.clearTimer(timer);
            resolve();
          };
        });
        for (const tunnel of [...tunnels]) tunnel.abort('stopped', 'comms stopping');
        await drained;
      }
      log.info('comms.stopped', { tunnelsTotal: metrics.tunnelsTotal });
    },
  };
}

interface TunnelContext {
  platform: Platform;
  config: CommsConfig;
  credentials: CredentialStore;
  metrics: CommsMetrics;
  backoff: Backoff;
  stopSignal: AbortSignal;
  log: Platform['log'];
  closed(tunnel: Tunnel): void;
}

/** One local connection and its tunnel, from accept to close. */
class Tunnel {
  #relay: Relay | undefined;
  #failed = false;
  #done = false;
  /** Aborts the dial phase (backoff sleep) when the local side goes away or comms stops. */
  readonly #dialAbort = new AbortController();

  constructor(
    private readonly context: TunnelContext,
    private readonly service: ServiceConfig,
    private readonly local: StreamSocket,
    private readonly id: number,
  ) {
    // Before the relay exists, a local error or close ends the dial.
    local.on('error', () => this.#dialAbort.abort());
    local.once('close', () => this.#dialAbort.abort());
  }

  abort(reason: FailureReason, message: string): void {
    if (this.#relay !== undefined) this.#relay.abort(reason, message);
    else {
      this.#abortReason = { reason, message };
      this.#dialAbort.abort();
    }
  }

  #abortReason: { reason: FailureReason; message: string } | undefined;

  async run(): Promise<void> {
    let connection: DuConnection;
    try {
      connection = await this.#dialWithRetry();
    } catch (error) {
      const failure = error instanceof TunnelError
        ? error
        : new TunnelError(this.#abortReason?.reason ?? 'local-reset', this.#abortReason?.message ?? String(error));
      this.#failLocal(failure, 0, 0);
      this.#close();
      return;
    }
    if (this.#dialAbort.signal.aborted) {
      // The local side left (or comms stopped) while the handshake ran.
      connection.raw.on('error', () => undefined);
      connection.tls.on('error', () => undefined);
      connection.raw.resetAndDestroy();
      connection.tls.destroy();
      this.#failLocal(new TunnelError(this.#abortReason?.reason ?? 'local-reset', this.#abortReason?.message ?? 'local client left during the dial'), 0, 0);
      this.#close();
      return;
    }
    const { platform, config, metrics, backoff, log } = this.context;
    log.debug('comms.tunnel_open', { tunnel: this.id, service: this.service.name, sni: this.service.sni, certSerial: this.context.credentials.current.serial });
    this.#relay = startRelay(this.local, connection, {
      clock: platform.clock,
      idleTimeoutMs: config.limits.idleTimeoutMs,
      serverConfirmTimeoutMs: config.limits.serverConfirmTimeoutMs,
      onBytes: (direction, byteCount) => metrics.addBytes(this.service.name, direction, byteCount),
      onFlowed: () => backoff.flowed(),
      onClosed: (result) => this.#onRelayClosed(result),
    });
  }

  /**
   * Dials until it works, a non-network failure, the attempt bound, or an
   * abort. Through the proxy, it also waits for the DU's confirmation before
   * handing over to the relay (no client byte is sent before), and retries
   * one 'ambiguous-reset' (a refusing DU or a restarting proxy); a second one,
   * or one with no attempt left, is 'auth-refused'.
   */
  async #dialWithRetry(): Promise<DuConnection> {
    const { platform, config, credentials, metrics, backoff, stopSignal, log } = this.context;
    const signal = AbortSignal.any([this.#dialAbort.signal, stopSignal]);
    let ambiguousSeen = false;
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) throw new Error('aborted');
      try {
        // Each attempt takes the current certificate: a reload applies at once.
        const connection = await dialDu({ platform, config, credentials: credentials.current, sni: this.service.sni });
        if (config.proxy === undefined) return connection;
        return await awaitConfirmation(connection, platform.clock, config.limits.serverConfirmTimeoutMs, signal);
      } catch (error) {
        if (!(error instanceof TunnelError)) throw error;
        if (error.reason === 'ambiguous-reset') {
          const refused = new TunnelError('auth-refused', error.message.replace(/^ERR_TUNNEL_AMBIGUOUS_RESET: /, ''), error.underlyingCode);
          if (ambiguousSeen || attempt >= config.limits.dialAttemptsMax || signal.aborted) throw refused;
          ambiguousSeen = true;
          // Counted per attempt; the tunnel's own outcome is logged as comms.tunnel_failed (or not at all).
          metrics.failed('ambiguous-reset');
        } else if (error.reason === 'network') {
          if (attempt >= config.limits.dialAttemptsMax || signal.aborted) {
            backoff.failed();
            throw error;
          }
        } else {
          throw error;
        }
        backoff.failed();
        const delayMs = backoff.delayMs(platform.random.float());
        log.info('comms.dial_retry', {
          tunnel: this.id, service: this.service.name, reason: error.reason, attempt, delayMs, failures: backoff.failures, code: error.underlyingCode,
        });
        await platform.clock.sleep(delayMs, signal).catch(() => undefined);
      }
    }
  }

  #onRelayClosed(result: RelayResult): void {
    const { log } = this.context;
    if (result.failure !== undefined) {
      const { reason, phase, code, message } = result.failure;
      this.#record(reason, { phase, code, message, bytesUp: result.bytesUp, bytesDown: result.bytesDown });
    } else {
      log.info('comms.tunnel_closed', {
        tunnel: this.id, service: this.service.name, bytesUp: result.bytesUp, bytesDown: result.bytesDown, durationMs: result.durationMs,
      });
    }
    this.#close();
  }

  /** A failure before the relay: reset the local connection (never a FIN), count it, log it. */
  #failLocal(failure: TunnelError, bytesUp: number, bytesDown: number): void {
    this.local.on('error', () => undefined);
    if (!this.local.destroyed) this.local.resetAndDestroy();
    this.#record(failure.reason, { phase: 'connect', code: failure.underlyingCode ?? failure.code, message: failure.message, bytesUp, bytesDown });
  }

  #record(reason: FailureReason, fields: { phase: string; code: string | undefined; message: string; bytesUp: number; bytesDown: number }): void {
    if (this.#failed) return;
    this.#failed = true;
    this.context.metrics.failed(reason);
    const level = reason === 'local-reset' || reason === 'stopped' ? 'info' : 'warn';
    this.context.log[level]('comms.tunnel_failed', { tunnel: this.id, service: this.service.name, sni: this.service.sni, reason, ...fields });
  }

  #close(): void {
    if (this.#done) return;
    this.#done = true;
    this.context.closed(this);
  }
}
