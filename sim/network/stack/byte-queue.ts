// A FIFO of bytes kept as a list of chunks, for TCP send and receive buffers.
export class ByteQueue {
  private chunks: Buffer[] = [];
  private head = 0;
  private headOffset = 0;
  private byteLength = 0;

  get length(): number {
    return this.byteLength;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.byteLength += chunk.length;
  }

  /** A fresh copy of `length` bytes starting `offset` bytes after the head. */
  copy(offset: number, length: number): Buffer {
    if (offset < 0 || length < 0 || offset + length > this.byteLength) {
      throw new RangeError(`ByteQueue.copy(${offset}, ${length}) outside ${this.byteLength} bytes`);
    }
    const out = Buffer.allocUnsafe(length);
    let skip = offset + this.headOffset;
    let written = 0;
    for (let i = this.head; written < length; i++) {
      const chunk = this.chunks[i] as Buffer;
      if (skip >= chunk.length) {
        skip -= chunk.length;
        continue;
      }
      const take = Math.min(chunk.length - skip, length - written);
      chunk.copy(out, written, skip, skip + take);
      written += take;
      skip = 0;
    }
    return out;
  }

  /** Drops `length` bytes from the head. */
  consume(length: number): void {
    if (length > this.byteLength) throw new RangeError(`ByteQueue.consume(${length}) beyond ${this.byteLength} bytes`);
    this.byteLength -= length;
    let left = length;
    while (left > 0) {
      const chunk = this.chunks[this.head] as Buffer;
      const available = chunk.length - this.headOffset;
      if (left < available) {
        this.headOffset += left;
        return;
      }
      left -= available;
      this.head++;
      this.headOffset = 0;
    }
    this.compact();
  }

  /** Removes and returns up to `maxBytes` from the head (a view when it fits in one chunk). */
  shift(maxBytes: number): Buffer | undefined {
    if (this.byteLength === 0 || maxBytes <= 0) return undefined;
    const chunk = this.chunks[this.head] as Buffer;
    const available = chunk.length - this.headOffset;
    if (available <= maxBytes) {
      const out = chunk.subarray(this.headOffset);
      this.byteLength -= available;
      this.head++;
      this.headOffset = 0;
      this.compact();
      return out;
    }
    const out = chunk.subarray(this.headOffset, this.headOffset + maxBytes);
    this.headOffset += maxBytes;
    this.byteLength -= maxBytes;
    return out;
  }

  clear(): void {
    this.chunks = [];
    this.head = 0;
    this.headOffset = 0;
    this.byteLength = 0;
  }

  private compact(): void {
    if (this.head === this.chunks.length) {
      this.chunks = [];
      this.head = 0;
    } else if (this.head > 64 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }
}
