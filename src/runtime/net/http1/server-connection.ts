// One accepted connection, one request: read the head (headTimeoutMs), read
// the body (bodyTimeoutMs), call the handler, write the response, close.
//
// Why one request per connection: the apiserver stand-in's clients and
// etcd's gateway clients here send `Connection: close`, and serving exactly
// one request keeps every connection's lifetime, timers and buffers
// obvious. Clients that ask for keep-alive still get a correct answer, with
// `Connection: close`, and anything they send after the request is read and
// dropped (never buffered).
//
// Closing politely (lingering): after the response, the server ends its
// side and waits up to lingerMs for the client's FIN before destroying the
// socket. Destroying at once, with the client's bytes still unread, makes a
// real kernel send RST, and a RST can destroy the response in the client's
// receive buffer before the client has read it.
//
// The socket is accepted with allowHalfOpen, so a client that half-closes
// after its request still gets its response. During a streamed response,
// though, a client's FIN ends the stream, as Go's net/http does: a
// long-lived stream would otherwise outlive a client that has gone.
import type { Platform, StreamSocket, TimerHandle } from '../../platform/types.js';
import { HttpError } from './errors.js';
import { HeadReader, type RawHead } from './head-reader.js';
import { parseRequestHead, type HttpRequestHead } from './request-head.js';
import { requestBodyFraming } from './framing.js';
import { createBodyDecoder } from './length-decoders.js';
import type { BodyDecoder } from './body-decoder.js';
import { formatBodyResponse, formatErrorResponse, formatStreamHead } from './server-response.js';
import { reasonPhrase } from './response-head.js';
import { messageOf, runStream } from './server-stream.js';
import type { HttpHandler, HttpServerResponse, HttpStreamResponse } from './server-types.js';

export interface ServerLimits {
  headBytesMax: number;
  headerCountMax: number;
  bodyBytesMax: number;
  headTimeoutMs: number;
  bodyTimeoutMs: number;
  streamBufferedBytesMax: number;
  lingerMs: number;
}

export interface ConnectionContext {
  platform: Platform;
  limits: ServerLimits;
  handler: HttpHandler;
}

type State = 'head' | 'body' | 'handling' | 'streaming' | 'finishing' | 'closed';

const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');

export function serveConnection(socket: StreamSocket, context: ConnectionContext): void {
  const { platform, limits } = context;
  const log = platform.log;
  const remoteAddress = socket.remoteAddress ?? '';
  const reader = new HeadReader({ headBytesMax: limits.headBytesMax, headerCountMax: limits.headerCountMax, skipLeadingEmptyLines: true });
  let state: State = 'head';
  let receivedBytes = 0;
  let head: HttpRequestHead | undefined;
  let decoder: BodyDecoder | undefined;
  const bodyChunks: Buffer[] = [];
  let timer: TimerHandle | undefined;

  const arm = (delayMs: number, onTimeout: () => void): void => {
    platform.clock.clearTimer(timer);
    timer = platform.clock.setTimeout(onTimeout, delayMs);
  };
  const logFields = (): Record<string, string> => ({ remote: remoteAddress, method: head?.method ?? '', path: head?.target ?? '' });

  const finish = (last: Buffer | undefined): void => {
    if (state === 'finishing' || state === 'closed') return;
    state = 'finishing';
    platform.clock.clearTimer(timer);
    socket.once('finish', () => {
      if (socket.readableEnded) socket.destroy();
      else arm(limits.lingerMs, () => socket.destroy());
    });
    if (last === undefined) socket.end();
    else socket.end(last);
  };

  const refuse = (status: number, detail: string): void => {
    if (state !== 'head' && state !== 'body') return;
    log.info('http1.request_refused', { ...logFields(), status, detail });
    finish(formatErrorResponse(status, `${status} ${reasonPhrase(status)}: ${detail}`));
  };

  const onError = (error: unknown): void => {
    if (error instanceof HttpError) {
      refuse(error.status ?? 400, error.detail);
      return;
    }
    // Not the client's fault: a bug here. Answer 500 and say so in the log.
    log.error('http1.server_failed', { ...logFields(), error: messageOf(error) });
    if (state === 'head' || state === 'body') finish(formatErrorResponse(500, '500 Internal Server Error'));
    else socket.destroy();
  };

  const respond = (response: HttpServerResponse): void => {
    if (state !== 'handling') return; // the connection closed while the handler ran
    const method = (head as HttpRequestHead).method;
    if (!isStreamResponse(response)) {
      finish(formatBodyResponse(method, response));
      return;
    }
    const { head: responseHead, framing } = formatStreamHead(method, (head as HttpRequestHead).httpVersion, response);
    if (socket.readableEnded) {
      // The client's FIN came while the handler ran: as during a stream, it means the client has gone.
      log.debug('http1.stream_not_started', { ...logFields(), why: 'client closed its side' });
      socket.destroy();
      return;
    }
    state = 'streaming';
    socket.write(responseHead);
    runStream({ socket, framing, streamBufferedBytesMax: limits.streamBufferedBytesMax, log, logFields: logFields(), finish }, response);
  };

  const dispatch = (request: HttpRequestHead): void => {
    state = 'handling';
    platform.clock.clearTimer(timer);
    const body = Buffer.concat(bodyChunks);
    bodyChunks.length = 0;
    Promise.resolve()
      .then(() =>
        context.handler({
          method: request.method,
          path: request.target,
          httpVersion: request.httpVersion,
          headers: request.headers,
          fields: request.fields,
          body,
          remoteAddress,
        }),
      )
      .then(respond)
      .catch((error: unknown) => {
        log.error('http1.handler_failed', { ...logFields(), error: messageOf(error) });
        if (state === 'handling') finish(formatErrorResponse(500, '500 Internal Server Error'));
        else if (state === 'streaming') socket.destroy();
      });
  };

  const feedBody = (chunk: Buffer): void => {
    const step = (decoder as BodyDecoder).push(chunk);
    for (const data of step.data) bodyChunks.push(data);
    // step.rest would be a pipelined second request: not served, dropped.
    if (step.done) dispatch(head as HttpRequestHead);
  };

  const onHead = (raw: RawHead): void => {
    const request = parseRequestHead(raw);
    head = request;
    const framing = requestBodyFraming(request);
    decoder = createBodyDecoder(framing, limits.bodyBytesMax);
    const expectation = request.headers['expect'];
    if (expectation !== undefined) {
      if (expectation.toLowerCase() !== '100-continue') throw new HttpError('ERR_HTTP_PROTOCOL', `unsupported expectation ${JSON.stringify(expectation.slice(0, 40))}`, { status: 417 });
      // The body was acceptable (createBodyDecoder refuses oversized lengths first): ask for it.
      if (framing.kind !== 'none' && request.httpVersion === '1.1') socket.write(CONTINUE);
    }
    state = 'body';
    arm(limits.bodyTimeoutMs, () => refuse(408, `request body not received within ${limits.bodyTimeoutMs} ms`));
    feedBody(raw.rest);
  };

  socket.setNoDelay(true);
  arm(limits.headTimeoutMs, () => {
    // A connection that never said anything gets no answer, as with nginx and Go: there is no request to time out.
    if (receivedBytes === 0) {
      log.debug('http1.idle_connection_closed', { remote: remoteAddress, headTimeoutMs: limits.headTimeoutMs });
      socket.destroy();
      return;
    }
    refuse(408, `request head not received within ${limits.headTimeoutMs} ms`);
  });
  socket.on('data', (chunk: Buffer) => {
    receivedBytes += chunk.length;
    try {
      if (state === 'head') {
        const raw = reader.push(chunk);
        if (raw !== undefined) onHead(raw);
      } else if (state === 'body') {
        feedBody(chunk);
      }
      // Later bytes (pipelining, keep-alive leftovers) are read and dropped.
    } catch (error) {
      onError(error);
    }
  });
  socket.on('end', () => {
    if (state === 'head' && receivedBytes === 0) {
      socket.destroy();
    } else if (state === 'head') {
      // The client has finished sending but may still read: tell it why nothing will happen.
      refuse(400, `connection closed inside the request head after ${receivedBytes} bytes`);
    } else if (state === 'body') {
      refuse(400, truncatedBody(decoder as BodyDecoder));
    } else if (state === 'streaming') {
      socket.destroy();
    } else if (state === 'finishing' && socket.writableFinished) {
      socket.destroy();
    }
  });
  socket.on('error', (error: Error) => {
    log.debug('http1.connection_failed', { ...logFields(), error: error.message });
  });
  socket.on('close', () => {
    state = 'closed';
    platform.clock.clearTimer(timer);
  });
}

function truncatedBody(decoder: BodyDecoder): string {
  try {
    decoder.finish();
  } catch (error) {
    if (error instanceof HttpError) return `request body truncated: ${error.detail}`;
  }
  return 'request body truncated';
}

function isStreamResponse(response: HttpServerResponse): response is HttpStreamResponse {
  return typeof (response as Partial<HttpStreamResponse>).stream === 'function';
}
