// The CONNECT request-head parser: well-formed heads, a table of malformed
// ones (whole and byte by byte), and properties over random input.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConnectRequestParser, parseConnectRequest } from '../src/runtime/proxy/connect-request.js';
import type { ConnectParseResult, ConnectRequest } from '../src/runtime/proxy/connect-request.js';

const validHead = 'CONNECT du.pf9lab.test:443 HTTP/1.1\r\nHost: du.pf9lab.test:443\r\nProxy-Authorization: Basic dTpw\r\nUser-Agent: comms/1\r\n\r\n';

function feedInChunks(input: Buffer, cuts: readonly number[]): { results: ConnectParseResult[]; final: ConnectParseResult } {
  const parser = new ConnectRequestParser();
  const positions = [...new Set(cuts.map((cut) => (input.length === 0 ? 0 : cut % (input.length + 1))))].sort((a, b) => a - b);
  const results: ConnectParseResult[] = [];
  let start = 0;
  for (const position of [...positions, input.length]) {
    results.push(parser.push(input.subarray(start, position)));
    start = position;
  }
  return { results, final: results[results.length - 1] ?? parser.push(Buffer.alloc(0)) };
}

function feedByteByByte(input: Buffer): ConnectParseResult {
  const parser = new ConnectRequestParser();
  let result: ConnectParseResult = parser.push(Buffer.alloc(0));
  for (let index = 0; index < input.length; index += 1) {
    result = parser.push(input.subarray(index, index + 1));
    if (result.kind !== 'need-more') break;
  }
  return result;
}

/** The result without `rest`, which depends on how the input was chunked. */
function withoutRest(result: ConnectParseResult): unknown {
  if (result.kind !== 'request') return result;
  const { rest: _rest, ...others } = result;
  return others;
}

function expectRequest(result: ConnectParseResult): ConnectRequest {
  if (result.kind !== 'request') throw new Error(`expected a request, got ${JSON.stringify(result)}`);
  return result;
}

describe('ConnectRequestParser: well-formed heads', () => {
  it('parses a CONNECT with headers', () => {
    const request = expectRequest(parseConnectRequest(Buffer.from(validHead)));
    expect(request).toMatchObject({
      method: 'CONNECT', target: 'du.pf9lab.test:443', host: 'du.pf9lab.test', port: 443, httpVersion: '1.1',
    });
    expect(request.headers).toEqual([
      ['host', 'du.pf9lab.test:443'],
      ['proxy-authorization', 'Basic dTpw'],
      ['user-agent', 'comms/1'],
    ]);
    expect(request.rest).toHaveLength(0);
  });

  it('returns the bytes after the head as rest', () => {
    const request = expectRequest(parseConnectRequest(Buffer.from(`${validHead}\x16\x03\x01client hello`)));
    expect(request.rest.toString('latin1')).toBe('\x16\x03\x01client hello');
  });

  it('needs more until the blank line, byte by byte', () => {
    const parser = new ConnectRequestParser();
    const input = Buffer.from(validHead);
    for (let index = 0; index < input.length - 1; index += 1) {
      expect(parser.push(input.subarray(index, index + 1)).kind).toBe('need-more');
    }
    expect(parser.push(input.subarray(input.length - 1)).kind).toBe('request');
  });

  it('keeps returning its result once done', () => {
    const parser = new ConnectRequestParser();
    const first = parser.push(Buffer.from('CONNECT a:1 HTTP/1.1\r\n\r\n'));
    expect(parser.push(Buffer.from('more bytes'))).toBe(first);
  });

  it.each([
    ['bare LF line endings', 'CONNECT a:1 HTTP/1.1\nHost: a:1\n\n'],
    ['mixed line endings', 'CONNECT a:1 HTTP/1.1\r\nHost: a:1\n\r\n'],
    ['leading empty lines', '\r\n\r\nCONNECT a:1 HTTP/1.1\r\n\r\n'],
    ['HTTP/1.0 without headers', 'CONNECT a:1 HTTP/1.0\r\n\r\n'],
    ['an IPv4 target', 'CONNECT 198.18.0.1:8443 HTTP/1.1\r\n\r\n'],
    ['an IPv6 target', 'CONNECT [2001:db8::1]:443 HTTP/1.1\r\n\r\n'],
    ['port 65535', 'CONNECT a:65535 HTTP/1.1\r\n\r\n'],
    ['Content-Length: 0', 'CONNECT a:1 HTTP/1.1\r\nContent-Length: 0\r\n\r\n'],
    ['whitespace around a value', 'CONNECT a:1 HTTP/1.1\r\nX-A: \t v \t\r\n\r\n'],
    ['an empty value', 'CONNECT a:1 HTTP/1.1\r\nX-A:\r\n\r\n'],
    ['obs-text in a value', 'CONNECT a:1 HTTP/1.1\r\nX-A: caf\xe9\r\n\r\n'],
  ])('accepts %s', (_label, head) => {
    const whole = parseConnectRequest(Buffer.from(head, 'latin1'));
    expect(whole.kind).toBe('request');
    expect(withoutRest(feedByteByByte(Buffer.from(head, 'latin1')))).toEqual(withoutRest(whole));
  });

  it('gives IPv6 hosts without brackets and values trimmed', () => {
    expect(expectRequest(parseConnectRequest(Buffer.from('CONNECT [::1]:22 HTTP/1.1\r\n\r\n'))).host).toBe('::1');
    const request = expectRequest(parseConnectRequest(Buffer.from('CONNECT a:1 HTTP/1.1\r\nX-A: \t v \t\r\n\r\n')));
    expect(request.headers).toEqual([['x-a', 'v']]);
    expect(request.httpVersion).toBe('1.1');
  });

  it('accepts a head of exactly headBytesMax bytes and refuses one byte more', () => {
    const base = 'CONNECT a:1 HTTP/1.1\r\nX-Pad: \r\n\r\n';
    const exact = base.replace('X-Pad: ', `X-Pad: ${'p'.repeat(8192 - base.length)}`);
    expect(Buffer.byteLength(exact)).toBe(8192);
    expect(parseConnectRequest(Buffer.from(exact)).kind).toBe('request');
    expect(parseConnectRequest(Buffer.from(exact.replace('X-Pad: ', 'X-Pad: p')))).toMatchObject({
      kind: 'error', status: 431, code: 'ERR_PROXY_HEAD_TOO_LARGE',
    });
    expect(parseConnectRequest(Buffer.from(exact), { headBytesMax: 100 })).toMatchObject({ status: 431 });
  });

  it('rejects nonsensical options', () => {
    expect(() => new ConnectRequestParser({ headBytesMax: 0 })).toThrow(RangeError);
    expect(() => new ConnectRequestParser({ headerCountMax: 1.5 })).toThrow(RangeError);
  });
});

const line = 'CONNECT a:443 HTTP/1.1';
const malformed: [label: string, head: string, status: number, code: string][] = [
  // request line
  ['GET through a proxy', 'GET http://a/ HTTP/1.1\r\n\r\n', 405, 'ERR_PROXY_METHOD_NOT_ALLOWED'],
  ['lower-case connect', 'connect a:443 HTTP/1.1\r\n\r\n', 405, 'ERR_PROXY_METHOD_NOT_ALLOWED'],
  ['POST', 'POST a:443 HTTP/1.1\r\n\r\n', 405, 'ERR_PROXY_METHOD_NOT_ALLOWED'],
  ['double space', 'CONNECT  a:443 HTTP/1.1\r\n\r\n', 400, 'ERR_PROXY_BAD_REQUEST_LINE'],
  ['trailing space', 'CONNECT a:443 HTTP/1.1 \r\n\r\n', 400, 'ERR_PROXY_BAD_REQUEST_LINE'],
  ['leading space', ' CONNECT a:443 HTTP/1.1\r\n\r\n', 400, 'ERR_PROXY_BAD_REQUEST_LINE'],
  ['tabs as separators', 'CONNECT\ta:443\tHTTP/1.1\r\n\r\n', 400, 'ERR_PROXY_BAD_REQUEST_LINE'],
  ['no version', 'CONNECT a:443\r\n\r\n', 400, 'ERR_PROXY_BAD_REQUEST_LINE'],
  ['only a method', 'CONNECT\r\n\r\n', 400, 'ERR_PROXY_BAD_REQUEST_LINE'],
  ['four parts', 'CONNECT a:443 HTTP/1.1 x\r\n\r\n', 400, 'ERR_PROXY_BAD_REQUEST_LINE'],
  ['a NUL in the method', 'CONN\0ECT a:443 HTTP/1.1\r\n\r\n', 400, 'ERR_PROXY_BAD_REQUEST_LINE'],
  ['lower-case version', 'CONNECT a:443 http/1.1\r\n\r\n', 400, 'ERR_PROXY_BAD_REQUEST_LINE'],
  ['a two-digit minor version', 'CONNECT a:443 HTTP/1.10\r\n\r\n', 400, 'ERR_PROXY_BAD_REQUEST_LINE'],
  ['HTTP/2.0', 'CONNECT a:443 HTTP/2.0\r\n\r\n', 505, 'ERR_PROXY_VERSION_NOT_SUPPORTED'],
  ['HTTP/1.2', 'CONNECT a:443 HTTP/1.2\r\n\r\n', 505, 'ERR_PROXY_VERSION_NOT_SUPPORTED'],
  ['HTTP/0.9', 'CONNECT a:443 HTTP/0.9\r\n\r\n', 505, 'ERR_PROXY_VERSION_NOT_SUPPORTED'],
  ['a bare CR in the request line', 'CONNECT a:443\rHTTP/1.1\r\n\r\n', 400, 'ERR_PROXY_BAD_LINE_ENDING'],
  ['CR CR LF', 'CONNECT a:443 HTTP/1.1\r\r\n\r\n', 400, 'ERR_PROXY_BAD_LINE_ENDING'],
  // targets
  ...[
    'a', 'a:', ':443', 'a:0', 'a:65536', 'a:99999', 'a:123456', 'a:-1', 'a:+80', 'a:0x50', 'user@a:443', 'a:443/path',
    'http://a:443', '/', '*', '[::1]', '[::1]443', '[zz::1]:443', '[::1:443', '::1:443', 'a..b:443', '.:443', 'a:b:443',
    '%61:443', 'caf\xe9:443', 'a:44\x003', '-a:443', '[]:443', '[1]:443',
  ].map((target): [string, string, number, string] => [
    `target ${JSON.stringify(target)}`, `CONNECT ${target} HTTP/1.1\r\n\r\n`, 400, 'ERR_PROXY_BAD_TARGET',
  ]),
  // headers
  ['a header without a colon', `${line}\r\nHost a\r\n\r\n`, 400, 'ERR_PROXY_BAD_HEADER_NAME'],
  ['whitespace before the colon', `${line}\r\nHost : a\r\n\r\n`, 400, 'ERR_PROXY_BAD_HEADER_NAME'],
  ['a tab before the colon', `${line}\r\nHost\t: a\r\n\r\n`, 400, 'ERR_PROXY_BAD_HEADER_NAME'],
  ['an empty header name', `${line}\r\n: a\r\n\r\n`, 400, 'ERR_PROXY_BAD_HEADER_NAME'],
  ['a space inside the name', `${line}\r\nHo st: a\r\n\r\n`, 400, 'ERR_PROXY_BAD_HEADER_NAME'],
  ['a non-token name', `${line}\r\nHo(st): a\r\n\r\n`, 400, 'ERR_PROXY_BAD_HEADER_NAME'],
  ['obs-fold after a header', `${line}\r\nX-A: a\r\n b\r\n\r\n`, 400, 'ERR_PROXY_OBS_FOLD'],
  ['a tab-folded line', `${line}\r\nX-A: a\r\n\tb\r\n\r\n`, 400, 'ERR_PROXY_OBS_FOLD'],
  ['whitespace before the first header', `${line}\r\n Host: a\r\n\r\n`, 400, 'ERR_PROXY_OBS_FOLD'],
  ['a NUL in a value', `${line}\r\nX-A: a\0b\r\n\r\n`, 400, 'ERR_PROXY_BAD_HEADER_VALUE'],
  ['DEL in a value', `${line}\r\nX-A: a\x7fb\r\n\r\n`, 400, 'ERR_PROXY_BAD_HEADER_VALUE'],
  ['an escape in a value', `${line}\r\nX-A: \x1b[31m\r\n\r\n`, 400, 'ERR_PROXY_BAD_HEADER_VALUE'],
  ['a bare CR in a value', `${line}\r\nX-A: a\rb\r\n\r\n`, 400, 'ERR_PROXY_BAD_LINE_ENDING'],
  ['two Host headers', `${line}\r\nHost: a:443\r\nhost: b:443\r\n\r\n`, 400, 'ERR_PROXY_DUPLICATE_HOST'],
  ['Transfer-Encoding', `${line}\r\nTransfer-Encoding: chunked\r\n\r\n`, 400, 'ERR_PROXY_UNEXPECTED_BODY'],
  ['a Content-Length', `${line}\r\nContent-Length: 5\r\n\r\nhello`, 400, 'ERR_PROXY_UNEXPECTED_BODY'],
  ['a signed Content-Length', `${line}\r\nContent-Length: +0\r\n\r\n`, 400, 'ERR_PROXY_UNEXPECTED_BODY'],
  // bounds
  ['101 headers', `${line}\r\n${'X-A: a\r\n'.repeat(101)}\r\n`, 431, 'ERR_PROXY_TOO_MANY_HEADERS'],
  ['a 9000-byte header', `${line}\r\nX-A: ${'a'.repeat(9000)}\r\n\r\n`, 431, 'ERR_PROXY_HEAD_TOO_LARGE'],
  ['9000 bytes without a line feed', 'C'.repeat(9000), 431, 'ERR_PROXY_HEAD_TOO_LARGE'],
  ['endless empty lines', '\r\n'.repeat(5000), 431, 'ERR_PROXY_HEAD_TOO_LARGE'],
  ['a TLS ClientHello instead of a request', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n', 400, 'ERR_PROXY_BAD_REQUEST_LINE'],
];

describe('ConnectRequestParser: malformed heads', () => {
  it.each(malformed)('refuses %s', (_label, head, status, code) => {
    const input = Buffer.from(head, 'latin1');
    const whole = parseConnectRequest(input);
    expect(whole).toMatchObject({ kind: 'error', status, code });
    expect(feedByteByByte(input)).toEqual(whole);
  });

  it('has a large table', () => {
    expect(malformed.length).toBeGreaterThanOrEqual(60);
  });
});

describe('ConnectRequestParser: properties', () => {
  const cuts = fc.array(fc.nat({ max: 10_000 }), { maxLength: 12 });

  it('never throws on random bytes, and answers the same however they are chunked', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3_000 }), cuts, (bytes, cutPoints) => {
        const input = Buffer.from(bytes);
        const whole = parseConnectRequest(input);
        expect(['need-more', 'request', 'error']).toContain(whole.kind);
        const { results, final } = feedInChunks(input, cutPoints);
        for (const result of results) expect(['need-more', 'request', 'error']).toContain(result.kind);
        expect(withoutRest(final)).toEqual(withoutRest(whole));
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on random text built from HTTP-ish pieces', () => {
    const piece = fc.constantFrom(
      'CONNECT', 'GET', ' ', '  ', '\t', ':', '::', '[', ']', 'a', 'host.example', '443', '0', '65536', 'HTTP/1.1', 'HTTP/1.0',
      'HTTP/9.9', '\r\n', '\n', '\r', '\0', 'Host', 'Content-Length', 'Transfer-Encoding', 'chunked', '\xff', '\x7f',
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 60 }), cuts, (pieces, cutPoints) => {
        const input = Buffer.from(pieces.join(''), 'latin1');
        const whole = parseConnectRequest(input);
        const { final } = feedInChunks(input, cutPoints);
        expect(withoutRest(final)).toEqual(withoutRest(whole));
      }),
      { numRuns: 1_000 },
    );
  });

  it('parses every well-formed CONNECT it is given, however chunked', () => {
    const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
    const host = fc.array(label, { minLength: 1, maxLength: 4 }).map((labels) => labels.join('.'));
    const headerName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/).filter((name) => {
      const lower = name.toLowerCase();
      return lower !== 'host' && lower !== 'content-length' && lower !== 'transfer-encoding';
    });
    const headerValue = fc.stringMatching(/^[!-~]([ !-~]{0,30}[!-~])?$/);
    const trailing = fc.uint8Array({ maxLength: 64 });
    fc.assert(
      fc.property(
        host, fc.integer({ min: 1, max: 65535 }), fc.constantFrom('1.0', '1.1'),
        fc.array(fc.tuple(headerName, headerValue), { maxLength: 10 }), fc.constantFrom('\r\n', '\n'), trailing, cuts,
        (hostName, port, version, headers, eol, rest, cutPoints) => {
          const head = [`CONNECT ${hostName}:${port} HTTP/${version}`, ...headers.map(([name, value]) => `${name}: ${value}`), '', ''].join(eol);
          const input = Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(rest)]);
          const { final } = feedInChunks(input, cutPoints);
          const request = expectRequest(final);
          expect(request).toMatchObject({ host: hostName, port, httpVersion: version, target: `${hostName}:${port}` });
          expect(request.headers).toEqual(headers.map(([name, value]) => [name.toLowerCase(), value]));
          const whole = expectRequest(parseConnectRequest(input));
          expect(Buffer.compare(whole.rest, Buffer.from(rest))).toBe(0);
        },
      ),
      { numRuns: 500 },
    );
  });
});
