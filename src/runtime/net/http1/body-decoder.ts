// The common shape of body decoders: feed the bytes that follow the head,
// get body bytes back (views of the input, no copies), learn when the body
// is complete and which bytes came after it. `finish()` is called when the
// connection's read side ends: a body still incomplete then was truncated.
// Decoders throw HttpError only; after a throw they must not be used again.

export interface BodyStep {
  data: Buffer[];
  done: boolean;
  /** Bytes after the end of the body (pipelined input; empty unless done). */
  rest: Buffer;
}

export interface BodyDecoder {
  push(chunk: Buffer): BodyStep;
  /** The peer closed: throws ERR_HTTP_CLOSED unless the body may end there. */
  finish(): void;
  /** Body bytes delivered so far. */
  readonly bodyBytes: number;
}

export const EMPTY = Buffer.alloc(0);
