// A bulk-transfer workload whose every byte is accounted for.
//
// Client: sends a header line {"id","up","sha256"}, then `up` bytes, then
// half-closes. Server: at end-of-stream checks count and digest, answers with
// a header line {"down","sha256"} and `down` bytes, then ends. Client: checks
// count and digest at end-of-stream.
//
// Each end records its outcome in a shared ledger (the scenario's god's-eye
// view). A clean end-of-stream after the wrong bytes is "truncated" or
// "corrupt": that is the transport failing silently, which no fault excuses.
import { createHash } from 'node:crypto';
import type { Platform, StreamSocket } from '../../src/runtime/platform/types.js';
import { errorCode } from '../../src/runtime/platform/errors.js';

export type EndState = 'pending' | 'ok' | 'error' | 'truncated' | 'corrupt';

export interface StreamEnd {
  state: EndState;
  detail: string;
  atMs: number;
}

export interface StreamRecord {
  id: string;
  host: string;
  via: string;
  upBytes: number;
  downBytes: number;
  startedAtMs: number;
  client: StreamEnd;
  /** Undefined while the server has not seen the stream's header. */
  server: StreamEnd | undefined;
}

const HEADER_BYTES_MAX = 512;
const DOWNLOAD_BYTES_MAX = 16 * 1024 * 1024;
const WRITE_CHUNK_BYTES = 16 * 1024;

export class StreamLedger {
  readonly streams = new Map<string, StreamRecord>();
  /** Ends still pending: allSettled() is checked after every event, so it must be O(1). */
  private pendingEnds = 0;

  open(record: Omit<StreamRecord, 'client' | 'server'>): StreamRecord {
    if (this.streams.has(record.id)) throw new Error(`stream ${record.id} opened twice`);
    const full: StreamRecord = { ...record, client: { state: 'pending', detail: '', atMs: record.startedAtMs }, server: undefined };
    this.streams.set(record.id, full);
    this.pendingEnds++;
    return full;
  }

  /** The server end of a stream appears once the server has read its header. */
  openServerEnd(record: StreamRecord, atMs: number): StreamEnd {
    if (record.server !== undefined) throw new Error(`stream ${record.id} reached the server twice`);
    record.server = { state: 'pending', detail: '', atMs };
    this.pendingEnds++;
    return record.server;
  }

  /** Moves an end out of pending; a settled end never changes again (its first verdict stands). */
  settle(end: StreamEnd, state: Exclude<EndState, 'pending'>, detail: string, atMs: number): void {
    if (end.state !== 'pending') return;
    this.pendingEnds--;
    end.state = state;
    end.detail = detail;
    end.atMs = atMs;
  }

  allSettled(): boolean {
    return this.pendingEnds === 0;
  }
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Writes `data` in chunks, honouring backpressure, then ends the writable side. */
function writeAllThenEnd(socket: StreamSocket, data: Buffer): void {
  let offset = 0;
  const pump = (): void => {
    while (offset < data.length) {
      const chunk = data.subarray(offset, offset + WRITE_CHUNK_BYTES);
      offset += chunk.length;
      if (!socket.write(chunk)) {
        socket.once('drain', pump);
        return;
      }
    }
    socket.end();
  };
  pump();
}

/** Reads a header line then a body of the announced size, checking count and digest at the end. */
class FramedReader {
  private header: Buffer = Buffer.alloc(0);
  parsed: Record<string, unknown> | undefined;
  private readonly hash = createHash('sha256');
  bodyBytes = 0;

  /** Returns an error text when the input is malformed, else undefined. */
  push(chunk: Buffer): string | undefined {
    if (this.parsed === undefined) {
      const joined = Buffer.concat([this.header, chunk]);
      const newline = joined.indexOf(0x0a);
      if (newline < 0) {
        if (joined.length > HEADER_BYTES_MAX) return `header longer than ${HEADER_BYTES_MAX} bytes`;
        this.header = joined;
        return undefined;
      }
      try {
        this.parsed = JSON.parse(joined.subarray(0, newline).toString('utf8')) as Record<string, unknown>;
      } catch {
        return 'header is not JSON';
      }
      chunk = joined.subarray(newline + 1);
    }
    this.hash.update(chunk);
    this.bodyBytes += chunk.length;
    return undefined;
  }

  /** At end-of-stream: the verdict on what arrived against what the header announced. */
  verdict(expectedBytes: number, expectedSha256: string): { state: 'ok' | 'truncated' | 'corrupt'; detail: string } {
    if (this.parsed === undefined) return { state: 'truncated', detail: 'end-of-stream before the header' };
    if (this.bodyBytes < expectedBytes) return { state: 'truncated', detail: `${this.bodyBytes} of ${expectedBytes} bytes` };
    if (this.bodyBytes > expectedBytes) return { state: 'corrupt', detail: `${this.bodyBytes} bytes, ${expectedBytes} announced` };
    const digest = this.hash.digest('hex');
    if (digest !== expectedSha256) return { state: 'corrupt', detail: 'digest mismatch' };
    return { state: 'ok', detail: `${expectedBytes} bytes` };
  }
}

function describeError(error: unknown): string {
  return errorCode(error) ?? (error instanceof Error ? error.message : String(error));
}

/** Serves the bulk protocol on `port` of every address of the host. */
export async function serveBulk(platform: Platform, ledger: StreamLedger, port: number, keepAliveIdleMs: number): Promise<() => Promise<void>> {
  const listener = await platform.streams.listen({ host: '0.0.0.0', port, allowHalfOpen: true }, (socket) => {
    socket.setKeepAlive(true, keepAliveIdleMs);
    const reader = new FramedReader();
    let record: StreamRecord | undefined;
    const settle = (state: Exclude<EndState, 'pending'>, detail: string): void => {
      if (record?.server !== undefined) ledger.settle(record.server, state, detail, platform.clock.now());
    };
    socket.on('data', (chunk: Buffer) => {
      const problem = reader.push(chunk);
      if (problem !== undefined) {
        settle('corrupt', problem);
        socket.resetAndDestroy();
        return;
      }
      if (record === undefined && reader.parsed !== undefined) {
        record = ledger.streams.get(String(reader.parsed['id']));
        if (record === undefined) {
          socket.resetAndDestroy();
          return;
        }
        ledger.openServerEnd(record, platform.clock.now());
      }
    });
    socket.on('end', () => {
      if (record === undefined) {
        socket.destroy();
        return;
      }
      const header = reader.parsed ?? {};
      const verdict = reader.verdict(Number(header['up']), String(header['sha256']));
      if (verdict.state !== 'ok') {
        settle(verdict.state, `upload: ${verdict.detail}`);
        socket.resetAndDestroy();
        return;
      }
      const downBytes = Number(header['down']);
      if (!Number.isSafeInteger(downBytes) || downBytes < 0 || downBytes > DOWNLOAD_BYTES_MAX) {
        settle('corrupt', `bad download size ${String(header['down'])}`);
        socket.resetAndDestroy();
        return;
      }
      const body = platform.random.bytes(downBytes);
      socket.write(`${JSON.stringify({ down: body.length, sha256: sha256(body) })}\n`);
      writeAllThenEnd(socket, body);
      socket.once('finish', () => settle('ok', `${verdict.detail} up verified, ${body.length} down sent`));
    });
    socket.on('error', (error) => settle('error', describeError(error)));
    socket.on('close', () => settle('error', 'closed before completing'));
  });
  return () => listener.close();
}

export interface BulkClientOptions {
  ledger: StreamLedger;
  id: string;
  host: string;
  via: string;
  upBytes: number;
  downBytes: number;
  /** Opens the transport: directly, or through a proxy. */
  open: () => Promise<StreamSocket>;
  /** A slow reader: stop reading for this long once the download starts (zero windows, persist probes). */
  readPauseMs?: number;
}

/** Runs one client stream to completion or error, recording its end in the ledger. */
export async function runBulkClient(platform: Platform, options: BulkClientOptions): Promise<void> {
  const { ledger } = options;
  const record = ledger.open({
    id: options.id,
    host: options.host,
    via: options.via,
    upBytes: options.upBytes,
    downBytes: options.downBytes,
    startedAtMs: platform.clock.now(),
  });
  const settle = (state: Exclude<EndState, 'pending'>, detail: string): void =>
    ledger.settle(record.client, state, detail, platform.clock.now());
  let socket: StreamSocket;
  try {
    socket = await options.open();
  } catch (error) {
    settle('error', `open: ${describeError(error)}`);
    return;
  }
  const body = platform.random.bytes(options.upBytes);
  const reader = new FramedReader();
  let paused = false;
  socket.on('data', (chunk: Buffer) => {
    if (!paused && options.readPauseMs !== undefined) {
      paused = true;
      socket.pause();
      platform.clock.setTimeout(() => socket.resume(), options.readPauseMs);
    }
    const problem = reader.push(chunk);
    if (problem !== undefined) {
      settle('corrupt', problem);
      socket.resetAndDestroy();
    }
  });
  socket.on('end', () => {
    const announced = reader.parsed;
    const verdict = reader.verdict(options.downBytes, String(announced?.['sha256']));
    if (announced !== undefined && announced['down'] !== options.downBytes) {
      settle('corrupt', `server announced ${String(announced['down'])} bytes, expected ${options.downBytes}`);
    } else {
      settle(verdict.state, `download: ${verdict.detail}`);
    }
    socket.destroy();
  });
  socket.on('error', (error) => settle('error', describeError(error)));
  socket.on('close', () => settle('error', 'closed before completing'));
  socket.write(`${JSON.stringify({ id: options.id, up: body.length, down: options.downBytes, sha256: sha256(body) })}\n`);
  writeAllThenEnd(socket, body);
}
