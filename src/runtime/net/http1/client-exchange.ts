// One request/response exchange on its own connection: dial, send the
// request, read the response head and body, close. httpRequest and
// httpStream are thin layers over it.
//
// Why one request per connection (`Connection: close`): keep-alive pools
// bring stale-connection races (the server closes an idle connection just
// as a request goes out, and the client must guess whether it was
// processed), per-pool bounds and idle timers. Here a connection's failure
// always belongs to exactly one request, and a failure before the connection
// was up (ERR_HTTP_CONNECT) provably means the request was never sent. The
// cost, a TCP handshake per request, is small next to etcd's own latencies.
//
// The client never half-closes after its request: Go's net/http server
// takes a client's FIN as "the client went away" and cancels the request,
// which would end an etcd watch at once.
import type { Platform, StreamSocket } from '../../platform/types.js';
import { errorCode } from '../../platform/errors.js';
import { HttpError, protocolError } from './errors.js';
import { HeadReader } from './head-reader.js';
import { parseResponseHead, type HttpResponseHead } from './response-head.js';
import { responseBodyFraming } from './framing.js';
import { createBodyDecoder } from './length-decoders.js';
import type { BodyDecoder } from './body-decoder.js';
import { asHttpError, headBytesMaxOf, type HttpClientOptions } from './client-options.js';
import { INTERIM_RESPONSES_MAX } from './limits.js';

export interface ExchangeSink {
  onHead(head: HttpResponseHead): void;
  /** A piece of the body (a view of the received chunk). */
  onBody(data: Buffer): void;
  /** The body is complete. Exactly one of onEnd and onError is called, once. */
  onEnd(): void;
  onError(error: HttpError): void;
}

export interface Exchange {
  /** Ends the exchange with `error` (timeout, caller's close); no-op once it has ended. */
  fail(error: HttpError): void;
  /** Stops reading (TCP backpressure) until resume(). */
  pause(): void;
  resume(): void;
}

export function startExchange(
  platform: Platform,
  options: HttpClientOptions,
  request: Buffer,
  bodyBytesMax: number,
  sink: ExchangeSink,
): Exchange {
  const where = `${options.host}:${options.port}`;
  const socket: StreamSocket = platform.streams.connect({
    host: options.host,
    port: options.port,
    ...(options.keepAliveIdleMs === undefined ? {} : { keepAliveIdleMs: options.keepAliveIdleMs }),
  });
  let connected = false;
  let settled = false;
  let headReader = new HeadReader({ headBytesMax: headBytesMaxOf(options) });
  let interimResponses = 0;
  let decoder: BodyDecoder | undefined;
  let receivedBytes = 0;

  const settle = (error: HttpError | undefined): void => {
    if (settled) return;
    settled = true;
    socket.destroy();
    if (error === undefined) sink.onEnd();
    else sink.onError(error);
  };

  const onHeadBytes = (chunk: Buffer): Buffer | undefined => {
    const raw = headReader.push(chunk);
    if (raw === undefined) return undefined;
    const head = parseResponseHead(raw);
    if (head.status === 101) throw protocolError(`101 Switching Protocols from ${where}, which no request here asks for`);
    if (head.status < 200) {
      // Interim responses (100 Continue, 103 Early Hints) precede the real one.
      if (++interimResponses > INTERIM_RESPONSES_MAX) throw protocolError(`more than ${INTERIM_RESPONSES_MAX} interim responses`);
      headReader = new HeadReader({ headBytesMax: headBytesMaxOf(options) });
      return raw.rest.length === 0 ? undefined : onHeadBytes(raw.rest);
    }
    decoder = createBodyDecoder(responseBodyFraming(options.method, head.status, head), bodyBytesMax);
    sink.onHead(head);
    return raw.rest;
  };

  const onData = (chunk: Buffer): void => {
    if (settled) return;
    receivedBytes += chunk.length;
    try {
      const bodyBytes = decoder === undefined ? onHeadBytes(chunk) : chunk;
      if (bodyBytes === undefined || decoder === undefined || settled) return;
      const step = decoder.push(bodyBytes);
      for (const data of step.data) {
        sink.onBody(data);
        if (settled) return;
      }
      // Bytes after a complete body are ignored: the server closes next.
      if (step.done) settle(undefined);
    } catch (error) {
      settle(asHttpError(error));
    }
  };

  socket.on('connect', () => {
    connected = true;
    socket.write(request);
  });
  socket.on('data', onData);
  socket.on('end', () => {
    if (settled) return;
    if (decoder === undefined) {
      settle(new HttpError('ERR_HTTP_CLOSED', `${where} closed the connection before a response head (${receivedBytes} bytes received)`, { cleanEnd: true }));
      return;
    }
    try {
      decoder.finish();
      settle(undefined);
    } catch (error) {
      const httpError = asHttpError(error);
      settle(httpError.code === 'ERR_HTTP_CLOSED' ? new HttpError('ERR_HTTP_CLOSED', httpError.detail, { cleanEnd: true }) : httpError);
    }
  });
  socket.on('error', (error: Error) => {
    const causeCode = errorCode(error);
    settle(
      connected
        ? new HttpError('ERR_HTTP_CLOSED', `connection to ${where} failed: ${error.message}`, { causeCode, cause: error })
        : new HttpError('ERR_HTTP_CONNECT', `cannot connect to ${where}: ${error.message}`, { causeCode, cause: error }),
    );
  });
  socket.on('close', () => settle(new HttpError('ERR_HTTP_CLOSED', `connection to ${where} closed`)));

  return {
    fail: settle,
    pause: () => {
      socket.pause();
    },
    resume: () => {
      socket.resume();
    },
  };
}
