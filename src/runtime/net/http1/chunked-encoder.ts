// The sending side of the chunked coding (RFC 9112 §7.1): one chunk per
// write, and the last-chunk with an empty trailer section to end the body.
// A zero-length chunk would end the body early, so it is refused here.

export const LAST_CHUNK = '0\r\n\r\n';

/** One chunk on the wire; `data` must not be empty. */
export function encodeChunk(data: Buffer | string): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  if (bytes.length === 0) throw new RangeError('encodeChunk: an empty chunk would end the body');
  return Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`, 'latin1'), bytes, CRLF]);
}

/** A whole body as chunks of at most `chunkBytesMax` bytes, then the last-chunk. */
export function encodeChunkedBody(body: Buffer, chunkBytesMax: number): Buffer {
  if (!Number.isSafeInteger(chunkBytesMax) || chunkBytesMax < 1) throw new RangeError(`encodeChunkedBody: chunkBytesMax ${chunkBytesMax}`);
  const parts: Buffer[] = [];
  for (let offset = 0; offset < body.length; offset += chunkBytesMax) parts.push(encodeChunk(body.subarray(offset, offset + chunkBytesMax)));
  parts.push(Buffer.from(LAST_CHUNK, 'latin1'));
  return Buffer.concat(parts);
}

const CRLF = Buffer.from('\r\n', 'latin1');
