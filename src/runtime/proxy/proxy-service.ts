// An HTTP CONNECT proxy (RFC 9110 §9.3.6), the kind hosts sit behind in the
// scenarios: comms reaches the DU through it. It runs on any Platform — the
// simulated one inside a scenario, the real one as dist/proxy.mjs.
//
// Decisions, in order, for each request: parse (400/405/431/505, 408 when the
// head does not arrive in time), authenticate (407), check the port (403),
// dial (502 refused/unreachable, 504 timeout), then 200 and relay.
import type { Platform, StreamSocket } from '../platform/types.js';
import { createBasicAuthChecker } from './basic-auth.js';
import { ProxyConnection } from './proxy-connection.js';
import type { ConnectionContext } from './proxy-connection.js';
import { resolveProxyConfig } from './proxy-config.js';
import type { ProxyConfig } from './proxy-config.js';
import { formatRefusal } from './responses.js';
import type { ProxyStatus } from './responses.js';

export type { ProxyConfig } from './proxy-config.js';
export type { ProxyUser } from './basic-auth.js';

export interface ProxyStats {
  /** Client connections accepted, including those refused for the connection limit. */
  accepted: number;
  /** Client connections held now (reading a head, dialling, tunnelling, refusing). */
  connectionsOpen: number;
  tunnelsOpen: number;
  tunnelsTotal: number;
  /** Responses sent, by status code. */
  byStatus: Record<number, number>;
  /** Bytes relayed client → target (including those that came with the request head). */
  bytesUp: number;
  /** Bytes relayed target → client. */
  bytesDown: number;
}

export interface ProxyService {
  readonly address: string;
  readonly port: number;
  stats(): ProxyStats;
  /** Stops accepting, resets every tunnel and closes every client connection. */
  stop(): Promise<void>;
}

/** How long stop() waits for torn-down connections to report their close. */
const stopDrainMsMax = 5_000;

export async function startProxy(platform: Platform, config: ProxyConfig): Promise<ProxyService> {
  const settings = resolveProxyConfig(config);
  const log = platform.log.child({ component: 'proxy' });
  const connections = new Set<ProxyConnection>();
  const stats: ProxyStats = {
    accepted: 0, connectionsOpen: 0, tunnelsOpen: 0, tunnelsTotal: 0, byStatus: {}, bytesUp: 0, bytesDown: 0,
  };
  let stopping = false;
  let onDrained: (() => void) | undefined;

  const recordStatus = (status: ProxyStatus): void => {
    stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
  };

  const context: ConnectionContext = {
    platform,
    config: settings,
    checkAuth: settings.users === undefined ? undefined : createBasicAuthChecker(settings.users),
    log,
    recordStatus,
    recordBytes(direction, byteCount) {
      if (direction === 'up') stats.bytesUp += byteCount;
      else stats.bytesDown += byteCount;
    },
    tunnelOpened() {
      stats.tunnelsOpen += 1;
      stats.tunnelsTotal += 1;
    },
    tunnelClosed() {
      stats.tunnelsOpen -= 1;
    },
    connectionClosed(connection) {
      connections.delete(connection);
      stats.connectionsOpen = connections.size;
      if (connections.size === 0) onDrained?.();
    },
  };

  function onConnection(client: StreamSocket): void {
    stats.accepted += 1;
    if (stopping) {
      client.on('error', () => undefined);
      client.destroy();
      return;
    }
    if (connections.size >= settings.maxConnections) {
      refuseOverLimit(client);
      return;
    }
    const connection = new ProxyConnection(context, client, stats.accepted);
    connections.add(connection);
    stats.connectionsOpen = connections.size;
  }

  /**
   * Over the limit there is no ProxyConnection (that would be the resource
   * being limited): answer 503 and close once the answer is flushed.
   */
  function refuseOverLimit(client: StreamSocket): void {
    recordStatus(503);
    log.warn('proxy.refused', {
      status: 503, code: 'ERR_PROXY_CONNECTION_LIMIT', reason: `${settings.maxConnections} connections open`,
    });
    client.on('error', () => undefined);
    client.end(formatRefusal(503, 'ERR_PROXY_CONNECTION_LIMIT'), () => client.destroy());
  }

  const listener = await platform.streams.listen(
    { host: settings.listen.host, port: settings.listen.port, allowHalfOpen: true },
    onConnection,
  );
  log.info('proxy.listening', {
    address: listener.address,
    port: listener.port,
    auth: settings.users !== undefined,
    allowedPorts: settings.allowedPorts === undefined ? 'all' : [...settings.allowedPorts].join(','),
    maxConnections: settings.maxConnections,
  });

  return {
    address: listener.address,
    port: listener.port,
    stats: () => ({ ...stats, byStatus: { ...stats.byStatus } }),
    async stop() {
      if (stopping) return;
      stopping = true;
      await listener.close();
      if (connections.size > 0) {
        const drained = new Promise<void>((resolve) => {
          const timer = platform.clock.setTimeout(() => {
            log.warn('proxy.stop_incomplete', { connectionsOpen: connections.size, waitedMs: stopDrainMsMax });
            resolve();
          }, stopDrainMsMax);
          onDrained = () => {
            platform.clock.clearTimer(timer);
            resolve();
          };
        });
        for (const connection of [...connections]) connection.abort('proxy stopping');
        await drained;
      }
      log.info('proxy.stopped', { tunnelsTotal: stats.tunnelsTotal, accepted: stats.accepted });
    },
  };
}
