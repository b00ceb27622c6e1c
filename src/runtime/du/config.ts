// The DU gateway's configuration (haproxy's role: TLS on 443, client
// certificates from the DU CA, SNI → backend). Checked once at start, so the
// gateway never meets a nonsensical value; every problem names its key, and
// when read from a file, the file, line and column.
//
//   {
//     "listen":   { "host": "0.0.0.0", "port": 443 },
//     "tls":      { "certFile": "...", "keyFile": "...", "caFile": "...", "revocationFile": "..." },
//     "services": [ { "sni": "registry.du.pf9lab", "backend": { "host": "198.18.1.10", "port": 5000 } } ],
//     "idleTimeoutMs": 300000, "connectTimeoutMs": 10000, "handshakeTimeoutMs": 10000,
//     "connectionsPerHostMax": 64, "connectionsMax": 4096, "revocationReloadMs": 5000, "keepAliveIdleMs": 60000
//   }
//
// caFile is the DU root CA from src/runtime/pki; clients must present PKI host
// certificates (CN = host id, SAN = host-<id>.pf9lab, clientAuth), judged on
// the platform clock. revocationFile is the PKI's revocation list, as
// `saveRevocationList` writes it (see ./revocation.ts).
import type { JsonDocument } from '../config/json-document.js';
import { ShapeChecker } from '../config/shape.js';

export interface DuBackend {
  host: string;
  port: number;
}

export interface DuService {
  /** The TLS server name (SNI) that selects this backend; matched case-insensitively. */
  sni: string;
  backend: DuBackend;
}

export interface DuTlsFiles {
  certFile: string;
  keyFile: string;
  /** The DU CA (one PEM certificate): the only issuer whose client certificates are accepted. */
  caFile: string;
  /**
   * The PKI's revocation list (`saveRevocationList`: `{"format":"pf9lab-revocation-list/v1","entries":[{serialHex, reason, revokedAtMs, hostId?}]}`).
   * Absent: nothing is revoked. Named but missing or malformed at start: a configuration error.
   */
  revocationFile?: string;
}

export interface DuGatewayConfig {
  listen: { host: string; port: number };
  tls: DuTlsFiles;
  services: readonly DuService[];
  /** A tunnel with no bytes either way for this long is reset. Default 300 000. */
  idleTimeoutMs?: number;
  /** Bound on dialling a backend (then the client is reset). Default 10 000. */
  connectTimeoutMs?: number;
  /** Bound on the TLS handshake. Default 10 000. */
  handshakeTimeoutMs?: number;
  /** Tunnels (dialling or open) per host (the host id the PKI verified in the client certificate); beyond it, refused. Default 64. */
  connectionsPerHostMax?: number;
  /** Client connections held at once (handshaking, dialling, tunnelling); beyond it, refused. Default 4096. */
  connectionsMax?: number;
  /** How often the revocation file is re-read (it is re-parsed only when its content changed). Default 5 000. */
  revocationReloadMs?: number;
  /**
   * TCP keepalive on client connections after this much silence. A client
   * whose NAT forgot the flow, or whose host died, never sends its FIN; the
   * probes free its tunnel (and its place under connectionsPerHostMax) long
   * before idleTimeoutMs. Default 60 000.
   */
  keepAliveIdleMs?: number;
}

export interface ResolvedDuGatewayConfig {
  listen: { host: string; port: number };
  tls: DuTlsFiles;
  /** By lower-cased SNI. */
  services: ReadonlyMap<string, DuBackend>;
  idleTimeoutMs: number;
  connectTimeoutMs: number;
  handshakeTimeoutMs: number;
  connectionsPerHostMax: number;
  connectionsMax: number;
  revocationReloadMs: number;
  keepAliveIdleMs: number;
}

/** A configuration value out of its bounds; `field` is the key path. */
export class DuConfigError extends Error {
  readonly code = 'ERR_DU_CONFIG';
  readonly field: string;

  constructor(field: string, message: string) {
    super(`ERR_DU_CONFIG: ${field}: ${message}`);
    this.name = 'DuConfigError';
    this.field = field;
  }
}

const dayMs = 24 * 60 * 60 * 1000;
/** A DNS name (RFC 1123 labels), as an SNI must be: no IP literals, no wildcards. */
const sniPattern = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

export function resolveDuGatewayConfig(config: DuGatewayConfig): ResolvedDuGatewayConfig {
  nonEmpty('listen.host', config.listen.host);
  const port = integerIn('listen.port', config.listen.port, 0, 65535);
  nonEmpty('tls.certFile', config.tls.certFile);
  nonEmpty('tls.keyFile', config.tls.keyFile);
  nonEmpty('tls.caFile', config.tls.caFile);
  if (config.tls.revocationFile !== undefined) nonEmpty('tls.revocationFile', config.tls.revocationFile);
  if (config.services.length === 0) throw new DuConfigError('services', 'must name at least one service');
  const services = new Map<string, DuBackend>();
  config.services.forEach((service, index) => {
    const sni = service.sni.toLowerCase();
    if (/^\d+(\.\d+){3}$/.test(sni) || !sniPattern.test(sni)) {
      throw new DuConfigError(`services[${index}].sni`, `must be a DNS name, got ${JSON.stringify(service.sni)}`);
    }
    if (services.has(sni)) throw new DuConfigError(`services[${index}].sni`, `duplicate service name ${JSON.stringify(sni)}`);
    nonEmpty(`services[${index}].backend.host`, service.backend.host);
    const backendPort = integerIn(`services[${index}].backend.port`, service.backend.port, 1, 65535);
    services.set(sni, { host: service.backend.host, port: backendPort });
  });
  return {
    listen: { host: config.listen.host, port },
    tls: { ...config.tls },
    services,
    idleTimeoutMs: integerIn('idleTimeoutMs', config.idleTimeoutMs ?? 300_000, 1, 7 * dayMs),
    connectTimeoutMs: integerIn('connectTimeoutMs', config.connectTimeoutMs ?? 10_000, 1, dayMs),
    handshakeTimeoutMs: integerIn('handshakeTimeoutMs', config.handshakeTimeoutMs ?? 10_000, 1, dayMs),
    connectionsPerHostMax: integerIn('connectionsPerHostMax', config.connectionsPerHostMax ?? 64, 1, 1_000_000),
    connectionsMax: integerIn('connectionsMax', config.connectionsMax ?? 4096, 1, 1_000_000),
    revocationReloadMs: integerIn('revocationReloadMs', config.revocationReloadMs ?? 5_000, 10, dayMs),
    keepAliveIdleMs: integerIn('keepAliveIdleMs', config.keepAliveIdleMs ?? 60_000, 1_000, dayMs),
  };
}

const NUMBER_KEYS = [
  'idleTimeoutMs', 'connectTimeoutMs', 'handshakeTimeoutMs', 'connectionsPerHostMax', 'connectionsMax', 'revocationReloadMs', 'keepAliveIdleMs',
] as const;

/** Turns a parsed configuration file into a checked config; every problem is a ConfigError naming key, line and column. */
export function loadDuGatewayConfig(document: JsonDocument, file: string): DuGatewayConfig {
  const check = new ShapeChecker(document, file);
  const root = check.object('', document.value, { required: ['listen', 'tls', 'services'], optional: NUMBER_KEYS });
  const listen = check.object('listen', root['listen'], { required: ['host', 'port'], optional: [] });
  const tls = check.object('tls', root['tls'], { required: ['certFile', 'keyFile', 'caFile'], optional: ['revocationFile'] });
  const config: DuGatewayConfig = {
    listen: { host: check.string('listen.host', listen['host']), port: check.integer('listen.port', listen['port']) },
    tls: {
      certFile: check.string('tls.certFile', tls['certFile']),
      keyFile: check.string('tls.keyFile', tls['keyFile']),
      caFile: check.string('tls.caFile', tls['caFile']),
      ...(tls['revocationFile'] === undefined ? {} : { revocationFile: check.string('tls.revocationFile', tls['revocationFile']) }),
    },
    services: check.array('services', root['services']).map((entry, index) => {
      const path = `services[${index}]`;
      const service = check.object(path, entry, { required: ['sni', 'backend'], optional: [] });
      const backend = check.object(`${path}.backend`, service['backend'], { required: ['host', 'port'], optional: [] });
      return {
        sni: check.string(`${path}.sni`, service['sni']),
        backend: { host: check.string(`${path}.backend.host`, backend['host']), port: check.integer(`${path}.backend.port`, backend['port']) },
      };
    }),
  };
  for (const key of NUMBER_KEYS) {
    if (root[key] !== undefined) config[key] = check.integer(key, root[key]);
  }
  try {
    resolveDuGatewayConfig(config);
  } catch (error) {
    if (error instanceof DuConfigError) check.fail(error.field, error.message.replace(/^ERR_DU_CONFIG: [^:]+: /, ''));
    throw error;
  }
  return config;
}

function nonEmpty(field: string, value: string): void {
  if (value === '') throw new DuConfigError(field, 'must not be empty');
}

function integerIn(field: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new DuConfigError(field, `must be an integer in [${min}, ${max}], got ${value}`);
  }
  return value;
}
