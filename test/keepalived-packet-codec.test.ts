// The advert codec on its own terms: field validation with typed errors,
// and properties over random adverts — round trips, single-bit flips
// (every one is caught, and with the IPv4 header checksum repaired only the
// fields nobody protects get through), truncation, and arbitrary bytes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { internetChecksum } from '../src/runtime/net/ipv4-header.js';
import {
  buildAdvertDatagram,
  checkAdvert,
  encodeVrrpMessage,
  VrrpPacketError,
  type AdvertDatagramOptions,
  type AdvertExpectation,
  type VrrpAdvert,
  type VrrpPacketErrorCode,
} from '../src/runtime/keepalived/packet/index.js';

const IP_HEADER_BYTES = 20;
const GROUP = '224.0.0.18';

const baseAdvert: VrrpAdvert = { version: 2, vrid: 51, priority: 100, advertIntervalMs: 1000, addresses: ['198.18.7.100'], authType: 'none' };
const baseOptions: AdvertDatagramOptions = { advert: baseAdvert, source: '198.18.7.1', destination: GROUP, ttl: 255, identification: 1, unicast: false };

function errorCodeOf(run: () => unknown): VrrpPacketErrorCode | undefined {
  try {
    run();
  } catch (error) {
    if (error instanceof VrrpPacketError) return error.code;
    throw error;
  }
  return undefined;
}

function isMulticast(address: string): boolean {
  const first = Number(address.split('.')[0]);
  return first >= 224 && first <= 239;
}

describe('encoding refuses what keepalived would not send', () => {
  const encode = (advert: Partial<VrrpAdvert>, password?: string) =>
    errorCodeOf(() => encodeVrrpMessage({ ...baseAdvert, ...advert }, { source: '198.18.7.1', destination: GROUP, password }));

  it.each([0, 500, 1500, 256_000, -1000, Number.NaN])('v2 interval %d ms', (advertIntervalMs) => {
    expect(encode({ advertIntervalMs })).toBe('ERR_VRRP_BAD_INTERVAL');
  });

  it.each([0, 5, 15, 40_960])('v3 interval %d ms', (advertIntervalMs) => {
    expect(encode({ version: 3, advertIntervalMs })).toBe('ERR_VRRP_BAD_INTERVAL');
  });

  it('accepts the interval bounds', () => {
    for (const advertIntervalMs of [1000, 255_000]) expect(encode({ advertIntervalMs })).toBeUndefined();
    for (const advertIntervalMs of [10, 40_950, 1000]) expect(encode({ version: 3, advertIntervalMs })).toBeUndefined();
  });

  it.each([
    ['vrid 0', { vrid: 0 }],
    ['vrid 256', { vrid: 256 }],
    ['priority 256', { priority: 256 }],
    ['priority 1.5', { priority: 1.5 }],
    ['256 addresses', { addresses: Array.from({ length: 256 }, () => '198.18.7.100') }],
    ['a malformed address', { addresses: ['198.18.7'] }],
  ] as const)('%s', (_name, advert) => {
    expect(encode(advert as Partial<VrrpAdvert>)).toBe('ERR_VRRP_BAD_FIELD');
  });

  it('a malformed source address', () => {
    expect(errorCodeOf(() => encodeVrrpMessage(baseAdvert, { source: 'nope', destination: GROUP }))).toBe('ERR_VRRP_BAD_FIELD');
  });

  it('authentication with VRRPv3, or without a password', () => {
    expect(encode({ version: 3, authType: 'ah' }, 'secret')).toBe('ERR_VRRP_BAD_AUTH');
    expect(encode({ authType: 'pass' })).toBe('ERR_VRRP_BAD_AUTH');
    expect(encode({ authType: 'ah' }, '')).toBe('ERR_VRRP_BAD_AUTH');
    expect(encode({ authType: 'pass' }, '\u0000abc')).toBe('ERR_VRRP_BAD_AUTH');
  });

  it.each([
    ['identification 0 (the kernel would pick one AH cannot cover)', { identification: 0 }],
    ['identification 65536', { identification: 65_536 }],
    ['TTL 0', { ttl: 0 }],
    ['AH without a sequence number', { advert: { ...baseAdvert, authType: 'ah' as const }, password: 'pw' }],
    ['a sequence number without AH', { ahSequence: 1 }],
    ['a sequence number of 2^32', { advert: { ...baseAdvert, authType: 'ah' as const }, password: 'pw', ahSequence: 2 ** 32 }],
  ] as const)('datagram: %s', (_name, options) => {
    expect(errorCodeOf(() => buildAdvertDatagram({ ...baseOptions, ...options }))).toBe('ERR_VRRP_BAD_FIELD');
  });

  it('errors name their field', () => {
    try {
      encodeVrrpMessage({ ...baseAdvert, priority: 300 }, { source: '198.18.7.1', destination: GROUP });
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ name: 'VrrpPacketError', code: 'ERR_VRRP_BAD_FIELD', field: 'priority' });
    }
  });
});

describe('message layout', () => {
  it('v2: auth data is the password, zero-padded; longer ones are cut to 8 bytes as keepalived does', () => {
    const message = encodeVrrpMessage({ ...baseAdvert, authType: 'pass' }, { source: '198.18.7.1', destination: GROUP, password: 'abc' });
    expect(message.subarray(-8)).toEqual(Buffer.from('abc\0\0\0\0\0', 'latin1'));
    const long = encodeVrrpMessage({ ...baseAdvert, authType: 'pass' }, { source: '198.18.7.1', destination: GROUP, password: 'k8sAhPw1-and-more' });
    expect(long.subarray(-8).toString()).toBe('k8sAhPw1');
  });

  it('v2 with AH: auth type 2 and zero auth data', () => {
    const message = encodeVrrpMessage({ ...baseAdvert, authType: 'ah' }, { source: '198.18.7.1', destination: GROUP, password: 'k8sAhPw1' });
    expect(message[4]).toBe(2);
    expect(message.subarray(-8)).toEqual(Buffer.alloc(8));
    expect(internetChecksum(message)).toBe(0);
  });

  it('v3: 12-bit interval in centiseconds, reserved bits zero, no auth data', () => {
    const message = encodeVrrpMessage({ ...baseAdvert, version: 3, advertIntervalMs: 40_950 }, { source: '198.18.7.1', destination: GROUP });
    expect(message.length).toBe(12);
    expect(message.readUInt16BE(4)).toBe(0x0fff);
  });
});

// ---------------------------------------------------------------- properties

interface Sample {
  options: AdvertDatagramOptions;
  expectation: AdvertExpectation;
}

const unicastAddress = fc.ipV4().filter((address) => !isMulticast(address));
const password = fc.uint8Array({ minLength: 1, maxLength: 12 }).filter((bytes) => bytes[0] !== 0).map((bytes) => Buffer.from(bytes));

const sample: fc.Arbitrary<Sample> = fc
  .record({
    kind: fc.constantFrom('none', 'pass', 'ah', 'v3'),
    vrid: fc.integer({ min: 1, max: 255 }),
    priority: fc.integer({ min: 0, max: 255 }),
    seconds: fc.integer({ min: 1, max: 255 }),
    centiseconds: fc.integer({ min: 1, max: 4095 }),
    addresses: fc.array(fc.ipV4(), { maxLength: 20 }),
    source: unicastAddress,
    unicast: fc.boolean(),
    peer: unicastAddress,
    group: fc.ipV4().filter(isMulticast),
    unicastTtl: fc.integer({ min: 1, max: 255 }),
    identification: fc.integer({ min: 1, max: 0xffff }),
    ahSequence: fc.integer({ min: 0, max: 0xffff_ffff }),
    password,
  })
  .map((r) => {
    const version = r.kind === 'v3' ? 3 : 2;
    const authType = r.kind === 'v3' ? 'none' : r.kind;
    const advert: VrrpAdvert = {
      version,
      vrid: r.vrid,
      priority: r.priority,
      advertIntervalMs: version === 2 ? r.seconds * 1000 : r.centiseconds * 10,
      addresses: r.addresses,
      authType,
    };
    const options: AdvertDatagramOptions = {
      advert,
      source: r.source,
      destination: r.unicast ? r.peer : r.group,
      ttl: r.unicast ? r.unicastTtl : 255,
      identification: r.identification,
      password: r.password,
      ahSequence: authType === 'ah' ? r.ahSequence : undefined,
      unicast: r.unicast,
    };
    return { options, expectation: { version, authType, password: r.password, unicast: r.unicast } };
  });

function checkDatagram(datagram: Buffer, expectation: AdvertExpectation) {
  const headerBytes = Math.min(datagram.length, ((datagram[0] ?? 0) & 0x0f) * 4);
  return checkAdvert(datagram.subarray(0, headerBytes), datagram.subarray(headerBytes), expectation);
}

function flipBit(datagram: Buffer, bit: number): Buffer {
  const flipped = Buffer.from(datagram);
  flipped[bit >> 3]! ^= 0x80 >> (bit & 7);
  return flipped;
}

/**
 * Whether a flip of `bit` in the IPv4 header, checksum repaired, must still
 * be accepted: the fields keepalived neither checks nor authenticates.
 */
function flipGetsThrough(bit: number, original: Buffer, flipped: Buffer, s: Sample): boolean {
  const byte = bit >> 3;
  const ah = s.options.advert.authType === 'ah';
  if (byte === 1 || byte === 6 || byte === 7) return true; // tos, flags and fragment offset: AH zeroes them
  if (byte === 4 || byte === 5) return !ah; // identification
  if (byte === 8) return s.options.unicast; // TTL
  // v2 without AH: nothing covers the addresses, short of the multicast/unicast check.
  if (byte >= 12 && byte < 16) return s.options.advert.version === 2 && !ah;
  if (byte >= 16 && byte < 20) {
    const sameKind = isMulticast(flipped.subarray(16, 20).join('.')) === isMulticast(original.subarray(16, 20).join('.'));
    return s.options.advert.version === 2 && !ah && sameKind;
  }
  return false;
}

describe('properties', () => {
  it('encode then check gives back the advert, the addresses, the TTL and the AH sequence', () => {
    fc.assert(
      fc.property(sample, (s) => {
        const result = checkDatagram(buildAdvertDatagram(s.options), s.expectation);
        expect(result).toEqual({
          ok: true,
          advert: s.options.advert,
          source: s.options.source,
          destination: s.options.destination,
          ttl: s.options.ttl,
          ...(s.options.ahSequence === undefined ? {} : { ahSequence: s.options.ahSequence }),
        });
      }),
      { numRuns: 300 },
    );
  });

  it('every single-bit flip is refused, never thrown', () => {
    fc.assert(
      fc.property(sample, fc.nat(), (s, bitSeed) => {
        const datagram = buildAdvertDatagram(s.options);
        const result = checkDatagram(flipBit(datagram, bitSeed % (datagram.length * 8)), s.expectation);
        expect(result.ok).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('a flip in the IPv4 header with its checksum repaired gets through exactly when the field is unprotected', () => {
    fc.assert(
      fc.property(sample, fc.integer({ min: 0, max: IP_HEADER_BYTES * 8 - 1 }), (s, bit) => {
        if (bit >> 3 === 10 || bit >> 3 === 11) return; // the checksum itself is recomputed
        const datagram = buildAdvertDatagram(s.options);
        const flipped = flipBit(datagram, bit);
        flipped.writeUInt16BE(0, 10);
        flipped.writeUInt16BE(internetChecksum(flipped.subarray(0, IP_HEADER_BYTES)), 10);
        const result = checkDatagram(flipped, s.expectation);
        expect(result.ok, `bit ${bit}: ${JSON.stringify(result)}`).toBe(flipGetsThrough(bit, datagram, flipped, s));
        if (result.ok) expect(result.advert).toEqual(s.options.advert);
      }),
      { numRuns: 2000 },
    );
  });

  it('every truncation and every extension is refused', () => {
    fc.assert(
      fc.property(sample, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 8 }), (s, cut, extra) => {
        const datagram = buildAdvertDatagram(s.options);
        expect(checkDatagram(datagram.subarray(0, cut % datagram.length), s.expectation).ok).toBe(false);
        expect(checkDatagram(Buffer.concat([datagram, extra]), s.expectation).ok).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  const anyExpectation = fc.record({
    version: fc.constantFrom(2 as const, 3 as const),
    authType: fc.constantFrom('none' as const, 'pass' as const, 'ah' as const),
    password: fc.option(password, { nil: undefined }),
    unicast: fc.boolean(),
  });

  it('arbitrary bytes never throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.uint8Array({ maxLength: 120 }), anyExpectation, (header, payload, expectation) => {
        const result = checkAdvert(Buffer.from(header), Buffer.from(payload), expectation);
        expect(typeof result.ok).toBe('boolean');
      }),
      { numRuns: 3000 },
    );
  });

  it('arbitrary bytes behind a well-formed IPv4 header never throw', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(112, 51),
        fc.uint8Array({ maxLength: 100 }),
        fc.boolean(),
        anyExpectation,
        (protocol, payload, trueLength, expectation) => {
          const header = Buffer.from(buildAdvertDatagram(baseOptions).subarray(0, IP_HEADER_BYTES));
          header[9] = protocol;
          header[8] = expectation.unicast ? header[8]! : 255;
          if (trueLength) header.writeUInt16BE(IP_HEADER_BYTES + payload.length, 2);
          header.writeUInt16BE(0, 10);
          header.writeUInt16BE(internetChecksum(header), 10);
          const result = checkAdvert(header, Buffer.from(payload), expectation);
          expect(typeof result.ok).toBe('boolean');
        },
      ),
      { numRuns: 3000 },
    );
  });
});
