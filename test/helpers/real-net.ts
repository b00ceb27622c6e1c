// Helpers for tests on the real platform over 127.0.0.1: bounded waits, and
// a log stream that keeps the JSON lines for assertions.
import { once } from 'node:events';
import type { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import type { Duplex } from 'node:stream';

/** Waits for `event`, failing after timeoutMs instead of hanging the suite. */
export async function onceWithin<T extends unknown[] = unknown[]>(emitter: EventEmitter, event: string, timeoutMs = 5_000): Promise<T> {
  return (await once(emitter, event, { signal: AbortSignal.timeout(timeoutMs) })) as T;
}

/** Waits for 'close' whatever came before it (an 'error' included), failing after timeoutMs. */
export function closedWithin(stream: Duplex, timeoutMs = 5_000): Promise<void> {
  if (stream.closed) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no close within ${timeoutMs} ms`)), timeoutMs);
    stream.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Reads a stream to its end (or close), bounded in bytes and time. */
export function readToEnd(stream: Duplex, options: { timeoutMs?: number; bytesMax?: number } = {}): Promise<Buffer> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const bytesMax = options.bytesMax ?? 16 * 1024 * 1024;
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const timer = setTimeout(() => reject(new Error(`readToEnd: no end within ${timeoutMs} ms`)), timeoutMs);
    const finish = (): void => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    };
    stream.on('data', (chunk: Buffer) => {
      length += chunk.length;
      if (length > bytesMax) {
        clearTimeout(timer);
        reject(new Error(`readToEnd: more than ${bytesMax} bytes`));
        stream.destroy();
        return;
      }
      chunks.push(chunk);
    });
    stream.once('end', finish);
    stream.once('close', finish);
    // A stream paused explicitly (readUntil does) stays paused when a 'data' listener is added.
    stream.resume();
  });
}

/** Reads until `predicate` holds for the bytes so far. */
export function readUntil(stream: Duplex, predicate: (received: Buffer) => boolean, timeoutMs = 5_000): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    let received = Buffer.alloc(0);
    const cleanup = (): void => {
      clearTimeout(timer);
      stream.removeListener('data', onData);
      stream.removeListener('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      received = Buffer.concat([received, chunk]);
      if (predicate(received)) {
        cleanup();
        stream.pause();
        resolve(received);
      }
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error(`readUntil: closed after ${received.length} bytes: ${JSON.stringify(received.toString('latin1').slice(0, 200))}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`readUntil: timed out after ${timeoutMs} ms with ${JSON.stringify(received.toString('latin1').slice(0, 200))}`));
    }, timeoutMs);
    stream.on('data', onData);
    stream.once('close', onClose);
    stream.resume();
  });
}

/** A Writable that keeps JSON log lines (bounded) for assertions. */
export class LogCapture extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  readonly linesMax: number;

  constructor(linesMax = 10_000) {
    super();
    this.linesMax = linesMax;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    for (const text of chunk.toString('utf8').split('\n')) {
      if (text === '' || this.lines.length >= this.linesMax) continue;
      this.lines.push(JSON.parse(text) as Record<string, unknown>);
    }
    callback();
  }

  events(name: string): Record<string, unknown>[] {
    return this.lines.filter((line) => line['event'] === name);
  }
}
