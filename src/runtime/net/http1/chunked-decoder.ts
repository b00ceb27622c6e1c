// A streaming decoder for the chunked transfer coding (RFC 9112 §7.1).
// It keeps no body bytes (data comes back as views of the input) and bounds
// what it does keep: one chunk-size line (CHUNK_LINE_BYTES_MAX), the trailer
// section (TRAILER_BYTES_MAX, skipped unread), and the total body
// (`bodyBytesMax`, ERR_HTTP_TOO_LARGE / 413). Chunk extensions are ignored.
// Framing is strict: CRLF only, the CRLF after chunk data is required, and a
// size must be plain hex (no sign, no `0x`, no spaces inside): lenient chunk
// parsing is a known request-smuggling vector.
import { HttpError, protocolError, tooLargeError } from './errors.js';
import { EMPTY, type BodyDecoder, type BodyStep } from './body-decoder.js';
import { CHUNK_LINE_BYTES_MAX, TRAILER_BYTES_MAX } from './limits.js';
import { isFieldValue } from './header-fields.js';

type State = 'size-line' | 'data' | 'data-cr' | 'data-lf' | 'trailer' | 'done';

/** hex digits, then optional BWS and extensions (RFC 9112 §7.1.1). */
const SIZE_LINE_PATTERN = /^([0-9A-Fa-f]+)(?:[ \t]*;(.*))?$/;
/** 13 hex digits hold 2^52: every safe integer length, and no more. */
const SIZE_HEX_DIGITS_MAX = 13;
const CR = 0x0d;
const LF = 0x0a;
/** Where a body was cut off, for ERR_HTTP_CLOSED messages. */
const WHERE: Readonly<Record<Exclude<State, 'done'>, string>> = {
  'size-line': 'between chunks, before the last chunk',
  data: 'inside a chunk, N bytes short',
  'data-cr': "after a chunk's data, before its CRLF",
  'data-lf': "after a chunk's data, before its CRLF",
  trailer: 'in the trailer section',
};

export class ChunkedDecoder implements BodyDecoder {
  readonly #bodyBytesMax: number;
  #state: State = 'size-line';
  /** The current size line or trailer line, latin1. */
  #line = '';
  #lineEndsWithCr = false;
  #chunkRemaining = 0;
  #trailerBytes = 0;
  /** Announced by the chunk sizes read so far: what the bound applies to. */
  #bodyBytesAnnounced = 0;
  #bodyBytes = 0;

  /** `bodyBytesMax` may be Infinity for an endless stream whose consumer bounds what it keeps. */
  constructor(options: { bodyBytesMax: number }) {
    if (!(options.bodyBytesMax >= 0)) throw new RangeError(`ChunkedDecoder: bodyBytesMax must be >= 0, got ${options.bodyBytesMax}`);
    this.#bodyBytesMax = options.bodyBytesMax;
  }

  get bodyBytes(): number {
    return this.#bodyBytes;
  }

  get done(): boolean {
    return this.#state === 'done';
  }

  push(chunk: Buffer): BodyStep {
    const data: Buffer[] = [];
    let position = 0;
    while (position < chunk.length && this.#state !== 'done') {
      if (this.#state === 'data') {
        const take = Math.min(this.#chunkRemaining, chunk.length - position);
        data.push(chunk.subarray(position, position + take));
        position += take;
        this.#bodyBytes += take;
        this.#chunkRemaining -= take;
        if (this.#chunkRemaining === 0) this.#state = 'data-cr';
        continue;
      }
      this.#onFramingByte(chunk[position] as number);
      position++;
    }
    const done = this.#state === 'done';
    return { data, done, rest: done ? chunk.subarray(position) : EMPTY };
  }

  finish(): void {
    if (this.#state === 'done') return;
    const where = WHERE[this.#state].replace('N', String(this.#chunkRemaining));
    throw new HttpError('ERR_HTTP_CLOSED', `connection closed ${where} after ${this.#bodyBytes} body bytes`);
  }

  #onFramingByte(byte: number): void {
    switch (this.#state) {
      case 'data-cr':
        if (byte !== CR) throw protocolError('chunk data not followed by CRLF (chunk longer than its size?)');
        this.#state = 'data-lf';
        return;
      case 'data-lf':
        if (byte !== LF) throw protocolError('chunk data not followed by CRLF');
        this.#state = 'size-line';
        return;
      case 'size-line': {
        const line = this.#lineByte(byte, CHUNK_LINE_BYTES_MAX, 'chunk-size line');
        if (line !== undefined) this.#onSizeLine(line);
        return;
      }
      case 'trailer': {
        const line = this.#lineByte(byte, TRAILER_BYTES_MAX - this.#trailerBytes, 'trailer section');
        this.#trailerBytes += 1;
        if (line === '') this.#state = 'done';
        return;
      }
      default:
        throw new Error(`ChunkedDecoder: framing byte in state ${this.#state}`);
    }
  }

  /** Adds a byte to the current line; returns the line once its CRLF is complete. */
  #lineByte(byte: number, lineBytesMax: number, what: string): string | undefined {
    if (this.#lineEndsWithCr) {
      if (byte !== LF) throw protocolError(`bare CR in the ${what}`);
      const line = this.#line;
      this.#line = '';
      this.#lineEndsWithCr = false;
      return line;
    }
    if (byte === LF) throw protocolError(`bare LF in the ${what} (lines must end in CRLF)`);
    if (byte === CR) {
      this.#lineEndsWithCr = true;
      return undefined;
    }
    if (this.#line.length + 1 > lineBytesMax) {
      throw what === 'trailer section'
        ? tooLargeError(`trailer section exceeds ${TRAILER_BYTES_MAX} bytes`, 431)
        : protocolError(`${what} exceeds ${lineBytesMax} bytes`);
    }
    this.#line += String.fromCharCode(byte);
    return undefined;
  }

  #onSizeLine(line: string): void {
    const match = SIZE_LINE_PATTERN.exec(line);
    if (match === null || !isFieldValue(match[2] ?? '')) throw protocolError(`malformed chunk-size line ${JSON.stringify(line.slice(0, 40))}`);
    const digits = (match[1] as string).replace(/^0+(?=.)/, '');
    if (digits.length > SIZE_HEX_DIGITS_MAX) throw tooLargeError(`chunk size 0x${digits.slice(0, 20)} out of range`, 413);
    const size = parseInt(digits, 16);
    if (size === 0) {
      this.#state = 'trailer';
      return;
    }
    if (this.#bodyBytesAnnounced + size > this.#bodyBytesMax) {
      throw tooLargeError(`chunked body exceeds ${this.#bodyBytesMax} bytes`, 413);
    }
    this.#bodyBytesAnnounced += size;
    this.#chunkRemaining = size;
    this.#state = 'data';
  }
}
