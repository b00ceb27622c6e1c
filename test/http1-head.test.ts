// HTTP/1.1 heads: the incremental reader, request and response parsing, and
// formatting. Bad input is most of it: each rejection has a stable code, the
// status a server answers with, and a message naming the problem.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { rejection } from './helpers/http1.js';
import { HeadReader, type RawHead } from '../src/runtime/net/http1/head-reader.js';
import { formatRequestHead, parseRequestHead } from '../src/runtime/net/http1/request-head.js';
import { formatResponseHead, parseResponseHead } from '../src/runtime/net/http1/response-head.js';
import { parseFieldLines } from '../src/runtime/net/http1/header-fields.js';
import { requestBodyFraming, responseBodyFraming } from '../src/runtime/net/http1/framing.js';

function readHead(text: string, options: ConstructorParameters<typeof HeadReader>[0] = {}): RawHead | undefined {
  return new HeadReader(options).push(Buffer.from(text, 'latin1'));
}

function request(text: string): ReturnType<typeof parseRequestHead> {
  const raw = readHead(text, { skipLeadingEmptyLines: true });
  if (raw === undefined) throw new Error('head incomplete');
  return parseRequestHead(raw);
}

function response(text: string): ReturnType<typeof parseResponseHead> {
  const raw = readHead(text);
  if (raw === undefined) throw new Error('head incomplete');
  return parseResponseHead(raw);
}

describe('HeadReader', () => {
  it('answers undefined until the blank line, then the lines and the bytes after it', () => {
    const reader = new HeadReader();
    expect(reader.push(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n'))).toBeUndefined();
    expect(reader.push(Buffer.from('\r'))).toBeUndefined();
    const raw = reader.push(Buffer.from('\nbody'));
    expect(raw?.startLine).toBe('GET / HTTP/1.1');
    expect(raw?.fieldLines).toEqual(['Host: a']);
    expect(raw?.rest.toString()).toBe('body');
    expect(raw?.headBytes).toBe(27);
  });

  it('gives the same head however the bytes are split', () => {
    const text = 'POST /v3/kv/range HTTP/1.1\r\nHost: etcd:2379\r\nContent-Length: 2\r\n\r\n{}';
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: text.length }), { maxLength: 10 }), (cuts) => {
        const reader = new HeadReader();
        const points = [...new Set(cuts)].sort((x, y) => x - y);
        let start = 0;
        let raw: RawHead | undefined;
        let rest = '';
        for (const end of [...points, text.length]) {
          const piece = Buffer.from(text.slice(start, end), 'latin1');
          start = end;
          if (raw === undefined) {
            raw = reader.push(piece);
            if (raw !== undefined) rest += raw.rest.toString();
          } else {
            rest += piece.toString();
          }
        }
        expect(raw?.fieldLines).toEqual(['Host: etcd:2379', 'Content-Length: 2']);
        expect(rest).toBe('{}');
      }),
    );
  });

  it('skips empty lines before a request line when asked to, and counts them against the bound', () => {
    expect(readHead('\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n', { skipLeadingEmptyLines: true })?.startLine).toBe('GET / HTTP/1.1');
    expect(rejection(() => readHead('\r\n\r\n', {})).detail).toBe('empty head: no start line');
    const error = rejection(() => readHead(`${'\r\n'.repeat(20)}GET / HTTP/1.1\r\n\r\n`, { skipLeadingEmptyLines: true, headBytesMax: 40 }));
    expect(error.code).toBe('ERR_HTTP_TOO_LARGE');
  });

  it('rejects bare LF and bare CR at once, without waiting for the bound', () => {
    const lf = rejection(() => readHead('GET / HTTP/1.1\nHost: a\n'));
    expect(lf.code).toBe('ERR_HTTP_PROTOCOL');
    expect(lf.status).toBe(400);
    expect(lf.message).toMatch(/bare LF/);
    const cr = rejection(() => readHead('GET / HTTP/1.1\rHost: a'));
    expect(cr.message).toMatch(/bare CR/);
  });

  it('bounds the head in bytes (431) and in header fields (431)', () => {
    const big = rejection(() => readHead(`GET / HTTP/1.1\r\nX: ${'a'.repeat(100)}\r\n\r\n`, { headBytesMax: 64 }));
    expect(big.code).toBe('ERR_HTTP_TOO_LARGE');
    expect(big.status).toBe(431);
    expect(big.message).toMatch(/head exceeds 64 bytes/);

    const fields = (count: number): string => `GET / HTTP/1.1\r\n${Array.from({ length: count }, (_, i) => `X-${i}: v\r\n`).join('')}\r\n`;
    expect(readHead(fields(100))?.fieldLines).toHaveLength(100);
    const many = rejection(() => readHead(fields(101)));
    expect(many.status).toBe(431);
    expect(many.message).toMatch(/more than 100 header fields/);
  });

  it('defaults to 16 KiB', () => {
    expect(readHead(`GET / HTTP/1.1\r\nX: ${'a'.repeat(16 * 1024 - 24)}\r\n\r\n`)).toBeDefined();
    expect(rejection(() => readHead(`GET / HTTP/1.1\r\nX: ${'a'.repeat(16 * 1024)}\r\n\r\n`)).message).toMatch(/16384 bytes/);
  });

  it('refuses nonsense bounds as a programming error', () => {
    expect(() => new HeadReader({ headBytesMax: 0 })).toThrow(RangeError);
    expect(() => new HeadReader({ headerCountMax: 1.5 })).toThrow(RangeError);
  });
});

describe('request heads', () => {
  it('parses method, target, version, and headers into a lowercase map with repeats joined', () => {
    const head = request('PUT /api/v1/x?watch=1 HTTP/1.1\r\nHost: a:80\r\nAccept: a/b\r\nX-Tag:  one \r\nx-tag: two\r\n\r\n');
    expect(head.method).toBe('PUT');
    expect(head.target).toBe('/api/v1/x?watch=1');
    expect(head.httpVersion).toBe('1.1');
    expect(head.headers).toEqual({ host: 'a:80', accept: 'a/b', 'x-tag': 'one, two' });
    expect(head.fields).toEqual([
      ['host', 'a:80'],
      ['accept', 'a/b'],
      ['x-tag', 'one'],
      ['x-tag', 'two'],
    ]);
  });

  it('accepts HTTP/1.0 without Host, absolute-form targets, and OPTIONS *', () => {
    expect(request('GET / HTTP/1.0\r\n\r\n').httpVersion).toBe('1.0');
    expect(request('GET http://a:2379/v3/kv/range?x=1 HTTP/1.1\r\nHost: a\r\n\r\n').target).toBe('/v3/kv/range?x=1');
    expect(request('GET http://a HTTP/1.1\r\nHost: a\r\n\r\n').target).toBe('/');
    expect(request('OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n').target).toBe('*');
  });

  it('keeps a header named __proto__ as a plain field', () => {
    const head = request('GET / HTTP/1.1\r\nHost: a\r\n__proto__: x\r\n\r\n');
    expect(head.headers['__proto__']).toBe('x');
    expect(Object.keys(head.headers)).toEqual(['host', '__proto__']);
  });

  const bad: [string, string, number, RegExp][] = [
    ['two spaces', 'GET  / HTTP/1.1\r\nHost: a\r\n\r\n', 400, /not "method target version"/],
    ['no version', 'GET /\r\nHost: a\r\n\r\n', 400, /not "method target version"/],
    ['method not a token', 'G(T / HTTP/1.1\r\nHost: a\r\n\r\n', 400, /method "G\(T" is not a token/],
    ['malformed version', 'GET / HTTP/one\r\nHost: a\r\n\r\n', 400, /malformed HTTP version/],
    ['HTTP/2.0', 'GET / HTTP/2.0\r\nHost: a\r\n\r\n', 505, /HTTP\/2.0 is not supported/],
    ['target not origin-form', 'GET x/y HTTP/1.1\r\nHost: a\r\n\r\n', 400, /neither origin-form nor absolute-form/],
    ['raw non-ASCII in target', 'GET /\u00e9 HTTP/1.1\r\nHost: a\r\n\r\n', 400, /outside visible ASCII/],
    ['missing Host in 1.1', 'GET / HTTP/1.1\r\n\r\n', 400, /without a Host header/],
    ['two Hosts', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400, /more than one Host/],
    ['obs-fold', 'GET / HTTP/1.1\r\nHost: a\r\nX: one\r\n two\r\n\r\n', 400, /obs-fold/],
    ['space before colon', 'GET / HTTP/1.1\r\nHost : a\r\n\r\n', 400, /not a token \(whitespace before the colon\?\)/],
    ['no colon', 'GET / HTTP/1.1\r\nHost a\r\n\r\n', 400, /without a colon/],
    ['empty name', 'GET / HTTP/1.1\r\n: a\r\n\r\n', 400, /empty header name/],
    ['NUL in value', 'GET / HTTP/1.1\r\nHost: a\u0000b\r\n\r\n', 400, /control character in the value of header Host/],
  ];
  for (const [name, text, status, message] of bad) {
    it(`rejects ${name}`, () => {
      const error = rejection(() => request(text));
      expect(error.code).toBe('ERR_HTTP_PROTOCOL');
      expect(error.status).toBe(status);
      expect(error.detail).toMatch(message);
    });
  }

  it('formats a request head, and refuses to put CR/LF or non-tokens on the wire', () => {
    expect(formatRequestHead({ method: 'POST', target: '/v3/kv/put', fields: [['host', 'a:1'], ['content-length', '2']] })).toBe(
      'POST /v3/kv/put HTTP/1.1\r\nhost: a:1\r\ncontent-length: 2\r\n\r\n',
    );
    const injected = rejection(() => formatRequestHead({ method: 'GET', target: '/', fields: [['x', 'a\r\nEvil: 1']] }));
    expect(injected.code).toBe('ERR_HTTP_INVALID_ARGUMENT');
    expect(injected.message).toMatch(/header x has a control character/);
    expect(rejection(() => formatRequestHead({ method: 'GET', target: '/a b', fields: [] })).message).toMatch(/path "\/a b" must start/);
    expect(rejection(() => formatRequestHead({ method: 'GET', target: 'a', fields: [] })).code).toBe('ERR_HTTP_INVALID_ARGUMENT');
    expect(rejection(() => formatRequestHead({ method: 'GE T', target: '/', fields: [] })).message).toMatch(/method "GE T"/);
    expect(rejection(() => formatRequestHead({ method: 'GET', target: '/', fields: [['a b', 'x']] })).message).toMatch(/header name "a b"/);
  });
});

describe('response heads', () => {
  it('parses the status line with or without a reason', () => {
    const head = response('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n');
    expect(head).toMatchObject({ httpVersion: '1.1', status: 200, reason: 'OK' });
    expect(head.headers).toEqual({ 'content-type': 'application/json', 'content-length': '2' });
    expect(response('HTTP/1.0 404\r\n\r\n')).toMatchObject({ httpVersion: '1.0', status: 404, reason: '' });
    expect(response('HTTP/1.1 503 Service  Unavailable now\r\n\r\n').reason).toBe('Service  Unavailable now');
  });

  it('keeps every Set-Cookie in fields and only the first in the map', () => {
    const head = response('HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n');
    expect(head.headers['set-cookie']).toBe('a=1');
    expect(head.fields.filter(([name]) => name === 'set-cookie')).toHaveLength(2);
  });

  const bad: [string, string, RegExp][] = [
    ['garbage', 'SSH-2.0-OpenSSH\r\n\r\n', /malformed status line "SSH-2.0-OpenSSH"/],
    ['two-digit status', 'HTTP/1.1 20 OK\r\n\r\n', /malformed status line/],
    ['status 600', 'HTTP/1.1 600 Odd\r\n\r\n', /status 600 outside 100-599/],
    ['HTTP/2', 'HTTP/2.0 200 OK\r\n\r\n', /HTTP\/2.0 is not supported/],
    ['control in reason', 'HTTP/1.1 200 O\u0001K\r\n\r\n', /control character in the reason phrase/],
    ['obs-fold', 'HTTP/1.1 200 OK\r\nX: a\r\n\tb\r\n\r\n', /obs-fold/],
  ];
  for (const [name, text, message] of bad) {
    it(`rejects ${name}`, () => {
      const error = rejection(() => response(text));
      expect(error.code).toBe('ERR_HTTP_PROTOCOL');
      expect(error.detail).toMatch(message);
    });
  }

  it('formats a response head with the standard reason phrase', () => {
    expect(formatResponseHead(413, [['connection', 'close']])).toBe('HTTP/1.1 413 Content Too Large\r\nconnection: close\r\n\r\n');
    expect(formatResponseHead(299, [])).toBe('HTTP/1.1 299 \r\n\r\n');
    expect(rejection(() => formatResponseHead(99, [])).code).toBe('ERR_HTTP_INVALID_ARGUMENT');
  });
});

describe('body framing (request smuggling hygiene)', () => {
  const fields = (...lines: string[]): { httpVersion: '1.1'; headers: ReturnType<typeof parseFieldLines>['headers'] } => ({
    httpVersion: '1.1',
    headers: parseFieldLines(lines).headers,
  });

  it('frames requests by Content-Length, chunked, or not at all', () => {
    expect(requestBodyFraming(fields('Content-Length: 12'))).toEqual({ kind: 'length', bytes: 12 });
    expect(requestBodyFraming(fields('Content-Length: 0'))).toEqual({ kind: 'none' });
    expect(requestBodyFraming(fields('Transfer-Encoding: Chunked'))).toEqual({ kind: 'chunked' });
    expect(requestBodyFraming(fields())).toEqual({ kind: 'none' });
  });

  it('frames responses by the request method and the status first, then the fields, else until close', () => {
    expect(responseBodyFraming('HEAD', 200, fields('Content-Length: 5'))).toEqual({ kind: 'none' });
    expect(responseBodyFraming('GET', 204, fields('Content-Length: 5'))).toEqual({ kind: 'none' });
    expect(responseBodyFraming('GET', 304, fields())).toEqual({ kind: 'none' });
    expect(responseBodyFraming('GET', 200, fields('Transfer-Encoding: chunked'))).toEqual({ kind: 'chunked' });
    expect(responseBodyFraming('GET', 200, fields())).toEqual({ kind: 'until-close' });
  });

  it('accepts repeated Content-Length only when every value agrees', () => {
    expect(requestBodyFraming(fields('Content-Length: 5', 'Content-Length: 5'))).toEqual({ kind: 'length', bytes: 5 });
    expect(requestBodyFraming(fields('Content-Length: 5, 5'))).toEqual({ kind: 'length', bytes: 5 });
    expect(parseFieldLines(['Content-Length: 5, 5']).headers['content-length']).toBe('5');
  });

  const bad: [string, () => unknown, number, RegExp][] = [
    ['CL and TE', () => requestBodyFraming(fields('Content-Length: 5', 'Transfer-Encoding: chunked')), 400, /both Content-Length and Transfer-Encoding/],
    ['CL and TE (response)', () => responseBodyFraming('GET', 200, fields('Transfer-Encoding: chunked', 'Content-Length: 5')), 400, /both/],
    ['conflicting CL', () => parseFieldLines(['Content-Length: 5', 'Content-Length: 6']), 400, /conflicting Content-Length values "5, 6"/],
    ['non-numeric CL', () => parseFieldLines(['Content-Length: 0x10']), 400, /non-numeric Content-Length "0x10"/],
    ['negative CL', () => parseFieldLines(['Content-Length: -1']), 400, /non-numeric Content-Length "-1"/],
    ['signed CL', () => parseFieldLines(['Content-Length: +5']), 400, /non-numeric/],
    ['empty CL', () => parseFieldLines(['Content-Length:']), 400, /non-numeric Content-Length ""/],
    ['huge CL', () => parseFieldLines(['Content-Length: 1234567890123456']), 400, /out of range/],
    ['TE gzip', () => requestBodyFraming(fields('Transfer-Encoding: gzip')), 400, /does not end in chunked/],
    ['TE gzip, chunked', () => requestBodyFraming(fields('Transfer-Encoding: gzip, chunked')), 501, /transfer coding "gzip" is not implemented/],
    ['TE chunked, gzip', () => requestBodyFraming(fields('Transfer-Encoding: chunked, gzip')), 400, /chunked is not the final transfer coding/],
    ['TE chunked twice', () => requestBodyFraming(fields('Transfer-Encoding: chunked', 'Transfer-Encoding: chunked')), 400, /applied twice/],
    ['TE empty', () => requestBodyFraming(fields('Transfer-Encoding: ,')), 400, /empty Transfer-Encoding/],
    [
      'TE in HTTP/1.0',
      () => requestBodyFraming({ httpVersion: '1.0', headers: parseFieldLines(['Transfer-Encoding: chunked']).headers }),
      400,
      /Transfer-Encoding in an HTTP\/1.0 message/,
    ],
  ];
  for (const [name, action, status, message] of bad) {
    it(`rejects ${name}`, () => {
      const error = rejection(action);
      expect(error.code).toBe('ERR_HTTP_PROTOCOL');
      expect(error.status).toBe(status);
      expect(error.detail).toMatch(message);
    });
  }
});
