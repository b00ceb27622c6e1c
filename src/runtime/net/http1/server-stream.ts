// Runs a streaming response on a connection whose head is already written:
// hands the handler's `stream` its write/end/onClose/onDrain, and enforces
// the bound on what may sit in the socket's write buffer. A writer that
// honours backpressure never gets near it; one that ignores `false` is cut
// off (connection closed, onClose called) instead of growing memory.
import type { Log, StreamSocket } from '../../platform/types.js';
import { encodeChunk, LAST_CHUNK } from './chunked-encoder.js';
import type { StreamFraming } from './server-response.js';
import type { HttpStreamResponse } from './server-types.js';

export interface StreamContext {
  socket: StreamSocket;
  framing: StreamFraming;
  streamBufferedBytesMax: number;
  log: Log;
  /** Fields for log events (method, path, remote). */
  logFields: Readonly<Record<string, string>>;
  /** Ends the response: writes `last` (if any) and closes the connection politely. */
  finish(last: Buffer | undefined): void;
}

export function runStream(context: StreamContext, response: HttpStreamResponse): void {
  const { socket, framing, log } = context;
  // The answer to HEAD has no body: there is nothing to stream, and no watch to start.
  if (framing === 'none') {
    context.finish(undefined);
    return;
  }
  let ended = false;
  const closeCallbacks: (() => void)[] = [];
  let closed = false;

  const safely = (what: string, callback: () => void): void => {
    try {
      callback();
    } catch (error) {
      log.error('http1.stream_callback_failed', { ...context.logFields, callback: what, error: messageOf(error) });
    }
  };
  socket.once('close', () => {
    closed = true;
    for (const callback of closeCallbacks.splice(0)) safely('onClose', callback);
  });

  const write = (chunk: string | Buffer): boolean => {
    if (ended || closed || socket.destroyed) return false;
    const data = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    if (data.length === 0) return !socket.writableNeedDrain;
    const wire = framing === 'chunked' ? encodeChunk(data) : data;
    if (socket.writableLength + wire.length > context.streamBufferedBytesMax) {
      log.warn('http1.stream_overflow', { ...context.logFields, bufferedBytes: socket.writableLength, streamBufferedBytesMax: context.streamBufferedBytesMax });
      socket.destroy();
      return false;
    }
    return socket.write(wire);
  };
  const end = (): void => {
    if (ended || closed) return;
    ended = true;
    context.finish(framing === 'chunked' ? Buffer.from(LAST_CHUNK, 'latin1') : undefined);
  };
  const onClose = (callback: () => void): void => {
    // Already closed: still asynchronous, as it would have been.
    if (closed) void Promise.resolve().then(() => safely('onClose', callback));
    else closeCallbacks.push(callback);
  };
  const onDrain = (callback: () => void): void => {
    socket.on('drain', () => safely('onDrain', callback));
  };

  try {
    response.stream(write, end, onClose, onDrain);
  } catch (error) {
    log.error('http1.stream_failed', { ...context.logFields, error: messageOf(error) });
    socket.destroy();
  }
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
