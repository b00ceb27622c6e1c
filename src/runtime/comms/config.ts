// comms configuration: the DU address, an optional HTTP proxy, the TLS files
// and the services. Every problem is a ConfigError naming the file, line,
// column and key path (so the entry exits 2); see README.md for the format.
import { ConfigError } from '../config/config-error.js';
import type { JsonDocument } from '../config/json-document.js';
import { ShapeChecker } from '../config/shape.js';

/** comms listens on loopback only: it is a host's private door to the DU, never a public one. */
export const LOOPBACK_HOST = '127.0.0.1';

export interface ServiceConfig {
  name: string;
  listenPort: number;
  sni: string;
}

export interface ProxySettings {
  host: string;
  port: number;
  auth?: { username: string; password: string };
}

export interface CommsLimits {
  /** Tunnels (local connections) held at once; the next one is reset. */
  tunnelsMax: number;
  /** Bound on reaching the DU (TCP, or the proxy's CONNECT answer). */
  dialTimeoutMs: number;
  /** Bound on the TLS handshake. */
  handshakeTimeoutMs: number;
  /** Dial attempts per tunnel for network failures (1 = no retry). */
  dialAttemptsMax: number;
  backoffBaseMs: number;
  backoffCapMs: number;
  /**
   * TLS 1.3: how long to wait for the DU's confirmation (a session ticket or
   * a byte) before taking a DU that sends no tickets as having accepted us.
   * Through a proxy the relay starts only then; after it, a reset is
   * 'remote-reset' rather than a refusal. An end before a ticket or a byte is
   * a refusal whenever it comes. See relay.ts.
   */
  serverConfirmTimeoutMs: number;
  /** A tunnel with no bytes either way for this long is reset. */
  idleTimeoutMs: number;
  /**
   * TCP keepalive on the connection to the DU (or the proxy) after this much
   * silence: a NAT that reboots or forgets the flow leaves a tunnel waiting
   * for answers that are dropped; probes find that out (a reset, or no
   * answer) long before idleTimeoutMs. Probe interval and count are not
   * ours: Node 20 (libuv 1.46) sets TCP_KEEPINTVL 1 s and TCP_KEEPCNT 10 on a
   * real host, so a dead path is found about 10 s after this; the simulated
   * hosts use their own TCP settings.
   */
  keepAliveIdleMs: number;
}

export interface CommsConfig {
  du: { host: string; port: number; serverName: string };
  proxy?: ProxySettings;
  tls: { caFile: string; certFile: string; keyFile: string; reloadIntervalMs: number };
  services: ServiceConfig[];
  status?: { listenPort: number };
  limits: CommsLimits;
}

const SERVICES_MAX = 64;
const DAY_MS = 24 * 60 * 60 * 1000;
const NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
/** A DNS name as SNI carries it: labels of letters, digits and hyphens; no IP literal, no trailing dot. */
const SNI_PATTERN = /^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

/** Defaults and [min, max] bounds of `limits.*`. */
export const LIMIT_BOUNDS: Readonly<Record<keyof CommsLimits, readonly [number, number, number]>> = {
  tunnelsMax: [256, 1, 100_000],
  dialTimeoutMs: [10_000, 1, DAY_MS],
  handshakeTimeoutMs: [10_000, 1, DAY_MS],
  dialAttemptsMax: [3, 1, 20],
  backoffBaseMs: [100, 1, 60_000],
  backoffCapMs: [5_000, 1, 10 * 60_000],
  serverConfirmTimeoutMs: [3_000, 1, 60_000],
  idleTimeoutMs: [3_600_000, 1, 7 * DAY_MS],
  keepAliveIdleMs: [15_000, 1_000, DAY_MS],
};

/** Turns a parsed configuration document into a checked CommsConfig. */
export function loadCommsConfig(document: JsonDocument, file: string): CommsConfig {
  const check = new ShapeChecker(document, file);
  const root = check.object('', document.value, { required: ['du', 'tls', 'services'], optional: ['proxy', 'status', 'limits'] });

  const du = check.object('du', root['du'], { required: ['host'], optional: ['port', 'serverName'] });
  const duHost = nonEmpty(check, 'du.host', du['host']);
  const config: CommsConfig = {
    du: {
      host: duHost,
      port: du['port'] === undefined ? 443 : integerIn(check, 'du.port', du['port'], 1, 65535),
      serverName: du['serverName'] === undefined ? duHost : nonEmpty(check, 'du.serverName', du['serverName']),
    },
    tls: loadTls(check, root['tls']),
    services: loadServices(check, root['services']),
    limits: loadLimits(check, root['limits']),
  };
  if (root['proxy'] !== undefined) config.proxy = loadProxy(check, root['proxy']);
  if (root['status'] !== undefined) {
    const status = check.object('status', root['status'], { required: ['listenPort'], optional: ['listenHost'] });
    loopbackOnly(check, 'status.listenHost', status['listenHost']);
    config.status = { listenPort: integerIn(check, 'status.listenPort', status['listenPort'], 0, 65535) };
    const clash = config.services.findIndex((service) => service.listenPort !== 0 && service.listenPort === config.status?.listenPort);
    if (clash >= 0) check.fail('status.listenPort', `is also the listenPort of services[${clash}]`);
  }
  if (config.limits.backoffCapMs < config.limits.backoffBaseMs) {
    check.fail('limits.backoffCapMs', `must be at least limits.backoffBaseMs (${config.limits.backoffBaseMs})`);
  }
  return config;
}

function loadTls(check: ShapeChecker, value: unknown): CommsConfig['tls'] {
  const tls = check.object('tls', value, { required: ['caFile', 'certFile', 'keyFile'], optional: ['reloadIntervalMs'] });
  return {
    caFile: nonEmpty(check, 'tls.caFile', tls['caFile']),
    certFile: nonEmpty(check, 'tls.certFile', tls['certFile']),
    keyFile: nonEmpty(check, 'tls.keyFile', tls['keyFile']),
    reloadIntervalMs: tls['reloadIntervalMs'] === undefined ? 5_000 : integerIn(check, 'tls.reloadIntervalMs', tls['reloadIntervalMs'], 100, DAY_MS),
  };
}

function loadServices(check: ShapeChecker, value: unknown): ServiceConfig[] {
  const entries = check.array('services', value);
  if (entries.length === 0) check.fail('services', 'must list at least one service');
  if (entries.length > SERVICES_MAX) check.fail('services', `must list at most ${SERVICES_MAX} services`);
  const services = entries.map((entry, index): ServiceConfig => {
    const path = `services[${index}]`;
    const service = check.object(path, entry, { required: ['name', 'listenPort', 'sni'], optional: ['listenHost'] });
    const name = check.string(`${path}.name`, service['name']);
    if (!NAME_PATTERN.test(name)) check.fail(`${path}.name`, 'must be 1-63 of a-z, 0-9, "-", "_", starting with a letter or digit');
    loopbackOnly(check, `${path}.listenHost`, service['listenHost']);
    const sni = check.string(`${path}.sni`, service['sni']);
    if (!SNI_PATTERN.test(sni) || /^[\d.]+$/.test(sni)) check.fail(`${path}.sni`, `must be a DNS name, got ${JSON.stringify(sni)}`);
    return { name, listenPort: integerIn(check, `${path}.listenPort`, service['listenPort'], 0, 65535), sni };
  });
  services.forEach((service, index) => {
    const earlier = services.findIndex((other) => other.name === service.name);
    if (earlier < index) check.fail(`services[${index}].name`, `duplicates services[${earlier}].name "${service.name}"`);
    const samePort = services.findIndex((other) => other.listenPort === service.listenPort);
    if (service.listenPort !== 0 && samePort < index) check.fail(`services[${index}].listenPort`, `duplicates services[${samePort}].listenPort ${service.listenPort}`);
  });
  return services;
}

function loadProxy(check: ShapeChecker, value: unknown): ProxySettings {
  // Either the HTTPS_PROXY form as a string, or { url }.
  if (typeof value === 'string') return proxyFromUrl(check, 'proxy', value);
  const proxy = check.object('proxy', value, { required: ['url'], optional: [] });
  return proxyFromUrl(check, 'proxy.url', check.string('proxy.url', proxy['url']));
}

function proxyFromUrl(check: ShapeChecker, path: string, url: string): ProxySettings {
  const parsed = parseProxyUrl(url);
  if (typeof parsed === 'string') check.fail(path, parsed);
  return parsed;
}

/**
 * The usual HTTPS_PROXY form: `http://[user[:password]@]host[:port][/]`, or
 * `host:port` without a scheme (as curl takes it). User and password are
 * percent-decoded. Returns the problem as a string when the URL is unusable.
 */
export function parseProxyUrl(text: string): ProxySettings | string {
  const withScheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(text) ? text : `http://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return `is not a proxy URL: ${JSON.stringify(text)}`;
  }
  if (url.protocol !== 'http:') return `scheme ${url.protocol.slice(0, -1)} is not supported (only http:// proxies, which tunnel with CONNECT)`;
  if (url.hostname === '') return 'has no host';
  if ((url.pathname !== '' && url.pathname !== '/') || url.search !== '' || url.hash !== '') return 'must not have a path, query or fragment';
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const settings: ProxySettings = { host, port: url.port === '' ? 80 : Number(url.port) };
  if (url.username !== '' || url.password !== '') {
    let username: string;
    let password: string;
    try {
      username = decodeURIComponent(url.username);
      password = decodeURIComponent(url.password);
    } catch {
      return 'has a malformed percent-escape in its credentials';
    }
    if (username === '' || username.includes(':')) return 'user name must be non-empty and contain no colon (RFC 7617)';
    settings.auth = { username, password };
  }
  return settings;
}

function loadLimits(check: ShapeChecker, value: unknown): CommsLimits {
  const keys = Object.keys(LIMIT_BOUNDS) as (keyof CommsLimits)[];
  const given = value === undefined ? {} : check.object('limits', value, { required: [], optional: keys });
  const limits = {} as CommsLimits;
  for (const key of keys) {
    const [fallback, min, max] = LIMIT_BOUNDS[key];
    limits[key] = given[key] === undefined ? fallback : integerIn(check, `limits.${key}`, given[key], min, max);
  }
  return limits;
}

function loopbackOnly(check: ShapeChecker, path: string, value: unknown): void {
  if (value === undefined) return;
  const host = check.string(path, value);
  if (host !== LOOPBACK_HOST) {
    check.fail(path, `must be ${LOOPBACK_HOST}: comms listens on loopback only (it needs no inbound access), got ${JSON.stringify(host)}`);
  }
}

function nonEmpty(check: ShapeChecker, path: string, value: unknown): string {
  const text = check.string(path, value);
  if (text === '') check.fail(path, 'must not be empty');
  return text;
}

function integerIn(check: ShapeChecker, path: string, value: unknown, min: number, max: number): number {
  const number = check.integer(path, value);
  if (number < min || number > max) check.fail(path, `must be an integer in [${min}, ${max}], got ${number}`);
  return number;
}

/** A configuration problem found outside the document (e.g. an unreadable certificate file). */
export function fileProblem(file: string, keyPath: string, problem: string): ConfigError {
  return new ConfigError('ERR_CONFIG_READ', file, problem, { keyPath });
}
