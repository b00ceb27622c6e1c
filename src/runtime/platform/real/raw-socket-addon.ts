// Loads the native half of the `raw-socket` npm addon (nospaceships/node-raw-socket,
// built by node-gyp at `npm ci`). Only its native SocketWrap is used: the
// package's JavaScript layer queues sends and hands out views of one shared
// receive buffer, and raw-socket.ts needs neither.
//
// Where the .node file is:
// - next to the running bundle as `raw-socket.node` (cli/build.ts copies it
//   into dist/, so `node dist/x.mjs` works on a host without node_modules);
// - else in node_modules (tests and tools running the TypeScript sources).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { PlatformError } from '../errors.js';

/** The file name cli/build.ts gives the addon in dist/. */
export const RAW_SOCKET_ADDON_FILE = 'raw-socket.node';
const addonPackagePath = 'raw-socket/build/Release/raw.node';

/**
 * One native raw socket. The addon calls `this.emit(event, ...)` on it:
 * 'recvReady' when readable, 'error' (libuv status) and 'close' from close().
 * Every method throws an Error whose message is strerror(errno).
 */
export interface NativeRawSocket {
  emit: (event: string, ...args: unknown[]) => void;
  close(): void;
  /** Which readiness events to watch; `pause(true, true)` watches none. */
  pause(recvPaused: boolean, sendPaused: boolean): void;
  /** One recvfrom() into `buffer`; calls back synchronously. */
  recv(buffer: Buffer, callback: (buffer: Buffer, bytes: number, source: string) => void): void;
  /** One sendto(); calls back synchronously with the bytes sent. */
  send(buffer: Buffer, offset: number, length: number, address: string, callback: (bytes: number) => void): void;
  /** An int option (4 bytes), or `length` bytes of `value`. */
  setOption(level: number, option: number, value: number | Buffer, length?: number): void;
}

export interface RawSocketBinding {
  /** socket(family === 2 ? AF_INET6 : AF_INET, SOCK_RAW, protocol), non-blocking, watched for reads. */
  SocketWrap: new (protocol: number, family: number) => NativeRawSocket;
}

let loaded: RawSocketBinding | undefined;

export function loadRawSocketBinding(): RawSocketBinding {
  if (loaded !== undefined) return loaded;
  const requireNative = createRequire(import.meta.url);
  const candidates = [fileURLToPath(new URL(`./${RAW_SOCKET_ADDON_FILE}`, import.meta.url))];
  try {
    candidates.push(requireNative.resolve(addonPackagePath));
  } catch {
    // No node_modules here (a deployed bundle): only the copy beside it counts.
  }
  const path = candidates.find((candidate) => existsSync(candidate));
  if (path === undefined) {
    throw new PlatformError(
      'ERR_PLATFORM_UNSUPPORTED',
      `raw IP sockets need the raw-socket addon, found at none of: ${candidates.join(', ')} ` +
        '(npm ci builds it with python3, make and g++; npm run build copies it into dist/)',
    );
  }
  const binding = requireNative(path) as Partial<RawSocketBinding>;
  if (typeof binding.SocketWrap !== 'function') {
    throw new PlatformError('ERR_PLATFORM_UNSUPPORTED', `${path} is not the raw-socket addon: it exports no SocketWrap`);
  }
  loaded = binding as RawSocketBinding;
  return loaded;
}
