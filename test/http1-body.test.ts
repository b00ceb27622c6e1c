// HTTP/1.1 bodies: the chunked decoder (streaming, strict, bounded), the
// chunked encoder, Content-Length and read-until-close, and the line
// splitter that turns a watch stream into JSON lines.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { HttpError } from '../src/runtime/net/http1/errors.js';
import { rejection } from './helpers/http1.js';
import { ChunkedDecoder } from '../src/runtime/net/http1/chunked-decoder.js';
import { encodeChunk, encodeChunkedBody, LAST_CHUNK } from '../src/runtime/net/http1/chunked-encoder.js';
import { ContentLengthDecoder, UntilCloseDecoder, createBodyDecoder } from '../src/runtime/net/http1/length-decoders.js';
import { LineSplitter } from '../src/runtime/net/http1/line-splitter.js';
import type { BodyDecoder } from '../src/runtime/net/http1/body-decoder.js';

/** Feeds `pieces` in order; returns the body, whether it completed, and the bytes after it. */
function decodeAll(decoder: BodyDecoder, pieces: readonly Buffer[]): { body: Buffer; done: boolean; rest: Buffer } {
  const body: Buffer[] = [];
  const rest: Buffer[] = [];
  let done = false;
  for (const piece of pieces) {
    if (done) {
      rest.push(piece);
      continue;
    }
    const step = decoder.push(piece);
    body.push(...step.data);
    if (step.done) {
      done = true;
      rest.push(step.rest);
    }
  }
  return { body: Buffer.concat(body), done, rest: Buffer.concat(rest) };
}

function chunked(text: string, bodyBytesMax = 1024 * 1024): ReturnType<typeof decodeAll> {
  return decodeAll(new ChunkedDecoder({ bodyBytesMax }), [Buffer.from(text, 'latin1')]);
}

/** Splits `bytes` at the given cut points (any order, duplicates and out-of-range ones ignored). */
function split(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.filter((cut) => cut > 0 && cut < bytes.length))].sort((x, y) => x - y);
  const pieces: Buffer[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    pieces.push(bytes.subarray(start, point));
    start = point;
  }
  return pieces;
}

describe('ChunkedDecoder', () => {
  it('decodes chunks, ignores extensions, skips trailers, and hands back what follows', () => {
    const result = chunked('5\r\nhello\r\n6;name=value;x\r\n world\r\nA \t;ext\r\n0123456789\r\n0\r\nX-Trailer: 1\r\nY: 2\r\n\r\nNEXT');
    expect(result.body.toString()).toBe('hello world0123456789');
    expect(result.done).toBe(true);
    expect(result.rest.toString()).toBe('NEXT');
  });

  it('accepts upper and lower case hex and leading zeros', () => {
    expect(chunked('000a\r\n0123456789\r\n00\r\n\r\n').body.toString()).toBe('0123456789');
    expect(chunked('F\r\n0123456789abcde\r\n0\r\n\r\n').body).toHaveLength(15);
  });

  it('streams: data comes out as it arrives, before the chunk is complete', () => {
    const decoder = new ChunkedDecoder({ bodyBytesMax: 100 });
    expect(decoder.push(Buffer.from('a\r\n01234')).data.map(String)).toEqual(['01234']);
    expect(decoder.push(Buffer.from('56789\r\n')).data.map(String)).toEqual(['56789']);
    expect(decoder.done).toBe(false);
    expect(decoder.push(Buffer.from('0\r\n\r\n')).done).toBe(true);
    expect(decoder.bodyBytes).toBe(10);
  });

  const bad: [string, string, string, RegExp][] = [
    ['a non-hex size', 'x\r\n', 'ERR_HTTP_PROTOCOL', /malformed chunk-size line "x"/],
    ['a 0x size', '0x5\r\nhello\r\n', 'ERR_HTTP_PROTOCOL', /malformed chunk-size line "0x5"/],
    ['a signed size', '-5\r\n', 'ERR_HTTP_PROTOCOL', /malformed chunk-size line "-5"/],
    ['an empty size', '\r\n', 'ERR_HTTP_PROTOCOL', /malformed chunk-size line ""/],
    ['a space inside the size', '1 0\r\n', 'ERR_HTTP_PROTOCOL', /malformed chunk-size line "1 0"/],
    ['whitespace after a size without extension', '5 \r\nhello\r\n', 'ERR_HTTP_PROTOCOL', /malformed chunk-size line/],
    ['a control character in an extension', '5;a=\u0001\r\n', 'ERR_HTTP_PROTOCOL', /malformed chunk-size line/],
    ['a bare LF after the size', '5\nhello\r\n', 'ERR_HTTP_PROTOCOL', /bare LF in the chunk-size line/],
    ['a bare CR in the size line', '5\rx', 'ERR_HTTP_PROTOCOL', /bare CR in the chunk-size line/],
    ['data longer than its size', '3\r\nhello\r\n', 'ERR_HTTP_PROTOCOL', /chunk data not followed by CRLF \(chunk longer than its size\?\)/],
    ['a bare LF after data', '5\r\nhello\n', 'ERR_HTTP_PROTOCOL', /chunk data not followed by CRLF/],
    ['a huge size', 'fffffffffffffffff\r\n', 'ERR_HTTP_TOO_LARGE', /chunk size 0xfffffffffffffffff out of range/],
    ['a bare LF in the trailers', '0\r\nX: 1\n\r\n', 'ERR_HTTP_PROTOCOL', /bare LF in the trailer section/],
  ];
  for (const [name, text, code, message] of bad) {
    it(`rejects ${name}`, () => {
      const error = rejection(() => chunked(text));
      expect(error.code).toBe(code);
      expect(error.detail).toMatch(message);
    });
  }

  it('bounds the size line, the trailers, and the whole body', () => {
    expect(rejection(() => chunked(`5;${'e'.repeat(2000)}\r\n`)).detail).toMatch(/chunk-size line exceeds 1024 bytes/);
    const trailers = rejection(() => chunked(`0\r\n${'X: 1\r\n'.repeat(4000)}\r\n`));
    expect(trailers.code).toBe('ERR_HTTP_TOO_LARGE');
    expect(trailers.detail).toMatch(/trailer section exceeds 16384 bytes/);
    const body = rejection(() => chunked('5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n', 8));
    expect(body.code).toBe('ERR_HTTP_TOO_LARGE');
    expect(body.status).toBe(413);
    expect(body.detail).toBe('chunked body exceeds 8 bytes');
    // The bound applies when the size is announced, before its bytes are read.
    expect(() => new ChunkedDecoder({ bodyBytesMax: 8 }).push(Buffer.from('9\r\n'))).toThrow(/exceeds 8 bytes/);
  });

  it('says where the body was cut off when the connection ends early', () => {
    const inside = new ChunkedDecoder({ bodyBytesMax: 100 });
    inside.push(Buffer.from('a\r\n0123'));
    const error = rejection(() => inside.finish());
    expect(error.code).toBe('ERR_HTTP_CLOSED');
    expect(error.detail).toBe('connection closed inside a chunk, 6 bytes short after 4 body bytes');
    const between = new ChunkedDecoder({ bodyBytesMax: 100 });
    between.push(Buffer.from('1\r\na\r\n'));
    expect(rejection(() => between.finish()).detail).toMatch(/between chunks, before the last chunk after 1 body bytes/);
    const complete = new ChunkedDecoder({ bodyBytesMax: 100 });
    complete.push(Buffer.from('0\r\n\r\n'));
    expect(() => complete.finish()).not.toThrow();
  });

  it('property: any body survives chunked encoding, any re-chunking of the byte stream, and decoding', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 3000 }),
        fc.integer({ min: 1, max: 700 }),
        fc.array(fc.nat({ max: 5000 }), { maxLength: 40 }),
        fc.uint8Array({ maxLength: 20 }),
        (bodyBytes, chunkBytesMax, cuts, after) => {
          const body = Buffer.from(bodyBytes);
          const wire = Buffer.concat([encodeChunkedBody(body, chunkBytesMax), Buffer.from(after)]);
          const decoder = new ChunkedDecoder({ bodyBytesMax: body.length });
          const result = decodeAll(decoder, split(wire, cuts));
          expect(result.done).toBe(true);
          expect(result.body.equals(body)).toBe(true);
          expect(result.rest.equals(Buffer.from(after))).toBe(true);
          expect(decoder.bodyBytes).toBe(body.length);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('property: a truncated chunked stream never decodes as complete, and never yields bytes that were not sent', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 500 }), fc.integer({ min: 1, max: 64 }), fc.nat(), (bodyBytes, chunkBytesMax, cutAt) => {
        const body = Buffer.from(bodyBytes);
        const wire = encodeChunkedBody(body, chunkBytesMax);
        const truncated = wire.subarray(0, cutAt % wire.length);
        const decoder = new ChunkedDecoder({ bodyBytesMax: body.length });
        const result = decodeAll(decoder, [truncated]);
        expect(result.done).toBe(false);
        expect(body.subarray(0, result.body.length).equals(result.body)).toBe(true);
        expect(() => decoder.finish()).toThrow(HttpError);
      }),
      { numRuns: 300 },
    );
  });
});

describe('chunked encoder', () => {
  it('writes size in hex, data, CRLF; and refuses an empty chunk, which would end the body', () => {
    expect(encodeChunk('hello').toString()).toBe('5\r\nhello\r\n');
    expect(encodeChunk(Buffer.alloc(26, 0x61)).toString()).toBe(`1a\r\n${'a'.repeat(26)}\r\n`);
    expect(encodeChunk('é').toString('latin1')).toBe('2\r\n\u00c3\u00a9\r\n');
    expect(() => encodeChunk('')).toThrow(RangeError);
    expect(LAST_CHUNK).toBe('0\r\n\r\n');
    expect(encodeChunkedBody(Buffer.alloc(0), 10).toString()).toBe('0\r\n\r\n');
  });
});

describe('Content-Length and read-until-close', () => {
  it('takes exactly Content-Length bytes, however split, and hands back the rest', () => {
    const result = decodeAll(new ContentLengthDecoder(5), [Buffer.from('he'), Buffer.from('lloEXTRA')]);
    expect(result).toMatchObject({ done: true });
    expect(result.body.toString()).toBe('hello');
    expect(result.rest.toString()).toBe('EXTRA');
  });

  it('says how much was missing when the connection ends early', () => {
    const decoder = new ContentLengthDecoder(10);
    decoder.push(Buffer.from('abc'));
    const error = rejection(() => decoder.finish());
    expect(error.code).toBe('ERR_HTTP_CLOSED');
    expect(error.detail).toBe('connection closed after 3 of 10 body bytes (Content-Length)');
  });

  it('reads until close, within its bound', () => {
    const decoder = new UntilCloseDecoder(6);
    expect(decodeAll(decoder, [Buffer.from('abc'), Buffer.from('def')]).body.toString()).toBe('abcdef');
    expect(() => decoder.finish()).not.toThrow();
    expect(rejection(() => decoder.push(Buffer.from('g'))).detail).toBe('body exceeds 6 bytes');
  });

  it('refuses a declared length over the bound before reading any of it', () => {
    const error = rejection(() => createBodyDecoder({ kind: 'length', bytes: 11 }, 10));
    expect(error.code).toBe('ERR_HTTP_TOO_LARGE');
    expect(error.status).toBe(413);
    expect(error.detail).toBe('Content-Length 11 exceeds 10 bytes');
    expect(createBodyDecoder({ kind: 'none' }, 10).push(Buffer.alloc(0)).done).toBe(true);
  });
});

describe('LineSplitter', () => {
  it('gives complete lines, keeps a character split across chunks whole, drops CR and empty lines', () => {
    const splitter = new LineSplitter(100);
    const euro = Buffer.from('{"v":"€"}\n', 'utf8');
    expect(splitter.push(euro.subarray(0, 7))).toEqual([]);
    expect(splitter.push(Buffer.concat([euro.subarray(7), Buffer.from('\n\r\n{"a":1}\r\n{"b"')]))).toEqual(['{"v":"€"}', '{"a":1}']);
    expect(splitter.push(Buffer.from(':2}'))).toEqual([]);
    expect(splitter.finish()).toEqual(['{"b":2}']);
    expect(splitter.finish()).toEqual([]);
  });

  it('bounds one line', () => {
    const splitter = new LineSplitter(8);
    expect(splitter.push(Buffer.from('12345678\n1234'))).toEqual(['12345678']);
    const error = rejection(() => splitter.push(Buffer.from('56789')));
    expect(error.code).toBe('ERR_HTTP_TOO_LARGE');
    expect(error.detail).toBe('line exceeds 8 bytes');
  });
});
