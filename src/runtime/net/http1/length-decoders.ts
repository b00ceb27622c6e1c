// The two non-chunked framings: a body of exactly Content-Length bytes, and
// (responses only) a body that ends when the server closes. Plus the factory
// that picks a decoder for a framing and applies the body bound up front
// where the length is known, so an oversized body is refused before a byte
// of it is read.
import { HttpError, tooLargeError } from './errors.js';
import { EMPTY, type BodyDecoder, type BodyStep } from './body-decoder.js';
import { ChunkedDecoder } from './chunked-decoder.js';
import type { BodyFraming } from './framing.js';

export class ContentLengthDecoder implements BodyDecoder {
  #remaining: number;
  #bodyBytes = 0;

  constructor(readonly contentLength: number) {
    this.#remaining = contentLength;
  }

  get bodyBytes(): number {
    return this.#bodyBytes;
  }

  push(chunk: Buffer): BodyStep {
    if (this.#remaining === 0) return { data: [], done: true, rest: chunk };
    const take = Math.min(this.#remaining, chunk.length);
    this.#remaining -= take;
    this.#bodyBytes += take;
    const done = this.#remaining === 0;
    return { data: take === 0 ? [] : [chunk.subarray(0, take)], done, rest: done ? chunk.subarray(take) : EMPTY };
  }

  finish(): void {
    if (this.#remaining === 0) return;
    throw new HttpError('ERR_HTTP_CLOSED', `connection closed after ${this.#bodyBytes} of ${this.contentLength} body bytes (Content-Length)`);
  }
}

export class UntilCloseDecoder implements BodyDecoder {
  #bodyBytes = 0;

  constructor(readonly bodyBytesMax: number) {}

  get bodyBytes(): number {
    return this.#bodyBytes;
  }

  push(chunk: Buffer): BodyStep {
    if (this.#bodyBytes + chunk.length > this.bodyBytesMax) throw tooLargeError(`body exceeds ${this.bodyBytesMax} bytes`, 413);
    this.#bodyBytes += chunk.length;
    return { data: chunk.length === 0 ? [] : [chunk], done: false, rest: EMPTY };
  }

  /** The close is the end of this body. */
  finish(): void {}
}

/** Throws ERR_HTTP_TOO_LARGE (413) when a declared length already exceeds `bodyBytesMax`. */
export function createBodyDecoder(framing: BodyFraming, bodyBytesMax: number): BodyDecoder {
  switch (framing.kind) {
    case 'none':
      return new ContentLengthDecoder(0);
    case 'length':
      if (framing.bytes > bodyBytesMax) throw tooLargeError(`Content-Length ${framing.bytes} exceeds ${bodyBytesMax} bytes`, 413);
      return new ContentLengthDecoder(framing.bytes);
    case 'chunked':
      return new ChunkedDecoder({ bodyBytesMax });
    case 'until-close':
      return new UntilCloseDecoder(bodyBytesMax);
  }
}
