// Helpers for tests of the simulated network: a two-host world on one L2
// segment, a recorder that keeps what a stream received and how it ended,
// and a writer that honours backpressure.
//
// Test code drives the world from outside the engine: it opens sockets with
// `host.platform` (the host's own scenario context) and then runs virtual time
// with `world.run(...)`. Anything the host context throws lands in
// world.failures, which every test checks is empty.
import { expect } from 'vitest';
import type { StreamSocket } from '../../src/runtime/platform/types.js';
import { errorCode } from '../../src/runtime/platform/errors.js';
import { World } from '../../sim/network/world.js';
import type { SimHost, HostOptions } from '../../sim/network/host.js';
import type { Segment } from '../../sim/network/segment.js';
import type { LinkProfile } from '../../sim/network/link.js';

export const A_IP = '198.18.0.1';
export const B_IP = '198.18.0.2';
/** On the segment, but no host has it: ARP for it fails. */
export const NOBODY_IP = '198.18.0.99';

export interface TwoHosts {
  world: World;
  lan: Segment;
  /** The client side, 198.18.0.1. */
  a: SimHost;
  /** The server side, 198.18.0.2. */
  b: SimHost;
}

export interface TwoHostsOptions {
  seed?: number;
  link?: Partial<LinkProfile>;
  /** Host settings of both hosts. */
  host?: HostOptions;
}

/** Two hosts, a (198.18.0.1) and b (198.18.0.2), on one segment "lan" (/24). */
export function twoHosts(options: TwoHostsOptions = {}): TwoHosts {
  const world = new World({ seed: options.seed ?? 1 });
  const lan = world.segment('lan', options.link ?? {});
  const a = world.host('a', options.host ?? {});
  const b = world.host('b', options.host ?? {});
  world.attach(a, lan, `${A_IP}/24`);
  world.attach(b, lan, `${B_IP}/24`);
  return { world, lan, a, b };
}

/** Virtual ms since the start of the run. */
export function nowMs(world: World): number {
  return world.engine.elapsedMs();
}

/** What one socket saw, with the virtual times of its endings. */
export interface StreamRecording {
  chunks: Buffer[];
  bytes: number;
  ended: boolean;
  endAtMs: number | undefined;
  error: Error | undefined;
  errorCode: string | undefined;
  errorAtMs: number | undefined;
  closed: boolean;
  connected: boolean;
  connectAtMs: number | undefined;
  /** Virtual time of the last 'data' event. */
  lastDataAtMs: number | undefined;
  received(): Buffer;
}

/** Listens to everything `socket` emits (reading it in flowing mode unless `read` is false). */
export function record(world: World, socket: StreamSocket, options: { read?: boolean } = {}): StreamRecording {
  const recording: StreamRecording = {
    chunks: [],
    bytes: 0,
    ended: false,
    endAtMs: undefined,
    error: undefined,
    errorCode: undefined,
    errorAtMs: undefined,
    closed: false,
    connected: false,
    connectAtMs: undefined,
    lastDataAtMs: undefined,
    received: () => Buffer.concat(recording.chunks),
  };
  if (options.read ?? true) {
    socket.on('data', (chunk: Buffer) => {
      recording.chunks.push(chunk);
      recording.bytes += chunk.length;
      recording.lastDataAtMs = nowMs(world);
    });
  }
  socket.on('connect', () => {
    recording.connected = true;
    recording.connectAtMs = nowMs(world);
  });
  socket.on('end', () => {
    recording.ended = true;
    recording.endAtMs = nowMs(world);
  });
  socket.on('error', (error: Error) => {
    // Only the first error counts: it is the one that ended the connection.
    if (recording.error !== undefined) return;
    recording.error = error;
    recording.errorCode = errorCode(error);
    recording.errorAtMs = nowMs(world);
  });
  socket.on('close', () => {
    recording.closed = true;
  });
  return recording;
}

/** What a writer did: bytes accepted by write(), calls that returned false, 'drain' events. */
export interface WriteProgress {
  bytesWritten: number;
  falseReturns: number;
  drains: number;
  /** Virtual time of each 'drain'. */
  drainAtMs: number[];
  lastFalseAtMs: number | undefined;
  ended: boolean;
}

/**
 * Writes `data` in chunks of the given sizes (cycled), honouring backpressure
 * (stops when write() returns false, goes on at 'drain'), then ends the
 * writable side unless `end` is false. Starts at once: writes before 'connect'
 * are queued by the socket.
 */
export function writeAll(
  world: World,
  socket: StreamSocket,
  data: Buffer,
  options: { chunkSizes?: readonly number[]; end?: boolean } = {},
): WriteProgress {
  const chunkSizes = options.chunkSizes ?? [16 * 1024];
  for (const size of chunkSizes) if (!(Number.isInteger(size) && size > 0)) throw new RangeError(`bad chunk size ${size}`);
  const progress: WriteProgress = { bytesWritten: 0, falseReturns: 0, drains: 0, drainAtMs: [], lastFalseAtMs: undefined, ended: false };
  let offset = 0;
  let chunkIndex = 0;
  const pump = (): void => {
    while (offset < data.length) {
      if (socket.destroyed) return;
      const size = chunkSizes[chunkIndex++ % chunkSizes.length] as number;
      const chunk = data.subarray(offset, offset + size);
      offset += chunk.length;
      progress.bytesWritten += chunk.length;
      if (!socket.write(chunk)) {
        progress.falseReturns++;
        progress.lastFalseAtMs = nowMs(world);
        return;
      }
    }
    if ((options.end ?? true) && !progress.ended && !socket.destroyed) {
      progress.ended = true;
      socket.end();
    }
  };
  socket.on('drain', () => {
    progress.drains++;
    progress.drainAtMs.push(nowMs(world));
    pump();
  });
  pump();
  return progress;
}

/** Deterministic test bytes (not all zero, so misplaced bytes show). */
export function pattern(length: number, salt = 0): Buffer {
  const out = Buffer.alloc(length);
  let state = (0x9e3779b9 ^ salt) >>> 0;
  for (let i = 0; i < length; i++) {
    // xorshift32
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    out[i] = state & 0xff;
  }
  return out;
}

/** True when `prefix` is exactly the first bytes of `whole`. */
export function isPrefix(prefix: Buffer, whole: Buffer): boolean {
  return prefix.length <= whole.length && whole.subarray(0, prefix.length).equals(prefix);
}

/** Runs until `done()` holds, failing if it does not hold by `limitMs` (virtual). Returns the time reached. */
export async function runUntil(world: World, done: () => boolean, limitMs: number): Promise<number> {
  const reachedMs = await world.run({ untilMs: limitMs, stopWhen: done });
  if (!done()) throw new Error(`condition not reached by t=${limitMs} ms (virtual)`);
  return reachedMs;
}

/** The run had no failure in scenario code (an exception in a handler of the host context). */
export function expectNoFailures(world: World): void {
  expect(world.failures.map((failure) => `${failure.host}@${failure.atMs}: ${String(failure.error)}`)).toEqual([]);
}
