// Every drop reason of checkAdvert, each triggered by a datagram that is
// valid but for that one defect (checksums repaired where the defect would
// otherwise be caught by an earlier check), plus keepalived's check order
// where two defects meet.
import { describe, expect, it } from 'vitest';
import { internetChecksum } from '../src/runtime/net/ipv4-header.js';
import {
  ADVERT_DROP_REASONS,
  buildAdvertDatagram,
  checkAdvert,
  type AdvertDatagramOptions,
  type AdvertDropReason,
  type AdvertExpectation,
  type VrrpAdvert,
} from '../src/runtime/keepalived/packet/index.js';
import { writeAhIcv } from '../src/runtime/keepalived/packet/ipsec-ah.js';
import { authKey } from '../src/runtime/keepalived/packet/auth-key.js';

const PASSWORD = 'k8sAhPw1';
const IP_HEADER_BYTES = 20;
const AH_BYTES = 24;

type Kind = 'none' | 'pass' | 'ah' | 'v3';

function advertOf(kind: Kind): VrrpAdvert {
  return {
    version: kind === 'v3' ? 3 : 2,
    vrid: 51,
    priority: 100,
    advertIntervalMs: 1000,
    addresses: ['198.18.7.100'],
    authType: kind === 'v3' ? 'none' : kind,
  };
}

function optionsOf(kind: Kind, unicast = false): AdvertDatagramOptions {
  return {
    advert: advertOf(kind),
    source: '198.18.7.1',
    destination: unicast ? '198.18.7.2' : '224.0.0.18',
    ttl: 255,
    identification: 7,
    password: kind === 'pass' || kind === 'ah' ? PASSWORD : undefined,
    ahSequence: kind === 'ah' ? 5 : undefined,
    unicast,
  };
}

function expectationOf(kind: Kind, unicast = false): AdvertExpectation {
  return { version: kind === 'v3' ? 3 : 2, authType: kind === 'v3' ? 'none' : kind, password: PASSWORD, unicast };
}

function datagramOf(kind: Kind, unicast = false): Buffer {
  return buildAdvertDatagram(optionsOf(kind, unicast));
}

/** Offset of the VRRP message in a datagram of `kind`. */
function vrrpOffset(kind: Kind): number {
  return IP_HEADER_BYTES + (kind === 'ah' ? AH_BYTES : 0);
}

function fixIpChecksum(datagram: Buffer): Buffer {
  datagram.writeUInt16BE(0, 10);
  datagram.writeUInt16BE(internetChecksum(datagram.subarray(0, IP_HEADER_BYTES)), 10);
  return datagram;
}

/** Recomputes the VRRP checksum of a v2 message (which covers only itself). */
function fixV2Checksum(datagram: Buffer, kind: Kind): Buffer {
  const message = datagram.subarray(vrrpOffset(kind));
  message.writeUInt16BE(0, 6);
  message.writeUInt16BE(internetChecksum(message), 6);
  return datagram;
}

/** Recomputes a v3 checksum with the IPv4 pseudo-header. */
function fixV3Checksum(datagram: Buffer): Buffer {
  const message = datagram.subarray(IP_HEADER_BYTES);
  const pseudo = Buffer.alloc(12);
  datagram.copy(pseudo, 0, 12, 20);
  pseudo[9] = 112;
  pseudo.writeUInt16BE(message.length, 10);
  message.writeUInt16BE(0, 6);
  message.writeUInt16BE(internetChecksum(pseudo, message), 6);
  return datagram;
}

function fixAhIcv(datagram: Buffer, unicast = false): Buffer {
  const ah = datagram.subarray(IP_HEADER_BYTES, IP_HEADER_BYTES + AH_BYTES);
  writeAhIcv(datagram.subarray(0, IP_HEADER_BYTES), ah, datagram.subarray(IP_HEADER_BYTES + AH_BYTES), authKey(PASSWORD), unicast);
  return datagram;
}

function check(datagram: Buffer, expectation: AdvertExpectation, headerBytes = IP_HEADER_BYTES) {
  return checkAdvert(datagram.subarray(0, headerBytes), datagram.subarray(headerBytes), expectation);
}

interface DropCase {
  reason: AdvertDropReason;
  name: string;
  result: () => ReturnType<typeof checkAdvert>;
}

const cases: DropCase[] = [
  { reason: 'bad-ip-header', name: 'IP version 6', result: () => check(fixIpChecksum(mutate(datagramOf('none'), (d) => (d[0] = 0x65))), expectationOf('none')) },
  {
    reason: 'bad-ip-header',
    name: 'header length field of 24 bytes on a 20-byte header',
    result: () => check(fixIpChecksum(mutate(datagramOf('none'), (d) => (d[0] = 0x46))), expectationOf('none')),
  },
  { reason: 'bad-ip-header', name: 'IPv4 header checksum off by one', result: () => check(mutate(datagramOf('none'), (d) => (d[11]! ^= 1)), expectationOf('none')) },
  { reason: 'bad-protocol', name: 'UDP', result: () => check(fixIpChecksum(mutate(datagramOf('none'), (d) => (d[9] = 17))), expectationOf('none')) },
  { reason: 'too-short', name: 'a 19-byte IPv4 header', result: () => checkAdvert(datagramOf('none').subarray(0, 19), Buffer.alloc(0), expectationOf('none')) },
  { reason: 'too-short', name: '7 bytes of VRRP', result: () => check(datagramOf('none').subarray(0, 27), expectationOf('none')) },
  { reason: 'too-short', name: 'an AH header and 7 bytes of VRRP', result: () => check(datagramOf('ah').subarray(0, 51), expectationOf('ah')) },
  { reason: 'auth-type-mismatch', name: 'an AH header, AH not configured', result: () => check(datagramOf('ah'), expectationOf('none')) },
  { reason: 'auth-type-mismatch', name: 'no AH header, AH configured', result: () => check(datagramOf('pass'), expectationOf('ah')) },
  { reason: 'auth-type-mismatch', name: 'v2 auth type PASS, none configured', result: () => check(datagramOf('pass'), expectationOf('none')) },
  {
    reason: 'auth-type-mismatch',
    name: 'AH configured without a password is no AH (keepalived ignores it)',
    result: () => check(datagramOf('ah'), { ...expectationOf('ah'), password: undefined }),
  },
  {
    reason: 'address-count',
    name: 'a count of 2 with one address',
    result: () => check(fixV2Checksum(mutate(datagramOf('none'), (d) => (d[IP_HEADER_BYTES + 3] = 2)), 'none'), expectationOf('none')),
  },
  { reason: 'length-mismatch', name: 'a trailing byte', result: () => check(Buffer.concat([datagramOf('none'), Buffer.alloc(1)]), expectationOf('none')) },
  {
    reason: 'length-mismatch',
    name: 'IPv4 total length one more than received',
    result: () => check(fixIpChecksum(mutate(datagramOf('v3'), (d) => d.writeUInt16BE(d.readUInt16BE(2) + 1, 2))), expectationOf('v3')),
  },
  { reason: 'bad-ttl', name: 'multicast with TTL 254', result: () => check(fixIpChecksum(mutate(datagramOf('v3'), (d) => (d[8] = 254))), expectationOf('v3')) },
  { reason: 'bad-version', name: 'a v3 advert on a v2 instance', result: () => check(datagramOf('v3'), expectationOf('none')) },
  { reason: 'bad-version', name: 'a v2 advert on a v3 instance', result: () => check(datagramOf('none'), expectationOf('v3')) },
  {
    reason: 'invalid-auth-type',
    name: 'auth type 3',
    result: () => check(fixV2Checksum(mutate(datagramOf('none'), (d) => (d[IP_HEADER_BYTES + 4] = 3)), 'none'), expectationOf('none')),
  },
  { reason: 'bad-password', name: 'another password', result: () => check(datagramOf('pass'), { ...expectationOf('pass'), password: 'k8sAhPw2' }) },
  {
    reason: 'bad-password',
    name: 'an IPv4 total length pointing past the datagram',
    result: () => check(fixIpChecksum(mutate(datagramOf('pass'), (d) => d.writeUInt16BE(d.readUInt16BE(2) + 8, 2))), expectationOf('pass')),
  },
  { reason: 'ah-next-header', name: 'AH for TCP', result: () => check(mutate(datagramOf('ah'), (d) => (d[IP_HEADER_BYTES] = 6)), expectationOf('ah')) },
  { reason: 'bad-ah-icv', name: 'another password', result: () => check(datagramOf('ah'), { ...expectationOf('ah'), password: 'k8sAhPw2' }) },
  {
    reason: 'bad-ah-icv',
    name: 'a changed priority (VRRP checksum repaired)',
    result: () => check(fixV2Checksum(mutate(datagramOf('ah'), (d) => (d[vrrpOffset('ah') + 2] = 200)), 'ah'), expectationOf('ah')),
  },
  {
    reason: 'bad-ah-spi',
    name: 'an SPI other than the source (ICV repaired)',
    result: () => check(fixAhIcv(mutate(datagramOf('ah'), (d) => (d[IP_HEADER_BYTES + 7] = 99))), expectationOf('ah')),
  },
  { reason: 'bad-type', name: 'type 2', result: () => check(fixV3Checksum(mutate(datagramOf('v3'), (d) => (d[IP_HEADER_BYTES] = 0x32))), expectationOf('v3')) },
  { reason: 'bad-checksum', name: 'v2 with a changed priority', result: () => check(mutate(datagramOf('pass'), (d) => (d[IP_HEADER_BYTES + 2] = 200)), expectationOf('pass')) },
  {
    reason: 'bad-checksum',
    name: 'v3 with a changed source address (pseudo-header)',
    result: () => check(fixIpChecksum(mutate(datagramOf('v3'), (d) => (d[15] = 9))), expectationOf('v3')),
  },
  { reason: 'destination-mismatch', name: 'multicast on a unicast instance', result: () => check(datagramOf('v3'), expectationOf('v3', true)) },
  { reason: 'destination-mismatch', name: 'unicast on a multicast instance', result: () => check(datagramOf('none', true), expectationOf('none')) },
  {
    reason: 'bad-interval',
    name: 'v2 interval 0',
    result: () => check(fixV2Checksum(mutate(datagramOf('none'), (d) => (d[IP_HEADER_BYTES + 5] = 0)), 'none'), expectationOf('none')),
  },
  {
    reason: 'bad-interval',
    name: 'v3 interval 0 (reserved bits set)',
    result: () => check(fixV3Checksum(mutate(datagramOf('v3'), (d) => d.writeUInt16BE(0xf000, IP_HEADER_BYTES + 4))), expectationOf('v3')),
  },
];

function mutate(datagram: Buffer, change: (datagram: Buffer) => unknown): Buffer {
  change(datagram);
  return datagram;
}

describe('checkAdvert drop reasons', () => {
  for (const dropCase of cases) {
    it(`${dropCase.reason}: ${dropCase.name}`, () => {
      const result = dropCase.result();
      expect(result.ok, JSON.stringify(result)).toBe(false);
      if (!result.ok) {
        expect(result.reason).toBe(dropCase.reason);
        expect(result.detail.length).toBeGreaterThan(0);
      }
    });
  }

  it('every reason has a case', () => {
    expect(new Set(cases.map((dropCase) => dropCase.reason))).toEqual(new Set(ADVERT_DROP_REASONS));
  });

  it('the untouched datagrams pass, so each case fails for its defect alone', () => {
    for (const kind of ['none', 'pass', 'ah', 'v3'] as const) {
      for (const unicast of [false, true]) expect(check(datagramOf(kind, unicast), expectationOf(kind, unicast)).ok).toBe(true);
    }
  });
});

describe("keepalived's order of checks", () => {
  it('TTL before checksum', () => {
    const datagram = fixIpChecksum(mutate(datagramOf('none'), (d) => ((d[8] = 64), (d[IP_HEADER_BYTES + 2] = 1))));
    expect(check(datagram, expectationOf('none'))).toMatchObject({ ok: false, reason: 'bad-ttl' });
  });

  it('AH ICV before packet type and checksum', () => {
    const datagram = mutate(datagramOf('ah'), (d) => (d[vrrpOffset('ah')] = 0x22));
    expect(check(datagram, expectationOf('ah'))).toMatchObject({ ok: false, reason: 'bad-ah-icv' });
  });

  it('password before IPv4 total length', () => {
    const datagram = fixIpChecksum(mutate(datagramOf('pass'), (d) => d.writeUInt16BE(d.readUInt16BE(2) - 1, 2)));
    expect(check(datagram, expectationOf('pass'))).toMatchObject({ ok: false, reason: 'bad-password' });
  });

  it('no TTL check on a unicast instance, and AH there leaves the TTL out', () => {
    for (const kind of ['none', 'ah', 'v3'] as const) {
      const datagram = fixIpChecksum(mutate(datagramOf(kind, true), (d) => (d[8] = 3)));
      expect(check(datagram, expectationOf(kind, true))).toMatchObject({ ok: true, ttl: 3 });
    }
  });

  it('names the VRID once the VRRP header is readable, not before', () => {
    expect(check(datagramOf('none').subarray(0, 27), expectationOf('none'))).not.toHaveProperty('vrid');
    expect(check(datagramOf('ah'), expectationOf('none'))).toMatchObject({ ok: false, vrid: 51 });
    expect(check(datagramOf('pass'), { ...expectationOf('pass'), password: 'x' })).toMatchObject({ ok: false, reason: 'bad-password', vrid: 51 });
  });

  it('leaves the replay check, the VRID and the v2 interval match to the caller', () => {
    const datagram = buildAdvertDatagram({ ...optionsOf('ah'), advert: { ...advertOf('ah'), vrid: 9, advertIntervalMs: 3000 }, ahSequence: 0 });
    expect(check(datagram, expectationOf('ah'))).toMatchObject({ ok: true, ahSequence: 0, advert: { vrid: 9, advertIntervalMs: 3000 } });
  });
});
