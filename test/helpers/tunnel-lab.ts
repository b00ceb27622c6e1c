// A comms ↔ DU tunnel lab on 127.0.0.1, shared by the real-socket tests
// (test/comms-real.test.ts, test/haproxy-interop.test.ts) and meant for the
// tunnel bench too. It knows nothing of vitest: every function either returns
// or throws, and every wait is bounded.
//
// The pieces, each usable alone:
//   - PKI files:   writeLabPki(platform, dir) → a DU CA, the DU's certificate
//                  (also as one cert+key PEM for haproxy's `crt`), and
//                  issueHost(hostId) for host certificates, all made by
//                  src/runtime/pki with real keys on the real clock;
//   - backends:    startBlobBackend (Registry-API-v2-style blobs by sha256
//                  digest) and startDigestBackend (reads to the client's end,
//                  answers "<bytes> sha256:<hex>\n"); both count connections
//                  and bytes, so a test can say "the backend saw nothing";
//   - clients:     exchange() (raw bytes, tells a clean end from a reset) and
//                  fetchBlob() (one GET, digest checked);
//   - configs:     commsConfig, gatewayConfig, haproxyConfig (+ writeJson),
//                  and startCommsFromFile / startGatewayFromFile, which run
//                  the same files in-process (what the bundles do with
//                  `--config <file.json>`, minus the process);
//   - processes:   buildBundles, startServiceProcess (JSON log lines parsed),
//                  haproxyUnavailable / checkHaproxyConfig / startHaproxy /
//                  haproxyTcpLog, readCommsMetrics, waitForPort.
//
// Network safety: everything binds and dials 127.0.0.1 only.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Platform, StreamListener, StreamSocket } from '../../src/runtime/platform/types.js';
import { readJsonConfig } from '../../src/runtime/config/load.js';
import { loadCommsConfig } from '../../src/runtime/comms/config.js';
import { startComms, type CommsService } from '../../src/runtime/comms/service.js';
import { loadDuGatewayConfig } from '../../src/runtime/du/config.js';
import { startDuGateway, type DuGateway } from '../../src/runtime/du/gateway.js';
import {
  createHostCsr, createRootCa, issueGatewayCertificate, nodeCryptoKeySource, signHostCsr, writeCertificateFile, writeKeyFile,
  type CertificateAuthority,
} from '../../src/runtime/pki/index.js';

const execFileAsync = promisify(execFile);

export const LOOPBACK = '127.0.0.1';
/** The name comms checks on the DU's certificate (du.serverName). */
export const DU_SERVER_NAME = 'du.pf9lab';
/** Per-service SNI names the lab's DU routes, and one it does not. */
export const LAB_SNI = { registry: 'registry.du.pf9lab', api: 'api.du.pf9lab', unrouted: 'nobody.du.pf9lab' } as const;

// ---------------------------------------------------------------- PKI files

export interface HostFiles {
  hostId: string;
  certFile: string;
  keyFile: string;
  certPem: string;
  keyPem: string;
}

export interface LabPki {
  /** The CA, for issuing more (its key never leaves the process). */
  ca: CertificateAuthority;
  caFile: string;
  /**
   * The DU's serverAuth certificate. Its SANs are DU_SERVER_NAME and the
   * routed LAB_SNI names (not `unrouted`), so haproxy's `strict-sni` refuses
   * exactly the names it does not route.
   */
  gateway: {
    certFile: string;
    keyFile: string;
    /** Certificate then key in one file: haproxy's `bind … ssl crt <file>`. */
    combinedPemFile: string;
    certPem: string;
    keyPem: string;
  };
  /** A new key and a host certificate (CN = hostId) from this CA, written as <name>-<hostId>.crt/.key (name: writeLabPki's). */
  issueHost(hostId: string): Promise<HostFiles>;
}

/**
 * A DU CA and the DU's certificate, written to `dir` as <name>-ca.crt,
 * <name>-gateway.crt/.key/.pem (keys 0600). Real keys (node:crypto) and the
 * platform's real clock: on a real host OpenSSL and the PKI judge the same
 * time. Call it twice with another name for a foreign CA.
 */
export async function writeLabPki(platform: Platform, dir: string, options: { name?: string } = {}): Promise<LabPki> {
  const name = options.name ?? 'du';
  const keySource = nodeCryptoKeySource();
  const nowMs = platform.clock.now();
  const ca = await createRootCa({ keySource, random: platform.random, nowMs, commonName: `pf9lab ${name} CA` });
  const gateway = await issueGatewayCertificate(ca, {
    keySource, random: platform.random, nowMs, dnsNames: [DU_SERVER_NAME, LAB_SNI.registry, LAB_SNI.api],
  });
  const caFile = join(dir, `${name}-ca.crt`);
  const files = {
    certFile: join(dir, `${name}-gateway.crt`),
    keyFile: join(dir, `${name}-gateway.key`),
    combinedPemFile: join(dir, `${name}-gateway.pem`),
  };
  await writeCertificateFile(platform.files, caFile, ca.certPem);
  await writeCertificateFile(platform.files, files.certFile, gateway.certPem);
  await writeKeyFile(platform.files, files.keyFile, gateway.keyPem);
  await writeKeyFile(platform.files, files.combinedPemFile, `${gateway.certPem.trimEnd()}\n${gateway.keyPem.trimEnd()}\n`);
  return {
    ca,
    caFile,
    gateway: { ...files, certPem: gateway.certPem, keyPem: gateway.keyPem },
    async issueHost(hostId) {
      const key = await keySource.generateRsaKey();
      const issued = signHostCsr(ca, createHostCsr(hostId, key), { random: platform.random, nowMs: platform.clock.now(), expectedHostId: hostId });
      const host: HostFiles = {
        hostId,
        certFile: join(dir, `${name}-${hostId}.crt`),
        keyFile: join(dir, `${name}-${hostId}.key`),
        certPem: issued.certPem,
        keyPem: key.privateKeyPem,
      };
      await writeCertificateFile(platform.files, host.certFile, host.certPem);
      await writeKeyFile(platform.files, host.keyFile, host.keyPem);
      return host;
    },
  };
}

// ---------------------------------------------------------------- backends

export interface LabBlob {
  /** `sha256:<hex>` of bytes. */
  digest: string;
  bytes: Buffer;
}

/** Blobs of the given sizes, random bytes (real randomness: these are real-host tests). */
export function makeBlobs(sizes: readonly number[]): LabBlob[] {
  return sizes.map((size) => {
    const bytes = randomBytes(size);
    return { digest: sha256Digest(bytes), bytes };
  });
}

export function sha256Digest(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** What a backend saw, in total since it started. */
export interface BackendCounters {
  connections: number;
  bytesIn: number;
  bytesOut: number;
}

export interface LabBackend {
  readonly port: number;
  counters(): BackendCounters;
  /** Stops listening and destroys every connection it holds. */
  close(): Promise<void>;
}

export interface BlobBackend extends LabBackend {
  readonly blobs: readonly LabBlob[];
}

/** The path fetchBlob asks for. */
export function blobPath(digest: string): string {
  return `/v2/lab/blobs/${digest}`;
}

const HEAD_BYTES_MAX = 8 * 1024;

export interface BlobBackendOptions {
  /** A connection that has not sent a whole request head by then is closed (cleanly). Default 10 000. */
  headTimeoutMs?: number;
}

/**
 * A registry-like HTTP/1.1 backend: `GET /v2/lab/blobs/<digest>` answers the
 * blob (Content-Length, Docker-Content-Digest), anything else 404/405; one
 * request per connection, then it ends its side. A client that half-closes
 * right after its request still gets the whole answer. (sim/workloads/registry.ts
 * serves the same paths but binds 0.0.0.0; this one binds 127.0.0.1 only.)
 */
export async function startBlobBackend(platform: Platform, blobs: readonly LabBlob[], options: BlobBackendOptions = {}): Promise<BlobBackend> {
  const byDigest = new Map(blobs.map((blob) => [blob.digest, blob]));
  const headTimeoutMs = options.headTimeoutMs ?? 10_000;
  const backend = await startCountingBackend(platform, (socket, counters) => {
    let head = '';
    let answered = false;
    const timer = setTimeout(() => socket.destroy(), headTimeoutMs);
    socket.once('close', () => clearTimeout(timer));
    const answer = (status: string, body: Buffer, headers: string[] = []): void => {
      answered = true;
      clearTimeout(timer);
      const lines = [`HTTP/1.1 ${status}`, `Content-Length: ${body.length}`, 'Connection: close', ...headers];
      const bytes = Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
      counters.bytesOut += bytes.length;
      socket.end(bytes);
    };
    socket.on('data', (chunk: Buffer) => {
      if (answered) return;
      head += chunk.toString('latin1');
      if (head.indexOf('\r\n\r\n') < 0) {
        if (head.length > HEAD_BYTES_MAX) answer('431 Request Header Fields Too Large', Buffer.alloc(0));
        return;
      }
      const match = /^([A-Z]+) (\S+) HTTP\/1\.[01]\r\n/.exec(head);
      const blob = match === null ? undefined : byDigest.get(/^\/v2\/lab\/blobs\/(sha256:[0-9a-f]{64})$/.exec(match[2] ?? '')?.[1] ?? '');
      if (match === null) answer('400 Bad Request', Buffer.alloc(0));
      else if (match[1] !== 'GET') answer('405 Method Not Allowed', Buffer.alloc(0));
      else if (blob === undefined) answer('404 Not Found', Buffer.from('blob unknown\n'));
      else answer('200 OK', blob.bytes, ['Content-Type: application/octet-stream', `Docker-Content-Digest: ${blob.digest}`]);
    });
    // A client that ends before a full head gets nothing more.
    socket.on('end', () => {
      if (!answered) socket.end();
    });
  });
  return { ...backend, blobs };
}

/**
 * Reads everything until the client ends its side, then answers
 * "<bytes> sha256:<hex>\n" and ends: the answer exists only if the client's
 * end-of-stream arrived (half-close) after all its bytes.
 */
export function startDigestBackend(platform: Platform): Promise<LabBackend> {
  return startCountingBackend(platform, (socket, counters) => {
    const hash = createHash('sha256');
    let length = 0;
    socket.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      length += chunk.length;
    });
    socket.on('end', () => {
      const answer = Buffer.from(`${length} sha256:${hash.digest('hex')}\n`);
      counters.bytesOut += answer.length;
      socket.end(answer);
    });
  });
}

export function digestAnswer(bytes: Buffer): string {
  return `${bytes.length} ${sha256Digest(bytes)}\n`;
}

async function startCountingBackend(
  platform: Platform,
  serve: (socket: StreamSocket, counters: BackendCounters) => void,
): Promise<LabBackend> {
  const counters: BackendCounters = { connections: 0, bytesIn: 0, bytesOut: 0 };
  const sockets = new Set<StreamSocket>();
  const listener: StreamListener = await platform.streams.listen({ host: LOOPBACK, port: 0, allowHalfOpen: true }, (socket) => {
    counters.connections += 1;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      counters.bytesIn += chunk.length;
    });
    serve(socket, counters);
  });
  return {
    port: listener.port,
    counters: () => ({ ...counters }),
    async close() {
      for (const socket of sockets) socket.destroy();
      await listener.close();
    },
  };
}

// ---------------------------------------------------------------- local clients

/** How one local connection went, as its client saw it. */
export interface ExchangeResult {
  received: Buffer;
  /** A clean end-of-stream (FIN) came from the other side. */
  ended: boolean;
  /** The socket error, e.g. ECONNRESET: set when the connection failed. */
  errorCode: string | undefined;
}

export interface ExchangeOptions {
  /** End our side right after writing (half-close). Default true. */
  end?: boolean;
  timeoutMs?: number;
  /** Bound on what is kept; more is an error. Default 64 MiB. */
  bytesMax?: number;
}

/**
 * One connection to 127.0.0.1:port: write `payload`, optionally end our side,
 * read until the connection closes. Resolves however it closed (reset
 * included: see errorCode); rejects only on the time or size bound.
 */
export function exchange(port: number, payload: Buffer | string, options: ExchangeOptions = {}): Promise<ExchangeResult> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const bytesMax = options.bytesMax ?? 64 * 1024 * 1024;
  return new Promise<ExchangeResult>((resolve, reject) => {
    const socket = net.connect({ host: LOOPBACK, port });
    const chunks: Buffer[] = [];
    let length = 0;
    let ended = false;
    let errorCode: string | undefined;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`exchange with 127.0.0.1:${port}: not closed within ${timeoutMs} ms (${length} bytes, ended ${ended})`));
    }, timeoutMs);
    socket.on('connect', () => {
      socket.write(payload);
      if (options.end ?? true) socket.end();
    });
    socket.on('data', (chunk: Buffer) => {
      length += chunk.length;
      if (length > bytesMax) {
        clearTimeout(timer);
        socket.destroy();
        reject(new Error(`exchange with 127.0.0.1:${port}: more than ${bytesMax} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    socket.on('end', () => {
      ended = true;
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      errorCode ??= error.code ?? error.message;
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ received: Buffer.concat(chunks), ended, errorCode });
    });
  });
}

export interface TlsExchangeOptions {
  servername: string;
  /** The CA that signed the server's certificate. */
  caPem: string;
  /** The client certificate and key; omitted: a client without a certificate. */
  client?: { certPem: string; keyPem: string };
  payload?: Buffer | string;
  timeoutMs?: number;
}

export interface TlsExchangeResult extends ExchangeResult {
  secureConnect: boolean;
  /** TLS 1.3 session tickets received ('session' events). */
  sessionTickets: number;
}

/**
 * A TLS 1.3 client straight to a DU (the gateway or haproxy) on 127.0.0.1,
 * without comms: writes `payload` after the handshake and reads until close.
 */
export function tlsExchange(port: number, options: TlsExchangeOptions): Promise<TlsExchangeResult> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return new Promise<TlsExchangeResult>((resolve, reject) => {
    const socket = tls.connect({
      host: LOOPBACK,
      port,
      servername: options.servername,
      ca: options.caPem,
      ...(options.client === undefined ? {} : { cert: options.client.certPem, key: options.client.keyPem }),
      minVersion: 'TLSv1.3',
      checkServerIdentity: () => undefined,
    });
    const chunks: Buffer[] = [];
    const result = { ended: false, errorCode: undefined as string | undefined, secureConnect: false, sessionTickets: 0 };
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`tlsExchange with 127.0.0.1:${port}: not closed within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('secureConnect', () => {
      result.secureConnect = true;
      if (options.payload !== undefined) socket.write(options.payload);
    });
    socket.on('session', () => {
      result.sessionTickets += 1;
    });
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => {
      result.ended = true;
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      result.errorCode ??= error.code ?? error.message;
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ ...result, received: Buffer.concat(chunks) });
    });
  });
}

export interface BlobFetch {
  /** 0 when no response head came. */
  status: number;
  /** The response's Content-Length (-1 without one): a body of another length was cut or padded. */
  contentLength: number;
  body: Buffer;
  /** sha256 of the body, `sha256:<hex>`. */
  digest: string;
  /** The raw exchange: bytes on the wire both ways, how it ended. */
  exchange: ExchangeResult;
  requestBytes: number;
}

/**
 * GET one blob through 127.0.0.1:port (a comms service port). With
 * `halfClose` the client ends its side right after the request and must
 * still get the whole answer.
 */
export async function fetchBlob(port: number, digest: string, options: { halfClose?: boolean; timeoutMs?: number } = {}): Promise<BlobFetch> {
  const request = Buffer.from(`GET ${blobPath(digest)} HTTP/1.1\r\nHost: registry\r\nConnection: close\r\n\r\n`, 'latin1');
  const result = await exchange(port, request, { end: options.halfClose ?? false, ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }) });
  const headEnd = result.received.indexOf('\r\n\r\n');
  const head = headEnd < 0 ? '' : result.received.subarray(0, headEnd).toString('latin1');
  const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(head)?.[1] ?? 0);
  const body = headEnd < 0 ? Buffer.alloc(0) : result.received.subarray(headEnd + 4);
  const contentLength = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? -1);
  return { status, contentLength, body, digest: sha256Digest(body), exchange: result, requestBytes: request.length };
}

// ---------------------------------------------------------------- configurations

export interface CommsConfigOptions {
  duPort: number;
  caFile: string;
  host: Pick<HostFiles, 'certFile' | 'keyFile'>;
  services: readonly { name: string; sni: string; listenPort?: number }[];
  /** Through the project's (or any) HTTP CONNECT proxy on 127.0.0.1, with Basic credentials when given. */
  proxy?: { port: number; username?: string; password?: string };
  /** Default 0 (the OS picks; read it from the service or its comms.status_listening line). Omit with null. */
  statusPort?: number | null;
  reloadIntervalMs?: number;
  limits?: Readonly<Record<string, number>>;
}

/** A comms configuration document (src/runtime/comms/README.md), loopback only. */
export function commsConfig(options: CommsConfigOptions): Record<string, unknown> {
  const config: Record<string, unknown> = {
    du: { host: LOOPBACK, port: options.duPort, serverName: DU_SERVER_NAME },
    tls: {
      caFile: options.caFile,
      certFile: options.host.certFile,
      keyFile: options.host.keyFile,
      ...(options.reloadIntervalMs === undefined ? {} : { reloadIntervalMs: options.reloadIntervalMs }),
    },
    services: options.services.map((service) => ({ name: service.name, listenPort: service.listenPort ?? 0, sni: service.sni })),
  };
  if (options.proxy !== undefined) {
    const { port, username, password } = options.proxy;
    const credentials = username === undefined ? '' : `${encodeURIComponent(username)}:${encodeURIComponent(password ?? '')}@`;
    config['proxy'] = { url: `http://${credentials}${LOOPBACK}:${port}` };
  }
  if (options.statusPort !== null) config['status'] = { listenPort: options.statusPort ?? 0 };
  if (options.limits !== undefined) config['limits'] = { ...options.limits };
  return config;
}

export interface GatewayConfigOptions {
  pki: Pick<LabPki, 'caFile' | 'gateway'>;
  /** SNI → backend port on 127.0.0.1. */
  routes: Readonly<Record<string, number>>;
  listenPort?: number;
  revocationFile?: string;
}

/** A du-gateway configuration document (src/runtime/du/config.ts), listening on 127.0.0.1. */
export function gatewayConfig(options: GatewayConfigOptions): Record<string, unknown> {
  return {
    listen: { host: LOOPBACK, port: options.listenPort ?? 0 },
    tls: {
      certFile: options.pki.gateway.certFile,
      keyFile: options.pki.gateway.keyFile,
      caFile: options.pki.caFile,
      ...(options.revocationFile === undefined ? {} : { revocationFile: options.revocationFile }),
    },
    services: Object.entries(options.routes).map(([sni, port]) => ({ sni, backend: { host: LOOPBACK, port } })),
    connectTimeoutMs: 2_000,
    handshakeTimeoutMs: 5_000,
    idleTimeoutMs: 30_000,
  };
}

export interface HaproxyFrontend {
  /** haproxy's frontend name (it appears in the log lines). */
  name: string;
  port: number;
  /** Extra `bind` options, e.g. 'strict-sni'. */
  bindOptions?: string;
}

export interface HaproxyConfigOptions {
  frontends: readonly HaproxyFrontend[];
  pki: Pick<LabPki, 'caFile' | 'gateway'>;
  /** haproxy backend name → the SNI that selects it and its server's port on 127.0.0.1. */
  backends: Readonly<Record<string, { sni: string; port: number }>>;
}

/**
 * haproxy as the DU gateway (DESIGN.md): each frontend binds 127.0.0.1 with
 * TLS (1.3 only) and requires a client certificate from the DU CA; the
 * backend is chosen by the SNI (`ssl_fc_sni`); there is no default backend,
 * so an SNI not listed is refused; backends are plain TCP on 127.0.0.1.
 * Logs (tcplog) go to stderr, which `-db` (foreground) keeps.
 */
export function haproxyConfig(options: HaproxyConfigOptions): string {
  const name = /^[a-z][a-z0-9_-]*$/;
  const backends = Object.entries(options.backends);
  for (const label of [...options.frontends.map((frontend) => frontend.name), ...backends.map(([backend]) => backend)]) {
    if (!name.test(label)) throw new Error(`haproxyConfig: not a plain name: ${JSON.stringify(label)}`);
  }
  const lines = [
    'global',
    '    log stderr format raw local0 info',
    '    maxconn 512',
    '',
    'defaults',
    '    mode tcp',
    '    log global',
    '    option tcplog',
    '    timeout connect 2s',
    '    timeout client 30s',
    '    timeout server 30s',
  ];
  for (const frontend of options.frontends) {
    const bind = `bind ${LOOPBACK}:${frontend.port} ssl crt ${options.pki.gateway.combinedPemFile} ca-file ${options.pki.caFile} verify required ssl-min-ver TLSv1.3`;
    lines.push(
      '',
      `frontend ${frontend.name}`,
      `    ${bind}${frontend.bindOptions === undefined ? '' : ` ${frontend.bindOptions}`}`,
      ...backends.map(([backend, route]) => `    use_backend ${backend} if { ssl_fc_sni -i ${route.sni} }`),
      '    # no default_backend: an SNI not listed above is refused',
    );
  }
  for (const [backend, route] of backends) {
    lines.push('', `backend ${backend}`, `    server ${backend}1 ${LOOPBACK}:${route.port}`);
  }
  return `${lines.join('\n')}\n`;
}

/** One connection as haproxy's tcplog line tells it (`option tcplog`, `log … format raw`). */
export interface HaproxyTcpLogLine {
  /** When haproxy accepted the connection (its `[%t]`, millisecond precision, local time). */
  acceptedAtMs: number;
  frontend: string;
  /** The frontend's own name when no backend was chosen (with server `<NOSRV>`). */
  backend: string;
  server: string;
  /** Bytes sent to the client. */
  bytesRead: number;
  /** Two letters: `--` a normal end; `SC` no server (no use_backend matched); `CD` the client aborted in the data phase… */
  termination: string;
}

/** A handshake haproxy refused, from its `<frontend>/<bind>: <reason>` line (no tcplog line is written for it). */
export interface HaproxyHandshakeFailure {
  acceptedAtMs: number;
  frontend: string;
  reason: string;
}

const HAPROXY_MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const HAPROXY_TIME = String.raw`\[(\d\d)\/(\w{3})\/(\d{4}):(\d\d):(\d\d):(\d\d)\.(\d{3})\]`;

function haproxyTimeMs(match: RegExpExecArray): number {
  const [day, month, year, hours, minutes, seconds, ms] = match.slice(1, 8);
  return new Date(Number(year), HAPROXY_MONTHS.indexOf(month as string), Number(day), Number(hours), Number(minutes), Number(seconds), Number(ms)).getTime();
}

/**
 * haproxy's tcplog lines among `lines`, accepted at or after `sinceMs` (a
 * connection is logged when it ends, so a line can come late: select by
 * accept time, not by position).
 */
export function haproxyTcpLog(lines: readonly string[], sinceMs = 0): HaproxyTcpLogLine[] {
  const pattern = new RegExp(String.raw`^\S+ ${HAPROXY_TIME} (\S+?)~? (\S+)\/(\S+) -?\d+\/-?\d+\/-?\d+ (\d+) (\S\S) `);
  const parsed: HaproxyTcpLogLine[] = [];
  for (const line of lines) {
    const match = pattern.exec(line);
    if (match === null) continue;
    const acceptedAtMs = haproxyTimeMs(match);
    if (acceptedAtMs < sinceMs) continue;
    parsed.push({ acceptedAtMs, frontend: match[8] as string, backend: match[9] as string, server: match[10] as string, bytesRead: Number(match[11]), termination: match[12] as string });
  }
  return parsed;
}

/** haproxy's lines for handshakes it refused on `frontend`, accepted at or after `sinceMs`. */
export function haproxyHandshakeFailures(lines: readonly string[], frontend: string, sinceMs = 0): HaproxyHandshakeFailure[] {
  const pattern = new RegExp(String.raw`^\S+ ${HAPROXY_TIME} ([^\s/]+)\/\S+: (.+)$`);
  const parsed: HaproxyHandshakeFailure[] = [];
  for (const line of lines) {
    const match = pattern.exec(line);
    if (match === null || match[8] !== frontend) continue;
    const acceptedAtMs = haproxyTimeMs(match);
    if (acceptedAtMs >= sinceMs) parsed.push({ acceptedAtMs, frontend, reason: match[9] as string });
  }
  return parsed;
}

export async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** comms in this process from a configuration file, checked as `comms --config <file>` checks it. */
export async function startCommsFromFile(platform: Platform, file: string): Promise<CommsService> {
  return startComms(platform, loadCommsConfig(await readJsonConfig(platform.files, file), file), file);
}

/** The DU gateway in this process from a configuration file, checked as `du-gateway --config <file>` checks it. */
export async function startGatewayFromFile(platform: Platform, file: string): Promise<DuGateway> {
  return startDuGateway(platform, loadDuGatewayConfig(await readJsonConfig(platform.files, file), file));
}

// ---------------------------------------------------------------- processes

/** `npm run build -- --outdir <outdir>`: dist/comms.mjs, dist/du-gateway.mjs, dist/http-proxy.mjs, … */
export async function buildBundles(outdir: string): Promise<void> {
  try {
    await execFileAsync(join('node_modules', '.bin', 'tsx'), ['cli/build.ts', '--outdir', outdir], { timeout: 90_000 });
  } catch (error) {
    throw new Error(`npm run build failed: ${(error as { stderr?: string }).stderr ?? String(error)}`, { cause: error });
  }
}

/** A child process whose stderr/stdout are kept (bounded) and whose JSON log lines are parsed. */
export interface ServiceProcess {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Parsed JSON lines with this `event`, in order. */
  events(event: string): Record<string, unknown>[];
  /** Every complete output line (stdout and stderr), in order, bounded. */
  lines(): readonly string[];
  /** Resolves with the first line with `event` (and matching `where`), or rejects after timeoutMs or if the process exits. */
  waitForEvent(event: string, timeoutMs?: number, where?: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  /** The last output, for failure messages. */
  output(): string;
  /** SIGTERM, then SIGKILL after graceMs; resolves with how it exited. Idempotent. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const OUTPUT_CHARS_MAX = 256 * 1024;
const LINES_MAX = 20_000;

export function startServiceProcess(name: string, command: string, args: readonly string[]): ServiceProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  // A spawn that fails (ENOENT) reports it as 'error', after pid came back undefined.
  child.on('error', () => undefined);
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  const pid = child.pid;
  const lines: Record<string, unknown>[] = [];
  const textLines: string[] = [];
  const waiters = new Set<() => void>();
  let output = '';
  let partial = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve({ code, signal });
      for (const waiter of [...waiters]) waiter();
    });
  });
  let exitedAt: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void exited.then((result) => (exitedAt = result));
  const onData = (data: Buffer): void => {
    const text = data.toString('utf8');
    output = (output + text).slice(-OUTPUT_CHARS_MAX);
    partial += text;
    const complete = partial.split('\n');
    partial = complete.pop() ?? '';
    for (const line of complete) {
      if (textLines.length < LINES_MAX) textLines.push(line);
      if (!line.startsWith('{') || lines.length >= LINES_MAX) continue;
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // Not a log line.
      }
    }
    for (const waiter of [...waiters]) waiter();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const events = (event: string): Record<string, unknown>[] => lines.filter((line) => line['event'] === event);
  return {
    name,
    pid,
    child,
    events,
    lines: () => textLines,
    output: () => output,
    waitForEvent(event, timeoutMs = 10_000, where = () => true) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const line = events(event).find(where);
          if (line !== undefined) return finish(() => resolve(line));
          if (exitedAt !== undefined) {
            finish(() => reject(new Error(`${name} exited (${exitedAt?.code ?? exitedAt?.signal}) before ${event}; output:\n${output.slice(-4000)}`)));
          }
        };
        const finish = (settle: () => void): void => {
          clearTimeout(timer);
          waiters.delete(check);
          settle();
        };
        const timer = setTimeout(() => finish(() => reject(new Error(`${name}: no ${event} within ${timeoutMs} ms; output:\n${output.slice(-4000)}`))), timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async stop(graceMs = 5_000) {
      if (exitedAt !== undefined) return exitedAt;
      // Our own child, by its pid; it may have exited a moment ago (ESRCH).
      const signal = (name: NodeJS.Signals): void => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        try {
          process.kill(pid, name);
        } catch {
          // Already gone: 'exit' is on its way.
        }
      };
      signal('SIGTERM');
      const timer = setTimeout(() => signal('SIGKILL'), graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}

/** Why haproxy tests cannot run here (no binary), or undefined. */
export async function haproxyUnavailable(binary = 'haproxy'): Promise<string | undefined> {
  try {
    await execFileAsync(binary, ['-v'], { timeout: 10_000 });
    return undefined;
  } catch {
    return `needs the "${binary}" binary (Debian package: haproxy)`;
  }
}

/** `haproxy -c -f <file>`: throws with haproxy's own output when the configuration is refused. Returns that output. */
export async function checkHaproxyConfig(configFile: string, binary = 'haproxy'): Promise<string> {
  try {
    const { stdout, stderr } = await execFileAsync(binary, ['-c', '-f', configFile], { timeout: 10_000 });
    return `${stdout}${stderr}`;
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`haproxy -c -f ${configFile} refused the configuration:\n${stdout}${stderr}`, { cause: error });
  }
}

/** `haproxy -f <file> -db` (foreground) as a ServiceProcess, once each of `ports` accepts TCP. */
export async function startHaproxy(configFile: string, ports: readonly number[], binary = 'haproxy'): Promise<ServiceProcess> {
  const haproxy = startServiceProcess('haproxy', binary, ['-f', configFile, '-db']);
  try {
    for (const port of ports) await waitForPort(port, 10_000, () => haproxy.child.exitCode !== null || haproxy.child.signalCode !== null);
  } catch (error) {
    await haproxy.stop(1_000);
    throw new Error(`${(error as Error).message}; haproxy output:\n${haproxy.output().slice(-4000)}`, { cause: error });
  }
  return haproxy;
}

/** Polls 127.0.0.1:port until a TCP connection is accepted (then closes it), bounded. */
export async function waitForPort(port: number, timeoutMs = 10_000, gaveUp: () => boolean = () => false): Promise<void> {
  const pollMs = 50;
  for (let waitedMs = 0; waitedMs <= timeoutMs; waitedMs += pollMs) {
    if (gaveUp()) throw new Error(`127.0.0.1:${port}: the process exited before it listened`);
    const accepted = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: LOOPBACK, port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (accepted) return;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  throw new Error(`127.0.0.1:${port}: no listener within ${timeoutMs} ms`);
}

/** GET /metrics on comms' status port: every sample as `name{labels}` → value. */
export async function readCommsMetrics(statusPort: number, timeoutMs = 5_000): Promise<Map<string, number>> {
  const result = await exchange(statusPort, 'GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n', { end: false, timeoutMs });
  const text = result.received.toString('utf8');
  if (!text.startsWith('HTTP/1.1 200 OK\r\n')) throw new Error(`comms status: ${JSON.stringify(text.slice(0, 200))}`);
  const samples = new Map<string, number>();
  for (const line of text.slice(text.indexOf('\r\n\r\n') + 4).split('\n')) {
    const match = /^(\w+(?:\{[^}]*\})?) (\d+(?:\.\d+)?)$/.exec(line);
    if (match !== null) samples.set(match[1] as string, Number(match[2]));
  }
  return samples;
}
