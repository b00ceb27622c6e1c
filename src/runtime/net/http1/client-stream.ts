// httpStream: a request whose response is a long-lived stream of
// newline-delimited JSON (etcd's /v3/watch, the apiserver stand-in's watch).
// Lines are delivered as they complete, through an async iterator.
//
// Bounds: one line (lineBytesMax), and the lines received but not yet taken
// by the consumer (linesBufferedBytesMax): beyond it the socket is paused, so
// a slow consumer slows the server through TCP instead of growing a queue.
// There is no bound on the total body: a watch may run for days.
//
// Deadlines: timeoutMs until the response head; after it, idleTimeoutMs (if
// given) between bytes, not counting time spent paused for a slow consumer.
// close() destroys the connection; the iterator then
// ends without an error, and `head` rejects with ERR_HTTP_ABORTED if it was
// still pending. Lines that arrived before a failure are delivered before
// the failure is thrown.
import type { Platform, TimerHandle } from '../../platform/types.js';
import { HttpError } from './errors.js';
import type { HttpResponseHead } from './response-head.js';
import { startExchange } from './client-exchange.js';
import { asHttpError, checkTimeout, formatRequest, type HttpClientOptions } from './client-options.js';
import { LineSplitter } from './line-splitter.js';
import { checkBound, STREAM_LINE_BYTES_MAX_DEFAULT } from './limits.js';

export interface HttpStreamOptions extends HttpClientOptions {
  /** Deadline for connecting and receiving the response head. */
  timeoutMs: number;
  /** After the head: fail with ERR_HTTP_TIMEOUT when no byte arrives for this long. Default: no idle limit. */
  idleTimeoutMs?: number;
  /** Bound on one line; ERR_HTTP_TOO_LARGE beyond it. Default 4 MiB. */
  lineBytesMax?: number;
  /** Lines waiting for the consumer, in bytes, before reading pauses. Default: lineBytesMax. */
  linesBufferedBytesMax?: number;
  onHead?: (head: HttpResponseHead) => void;
}

export interface HttpStream {
  /** The response head; any status resolves it (check `status` before trusting the lines). */
  readonly head: Promise<HttpResponseHead>;
  /** The body's lines, without their newline; empty lines skipped. One consumer. */
  readonly lines: AsyncIterable<string>;
  /** Stops the stream and destroys the connection. Idempotent. */
  close(): void;
}

const LINE_BYTES_MAX_LIMIT = 256 * 1024 * 1024;

type StreamState = { kind: 'open' } | { kind: 'ended' } | { kind: 'closed' } | { kind: 'failed'; error: HttpError };

interface Waiter {
  resolve: (result: IteratorResult<string>) => void;
  reject: (error: unknown) => void;
}

export function httpStream(platform: Platform, options: HttpStreamOptions): HttpStream {
  const timeoutMs = checkTimeout('timeoutMs', options.timeoutMs);
  const idleTimeoutMs = options.idleTimeoutMs === undefined ? undefined : checkTimeout('idleTimeoutMs', options.idleTimeoutMs);
  const lineBytesMax = checkBound('lineBytesMax', options.lineBytesMax ?? STREAM_LINE_BYTES_MAX_DEFAULT, LINE_BYTES_MAX_LIMIT);
  const linesBufferedBytesMax = checkBound('linesBufferedBytesMax', options.linesBufferedBytesMax ?? lineBytesMax, LINE_BYTES_MAX_LIMIT);
  const request = formatRequest(options);
  const where = `${options.method} ${options.path} to ${options.host}:${options.port}`;

  const splitter = new LineSplitter(lineBytesMax);
  const queue: string[] = [];
  let queuedBytes = 0;
  let paused = false;
  let state: StreamState = { kind: 'open' };
  let waiter: Waiter | undefined;
  let closedByCaller = false;
  let lastDataAtMs = platform.clock.now();
  let timer: TimerHandle | undefined;
  let resolveHead: (head: HttpResponseHead) => void = () => undefined;
  let rejectHead: (error: unknown) => void = () => undefined;
  let headSettled = false;
  const head = new Promise<HttpResponseHead>((resolve, reject) => {
    resolveHead = resolve;
    rejectHead = reject;
  });
  // A caller that only iterates the lines hears of the failure there.
  head.catch(() => undefined);

  const enqueue = (lines: readonly string[]): void => {
    for (const line of lines) {
      if (waiter !== undefined && queue.length === 0) {
        const current = waiter;
        waiter = undefined;
        current.resolve({ value: line, done: false });
        continue;
      }
      queue.push(line);
      queuedBytes += Buffer.byteLength(line, 'utf8');
    }
    if (queuedBytes > linesBufferedBytesMax && !paused) {
      paused = true;
      exchange.pause();
    }
  };

  const wakeAtEnd = (): void => {
    if (waiter === undefined || queue.length > 0) return;
    const current = waiter;
    waiter = undefined;
    if (state.kind === 'failed') {
      const error = state.error;
      // The failure is thrown once; after that the iterator is simply done.
      state = { kind: 'ended' };
      current.reject(error);
    } else {
      current.resolve({ value: undefined, done: true });
    }
  };

  const armIdleTimer = (): void => {
    if (idleTimeoutMs === undefined) return;
    const dueInMs = lastDataAtMs + idleTimeoutMs - platform.clock.now();
    timer = platform.clock.setTimeout(() => {
      // Re-armed lazily: data only moves lastDataAtMs, it never touches the timer.
      // While paused for a slow consumer, silence is this side's doing, not the server's.
      if (paused) lastDataAtMs = platform.clock.now();
      if (platform.clock.now() - lastDataAtMs >= idleTimeoutMs) {
        exchange.fail(new HttpError('ERR_HTTP_TIMEOUT', `${where}: no data for ${idleTimeoutMs} ms`));
      } else {
        armIdleTimer();
      }
    }, Math.max(1, dueInMs));
  };

  const exchange = startExchange(platform, options, request, Number.POSITIVE_INFINITY, {
    onHead: (responseHead) => {
      platform.clock.clearTimer(timer);
      headSettled = true;
      resolveHead(responseHead);
      try {
        options.onHead?.(responseHead);
      } catch (error) {
        exchange.fail(asHttpError(error));
        return;
      }
      lastDataAtMs = platform.clock.now();
      armIdleTimer();
    },
    onBody: (data) => {
      lastDataAtMs = platform.clock.now();
      enqueue(splitter.push(data));
    },
    onEnd: () => {
      platform.clock.clearTimer(timer);
      try {
        enqueue(splitter.finish());
      } catch (error) {
        state = { kind: 'failed', error: asHttpError(error) };
      }
      if (state.kind === 'open') state = { kind: 'ended' };
      wakeAtEnd();
    },
    onError: (error) => {
      platform.clock.clearTimer(timer);
      if (!headSettled) {
        headSettled = true;
        rejectHead(error);
      }
      if (closedByCaller) {
        state = { kind: 'closed' };
        queue.length = 0;
        queuedBytes = 0;
      } else {
        state = { kind: 'failed', error };
      }
      wakeAtEnd();
    },
  });
  timer = platform.clock.setTimeout(() => {
    exchange.fail(new HttpError('ERR_HTTP_TIMEOUT', `${where}: no response head within ${timeoutMs} ms`));
  }, timeoutMs);

  const close = (): void => {
    closedByCaller = true;
    queue.length = 0;
    queuedBytes = 0;
    // A caller who closed wants no more lines and no late error either.
    if (state.kind !== 'open') state = { kind: 'closed' };
    exchange.fail(new HttpError('ERR_HTTP_ABORTED', `${where}: closed by the caller`));
  };

  const next = (): Promise<IteratorResult<string>> => {
    if (waiter !== undefined) return Promise.reject(new Error('httpStream: next() called while a previous next() is pending'));
    const line = queue.shift();
    if (line !== undefined) {
      queuedBytes -= Buffer.byteLength(line, 'utf8');
      if (paused && queuedBytes <= linesBufferedBytesMax / 2) {
        paused = false;
        exchange.resume();
      }
      return Promise.resolve({ value: line, done: false });
    }
    if (state.kind === 'open') {
      return new Promise<IteratorResult<string>>((resolve, reject) => {
        waiter = { resolve, reject };
      });
    }
    if (state.kind === 'failed') {
      const error = state.error;
      state = { kind: 'ended' };
      return Promise.reject(error);
    }
    return Promise.resolve({ value: undefined, done: true });
  };

  const iterator: AsyncIterator<string> = {
    next,
    return: () => {
      close();
      return Promise.resolve({ value: undefined, done: true });
    },
  };
  return { head, lines: { [Symbol.asyncIterator]: () => iterator }, close };
}
