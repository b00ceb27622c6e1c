// Collects the bytes of one message head (start line, field lines, blank
// line) as they arrive, and splits it into lines. Sans-IO: feed it chunks;
// it answers undefined until the head is complete. It gives the same answer
// however the input is split, buffers at most headBytesMax bytes, and throws
// HttpError (431 for bounds, 400 for line endings) as soon as the input is
// known to be bad, rather than waiting for the bound.
//
// Lines must end in CRLF. RFC 9112 §2.2 lets a recipient accept a bare LF,
// but parsers that disagree on line endings are how requests get smuggled,
// and every peer this talks to (Go's net/http, curl, this code) sends CRLF.
import { tooLargeError, protocolError } from './errors.js';
import { HEAD_BYTES_MAX_DEFAULT, HEADER_COUNT_MAX_DEFAULT, checkBound } from './limits.js';

export interface HeadReaderOptions {
  headBytesMax?: number;
  headerCountMax?: number;
  /**
   * Skip empty lines before the start line (RFC 9112 §2.2 asks servers to
   * skip at least one: some clients send a CRLF after a POST body).
   */
  skipLeadingEmptyLines?: boolean;
}

export interface RawHead {
  startLine: string;
  /** Field lines as sent, latin1-decoded, without their CRLF. */
  fieldLines: string[];
  /** Bytes that followed the blank line in the chunk that completed the head (a view of it). */
  rest: Buffer;
  /** Bytes of the head, blank line included. */
  headBytes: number;
}

const CR = 0x0d;
const LF = 0x0a;
const HEAD_BYTES_INITIAL = 1024;
const HEAD_BYTES_LIMIT = 1024 * 1024;
const HEADER_COUNT_LIMIT = 10_000;

export class HeadReader {
  readonly #headBytesMax: number;
  readonly #headerCountMax: number;
  readonly #skipLeadingEmptyLines: boolean;
  /** Grows by doubling up to #headBytesMax. */
  #buffer: Buffer;
  #length = 0;
  #lineStart = 0;
  #lines: string[] = [];
  /** Bytes of empty lines skipped before the start line; they count against the bound. */
  #skippedBytes = 0;
  #done = false;

  constructor(options: HeadReaderOptions = {}) {
    this.#headBytesMax = checkBound('headBytesMax', options.headBytesMax ?? HEAD_BYTES_MAX_DEFAULT, HEAD_BYTES_LIMIT);
    this.#headerCountMax = checkBound('headerCountMax', options.headerCountMax ?? HEADER_COUNT_MAX_DEFAULT, HEADER_COUNT_LIMIT);
    this.#skipLeadingEmptyLines = options.skipLeadingEmptyLines ?? false;
    this.#buffer = Buffer.alloc(Math.min(HEAD_BYTES_INITIAL, this.#headBytesMax));
  }

  /** Consumes `chunk`; returns the head once its blank line has arrived. Call no more after that. */
  push(chunk: Buffer): RawHead | undefined {
    if (this.#done) throw new Error('HeadReader: push after the head was complete');
    for (let index = 0; index < chunk.length; index++) {
      const byte = chunk[index] as number;
      if (this.#skippedBytes + this.#length + 1 > this.#headBytesMax) {
        throw tooLargeError(`head exceeds ${this.#headBytesMax} bytes`, 431);
      }
      const previous = this.#length > this.#lineStart ? this.#buffer[this.#length - 1] : undefined;
      if (previous === CR && byte !== LF) throw protocolError('bare CR in the head');
      this.#append(byte);
      if (byte !== LF) continue;
      if (previous !== CR) throw protocolError('bare LF in the head (lines must end in CRLF)');
      const line = this.#buffer.toString('latin1', this.#lineStart, this.#length - 2);
      if (line === '' && this.#lines.length === 0 && this.#skipLeadingEmptyLines) {
        this.#skippedBytes += this.#length;
        this.#length = 0;
        this.#lineStart = 0;
        continue;
      }
      this.#lineStart = this.#length;
      if (line === '') return this.#finish(chunk.subarray(index + 1));
      // One start line plus at most headerCountMax field lines.
      if (this.#lines.length > this.#headerCountMax) throw tooLargeError(`more than ${this.#headerCountMax} header fields`, 431);
      this.#lines.push(line);
    }
    return undefined;
  }

  #finish(rest: Buffer): RawHead {
    this.#done = true;
    const [startLine, ...fieldLines] = this.#lines;
    if (startLine === undefined) throw protocolError('empty head: no start line');
    const head = { startLine, fieldLines, rest, headBytes: this.#skippedBytes + this.#length };
    this.#buffer = Buffer.alloc(0);
    this.#lines = [];
    return head;
  }

  #append(byte: number): void {
    if (this.#length === this.#buffer.length) {
      const grown = Buffer.alloc(Math.min(this.#buffer.length * 2, this.#headBytesMax));
      this.#buffer.copy(grown, 0, 0, this.#length);
      this.#buffer = grown;
    }
    this.#buffer[this.#length++] = byte;
  }
}
