// The platform seam. Runtime code (hostagent, nodelet, comms, keepalived, du,
// proxy) is written against these interfaces only; the simulation
// (sim/network/platform) and real Linux hosts (./real) implement them.
// See DESIGN.md, "The platform seam".
import type { Duplex } from 'node:stream';
import type { EventEmitter } from 'node:events';
import type { TLSSocket, SecureContext, SecureContextOptions, PeerCertificate } from 'node:tls';

export interface Platform {
  /** Name of the host this platform belongs to (sim host name, or the real hostname). */
  readonly hostName: string;
  readonly clock: Clock;
  readonly random: Random;
  readonly streams: Streams;
  readonly tls: Tls;
  readonly datagrams: Datagrams;
  readonly addresses: Addresses;
  readonly processes: Processes;
  readonly files: Files;
  readonly log: Log;
}

// ---------------------------------------------------------------- clock

/** Opaque timer handle; only the clock that made it can clear it. */
export interface TimerHandle {
  readonly timerId: number;
}

export interface Clock {
  /** Milliseconds since the Unix epoch. Virtual in the simulation (1 ms resolution). */
  now(): number;
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  setInterval(callback: () => void, intervalMs: number): TimerHandle;
  /** Clears a timeout or an interval; clearing twice or clearing undefined is a no-op. */
  clearTimer(handle: TimerHandle | undefined): void;
  /** Resolves after delayMs; rejects with an AbortError-coded PlatformError if signal aborts first. */
  sleep(delayMs: number, signal?: AbortSignal): Promise<void>;
}

// ---------------------------------------------------------------- random

export interface Random {
  /** Uniform in [0, 1). */
  float(): number;
  /** Uniform integer in [0, maxExclusive). */
  int(maxExclusive: number): number;
  uint32(): number;
  bytes(length: number): Buffer;
}

// ---------------------------------------------------------------- streams

/**
 * A TCP-like connection. On real hosts this is a `net.Socket`; in the
 * simulation a Duplex over the simulated TCP. Node's `tls` runs on top of it.
 */
export interface StreamSocket extends Duplex {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  readonly localAddress?: string | undefined;
  readonly localPort?: number | undefined;
  readonly connecting: boolean;
  setKeepAlive(enable?: boolean, initialDelayMs?: number): this;
  setNoDelay(noDelay?: boolean): this;
  /** Idle timeout: emits 'timeout' after timeoutMs without activity (0 disables). Does not close. */
  setTimeout(timeoutMs: number, callback?: () => void): this;
  /**
   * Closes the connection with a TCP RST. After end() the real platform can
   * only close (libuv cannot reset a shut-down socket); the simulation resets.
   */
  resetAndDestroy(): this;
}

export interface ConnectOptions {
  /** IPv4 address (or 'localhost'). The real platform also resolves names. */
  host: string;
  port: number;
  localAddress?: string;
  /** When false (the default), the socket ends its writable side once the readable side ends. */
  allowHalfOpen?: boolean;
  /** Enables TCP keepalive after this idle time; probe interval and count are host settings. */
  keepAliveIdleMs?: number;
}

export interface ListenOptions {
  /** Address to bind; '0.0.0.0' for every address of the host. */
  host: string;
  /** 0 picks an ephemeral port. */
  port: number;
  /** Accept-queue bound: connections beyond it are not accepted (SYNs dropped). */
  backlog?: number;
  allowHalfOpen?: boolean;
}

export interface StreamListener {
  readonly address: string;
  readonly port: number;
  /** Stops accepting; established connections are unaffected. */
  close(): Promise<void>;
}

export interface Streams {
  /** Returns at once; the socket emits 'connect', or 'error' (ECONNREFUSED, ETIMEDOUT, EHOSTUNREACH). */
  connect(options: ConnectOptions): StreamSocket;
  listen(options: ListenOptions, onConnection: (socket: StreamSocket) => void): Promise<StreamListener>;
}

// ---------------------------------------------------------------- tls

export interface TlsClientOptions extends SecureContextOptions {
  /** A connected (or connecting) stream from `streams.connect`. */
  socket: StreamSocket;
  /** A context from `createSecureContext`, shared by many connections; the SecureContextOptions are then ignored. */
  secureContext?: SecureContext;
  servername?: string;
  rejectUnauthorized?: boolean;
  checkServerIdentity?: (hostname: string, cert: PeerCertificate) => Error | undefined;
  /** Fails the handshake with ETIMEDOUT after this long (platform clock). */
  handshakeTimeoutMs?: number;
}

export interface TlsServerOptions extends SecureContextOptions {
  requestCert?: boolean;
  rejectUnauthorized?: boolean;
  SNICallback?: (servername: string, callback: (err: Error | null, ctx?: SecureContext) => void) => void;
  handshakeTimeoutMs?: number;
}

/** Turns accepted streams into TLS server sockets, with Node's own certificate checks. */
export interface TlsAcceptor {
  /** Starts a server-side handshake on an accepted stream. */
  accept(socket: StreamSocket): void;
  on(event: 'secureConnection', listener: (socket: TLSSocket) => void): this;
  on(event: 'tlsClientError', listener: (error: Error, socket: TLSSocket) => void): this;
}

export interface Tls {
  connect(options: TlsClientOptions): TLSSocket;
  /** Parses keys and certificates once, for connections that share them. Pure: no I/O, no clock. */
  createSecureContext(options: SecureContextOptions): SecureContext;
  createAcceptor(options: TlsServerOptions): TlsAcceptor;
}

// ---------------------------------------------------------------- datagrams

export interface RemoteInfo {
  address: string;
  port: number;
  size: number;
}

export interface UdpSocket extends EventEmitter {
  readonly address: string;
  readonly port: number;
  send(data: Buffer, port: number, address: string): void;
  addMembership(group: string, interfaceAddress?: string): void;
  dropMembership(group: string, interfaceAddress?: string): void;
  setBroadcast(enabled: boolean): void;
  setMulticastTtl(ttl: number): void;
  close(): Promise<void>;
  on(event: 'message', listener: (data: Buffer, remote: RemoteInfo) => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
}

export interface RawPacketInfo {
  source: string;
  destination: string;
  ttl: number;
  protocol: number;
  /** Interface the packet arrived on. */
  iface: string;
  /**
   * The IPv4 header as it arrived (20 bytes or more): AH authenticates it, so
   * a receiver needs the identification and length fields, not only addresses.
   */
  header: Buffer;
}

export interface RawSendOptions {
  destination: string;
  source?: string;
  ttl?: number;
  /** Outgoing interface (required for multicast). */
  iface?: string;
}

/** An IP-protocol socket (VRRP is protocol 112, AH is 51). */
export interface RawSocket extends EventEmitter {
  readonly protocol: number;
  send(payload: Buffer, options: RawSendOptions): void;
  /**
   * Sends a whole IPv4 datagram whose header the caller built (IP_HDRINCL),
   * as keepalived does: AH covers the header, so the sender must know every
   * field. The platform fills in the header checksum; the identification
   * must be non-zero. `iface` picks the outgoing interface (required for
   * multicast).
   */
  sendDatagram(datagram: Buffer, options: { iface?: string }): void;
  addMembership(group: string, iface: string): void;
  dropMembership(group: string, iface: string): void;
  close(): Promise<void>;
  on(event: 'message', listener: (payload: Buffer, info: RawPacketInfo) => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
}

export interface Datagrams {
  udp(options: { address?: string; port?: number }): Promise<UdpSocket>;
  /** `iface` binds the socket to one interface (SO_BINDTODEVICE): it receives only what arrives there. */
  raw(options: { protocol: number; iface?: string }): Promise<RawSocket>;
}

// ---------------------------------------------------------------- addresses

export interface InterfaceAddress {
  address: string;
  prefixLength: number;
}

export interface InterfaceInfo {
  name: string;
  mac: string;
  up: boolean;
  addresses: InterfaceAddress[];
}

export interface Addresses {
  list(): Promise<InterfaceInfo[]>;
  add(iface: string, address: string, prefixLength: number): Promise<void>;
  remove(iface: string, address: string, prefixLength: number): Promise<void>;
  /** Broadcasts a gratuitous ARP announcing `address` on `iface`. */
  gratuitousArp(iface: string, address: string): Promise<void>;
}

// ---------------------------------------------------------------- processes

/**
 * A service to run. `module` names a service entry point: in the simulation a
 * registered in-process main, on real hosts `dist/<module>.mjs`.
 */
export interface ProcessSpec {
  name: string;
  module: string;
  args?: readonly string[];
}

export type ProcessState = 'running' | 'stopping' | 'stopped' | 'exited' | 'failed';

export interface ProcessStatus {
  name: string;
  module: string;
  state: ProcessState;
  startedAtMs?: number;
  exitCode?: number;
  /** Why a failed process failed. */
  reason?: string;
}

export interface Processes {
  start(spec: ProcessSpec): Promise<void>;
  /** Graceful stop; after timeoutMs the process is killed. */
  stop(name: string, options?: { timeoutMs?: number }): Promise<void>;
  status(name: string): ProcessStatus | undefined;
  list(): ProcessStatus[];
  /** Called whenever a process leaves 'running'. Returns an unsubscribe function. */
  watch(listener: (status: ProcessStatus) => void): () => void;
  /**
   * Runs a short command to completion (keepalived's track and notify
   * scripts): killed after timeoutMs. Never rejects for the command's own
   * failure; a command that cannot start resolves with `startError`.
   */
  exec(command: string, args: readonly string[], options: ExecOptions): Promise<ExecResult>;
}

export interface ExecOptions {
  timeoutMs: number;
}

export interface ExecResult {
  /** Undefined when killed or never started. */
  exitCode: number | undefined;
  timedOut: boolean;
  /** Why the command could not run (not found, not executable…). */
  startError?: string;
}

/**
 * A command in the simulation: a registered function standing for an
 * executable path (see World.registerCommand). Resolves with the exit code;
 * `signal` aborts when the command is killed.
 */
export type CommandMain = (platform: Platform, args: readonly string[], signal: AbortSignal) => Promise<number>;

/** What a service module exports as its main. */
export type ServiceMain = (platform: Platform, args: readonly string[]) => Promise<Service> | Service;

export interface Service {
  /** Graceful shutdown: release sockets and timers, flush state. */
  stop(): Promise<void>;
  /** Resolves or rejects when the service ends on its own. */
  readonly done?: Promise<void>;
}

// ---------------------------------------------------------------- files

export interface FileStat {
  size: number;
  isFile: boolean;
  isDirectory: boolean;
  mode: number;
  mtimeMs: number;
}

/**
 * Per-host files with POSIX durability: data and directory entries survive a
 * crash only once fsync'ed (`fsync` for a file's data, `fsyncDir` for the
 * entries of a directory: creations, renames, removals).
 */
export interface Files {
  readFile(path: string): Promise<Buffer>;
  writeFile(path: string, data: Buffer | string, options?: { mode?: number }): Promise<void>;
  appendFile(path: string, data: Buffer | string): Promise<void>;
  rename(fromPath: string, toPath: string): Promise<void>;
  unlink(path: string): Promise<void>;
  mkdir(path: string, options?: { recursive?: boolean; mode?: number }): Promise<void>;
  readdir(path: string): Promise<string[]>;
  stat(path: string): Promise<FileStat>;
  chmod(path: string, mode: number): Promise<void>;
  fsync(path: string): Promise<void>;
  fsyncDir(path: string): Promise<void>;
}

// ---------------------------------------------------------------- log

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogValue = string | number | boolean | null | undefined;
export type LogFields = Readonly<Record<string, LogValue>>;

/** Structured events: `event` is a stable dotted name, fields are scalars. */
export interface Log {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every event. */
  child(fields: LogFields): Log;
}
