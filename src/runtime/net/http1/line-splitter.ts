// Splits a byte stream into newline-delimited lines (etcd's watch stream and
// the apiserver stand-in's watch are one JSON object per line). Lines are
// decoded as UTF-8 only once complete, so a character split across chunks
// survives. A trailing CR is dropped (CRLF-delimited senders) and empty
// lines are skipped: in newline-delimited JSON they carry nothing.
// The partial line is the only buffer, bounded by lineBytesMax.
import { tooLargeError } from './errors.js';

const LF = 0x0a;
const CR = 0x0d;

export class LineSplitter {
  #partial: Buffer[] = [];
  #partialBytes = 0;

  constructor(readonly lineBytesMax: number) {
    if (!Number.isSafeInteger(lineBytesMax) || lineBytesMax < 1) throw new RangeError(`LineSplitter: lineBytesMax ${lineBytesMax}`);
  }

  /** Complete lines in `chunk` (with what was left over before it); throws ERR_HTTP_TOO_LARGE for an overlong line. */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let position = 0;
    while (position < chunk.length) {
      const lineFeedAt = chunk.indexOf(LF, position);
      const end = lineFeedAt === -1 ? chunk.length : lineFeedAt;
      if (this.#partialBytes + (end - position) > this.lineBytesMax) {
        throw tooLargeError(`line exceeds ${this.lineBytesMax} bytes`, 413);
      }
      // A copy: a view would keep the whole chunk alive for a few bytes of line.
      if (end > position) this.#partial.push(Buffer.from(chunk.subarray(position, end)));
      this.#partialBytes += end - position;
      if (lineFeedAt === -1) break;
      position = lineFeedAt + 1;
      const line = this.#take();
      if (line !== '') lines.push(line);
    }
    return lines;
  }

  /** The stream ended: its last line, if it had no newline. */
  finish(): string[] {
    const line = this.#take();
    return line === '' ? [] : [line];
  }

  #take(): string {
    let bytes = Buffer.concat(this.#partial, this.#partialBytes);
    this.#partial = [];
    this.#partialBytes = 0;
    if (bytes.length > 0 && bytes[bytes.length - 1] === CR) bytes = bytes.subarray(0, bytes.length - 1);
    return bytes.toString('utf8');
  }
}
