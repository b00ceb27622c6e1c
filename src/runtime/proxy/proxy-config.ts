// The proxy's configuration, its defaults and their bounds. Checked once at
// start, so the service itself never meets a nonsensical value.
import type { ProxyUser } from './basic-auth.js';
import { headBytesMaxDefault } from './connect-request.js';

export interface ProxyConfig {
  listen: { host: string; port: number };
  /** Absent: no authentication. Present (even empty): every request needs valid Basic credentials. */
  users?: readonly ProxyUser[];
  /** Target ports that may be tunnelled to; absent: all. */
  allowedPorts?: readonly number[];
  /** A tunnel with no bytes either way for this long is closed. Default 300 000. */
  idleTimeoutMs?: number;
  /** Bound on dialling the target (then 504). Default 10 000. */
  connectTimeoutMs?: number;
  /** Client connections held at once (reading a head, dialling, tunnelling). Default 1024. */
  maxConnections?: number;
  /** Bound on receiving a complete request head (then 408). Default 30 000. */
  headTimeoutMs?: number;
  /** Bound on the request head's size (then 431). Default 8192. */
  headBytesMax?: number;
}

export interface ResolvedProxyConfig {
  listen: { host: string; port: number };
  users: readonly ProxyUser[] | undefined;
  allowedPorts: ReadonlySet<number> | undefined;
  idleTimeoutMs: number;
  connectTimeoutMs: number;
  maxConnections: number;
  headTimeoutMs: number;
  headBytesMax: number;
}

/** A configuration value out of its bounds. */
export class ProxyConfigError extends Error {
  readonly code = 'ERR_PROXY_CONFIG';
  readonly field: string;

  constructor(field: string, message: string) {
    super(`ERR_PROXY_CONFIG: ${field}: ${message}`);
    this.name = 'ProxyConfigError';
    this.field = field;
  }
}

const dayMs = 24 * 60 * 60 * 1000;

export function resolveProxyConfig(config: ProxyConfig): ResolvedProxyConfig {
  const port = integerIn('listen.port', config.listen.port, 0, 65535);
  if (config.listen.host === '') throw new ProxyConfigError('listen.host', 'must not be empty');
  const users = config.users;
  users?.forEach((user, index) => {
    if (user.username === '' || user.username.includes(':')) {
      throw new ProxyConfigError(`users[${index}].username`, 'must be non-empty and contain no colon (RFC 7617)');
    }
  });
  const allowedPorts = config.allowedPorts?.map((allowed, index) => integerIn(`allowedPorts[${index}]`, allowed, 1, 65535));
  return {
    listen: { host: config.listen.host, port },
    users,
    allowedPorts: allowedPorts === undefined ? undefined : new Set(allowedPorts),
    idleTimeoutMs: integerIn('idleTimeoutMs', config.idleTimeoutMs ?? 300_000, 1, 7 * dayMs),
    connectTimeoutMs: integerIn('connectTimeoutMs', config.connectTimeoutMs ?? 10_000, 1, dayMs),
    maxConnections: integerIn('maxConnections', config.maxConnections ?? 1024, 1, 1_000_000),
    headTimeoutMs: integerIn('headTimeoutMs', config.headTimeoutMs ?? 30_000, 1, dayMs),
    headBytesMax: integerIn('headBytesMax', config.headBytesMax ?? headBytesMaxDefault, 256, 1024 * 1024),
  };
}

function integerIn(field: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ProxyConfigError(field, `must be an integer in [${min}, ${max}], got ${value}`);
  }
  return value;
}
