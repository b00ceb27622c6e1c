// Known answers from the real daemon: adverts sent by Debian bookworm's
// keepalived 2.2.7 (`keepalived -n -l -D -P -f <conf>`) in a network
// namespace, captured with tcpdump on the far end of a veth pair
// (198.18.7.1/24 → 198.18.7.2/24), Ethernet header removed. Configuration:
// virtual_router_id 51, priority 100, advert_int 1, `state BACKUP`, the
// adverts being those it sent on becoming master after the down timer.
// The IPv4 header checksums are the kernel's (keepalived leaves 0 there).
import { describe, expect, it } from 'vitest';
import { buildAdvertDatagram, checkAdvert, type AdvertDatagramOptions } from '../src/runtime/keepalived/packet/index.js';

const PASSWORD = 'k8sAhPw1';
const MASTER = '198.18.7.1';
const PEER = '198.18.7.2';
const GROUP = '224.0.0.18';

interface Capture {
  name: string;
  /** The datagram as captured, IPv4 header first. */
  hex: string;
  options: AdvertDatagramOptions;
}

function v2(authType: 'none' | 'pass' | 'ah', addresses: string[]) {
  return { version: 2 as const, vrid: 51, priority: 100, advertIntervalMs: 1000, addresses, authType };
}

const oneVip = ['198.18.7.100'];
const twoVips = ['198.18.7.100', '198.18.7.101'];

const captures: Capture[] = [
  {
    name: 'v2 auth_type AH, multicast, first advert',
    hex: '45c0004000010000ff330da4c6120701e000001270040000c612070100000001a50330c9f2015dc0ed49ad0c213364010201ab53c61207640000000000000000',
    options: { advert: v2('ah', oneVip), source: MASTER, destination: GROUP, ttl: 255, identification: 1, ahSequence: 1, password: PASSWORD, unicast: false },
  },
  {
    name: 'v2 auth_type AH, multicast, second advert',
    hex: '45c0004000020000ff330da3c6120701e000001270040000c6120701000000020c5e96e8d2b0d4fac197be0e213364010201ab53c61207640000000000000000',
    options: { advert: v2('ah', oneVip), source: MASTER, destination: GROUP, ttl: 255, identification: 2, ahSequence: 2, password: PASSWORD, unicast: false },
  },
  {
    name: 'v2 auth_type AH, unicast peer, two VIPs (TTL left out of the ICV)',
    hex: '45c0004400010000ff33209ec6120701c612070270040000c612070100000001c3d1c9e15d0528720a9e9fe3213364020201dddac6120764c61207650000000000000000',
    options: { advert: v2('ah', twoVips), source: MASTER, destination: PEER, ttl: 255, identification: 1, ahSequence: 1, password: PASSWORD, unicast: true },
  },
  {
    name: 'v2 auth_type PASS, multicast',
    hex: '45c0002800010000ff700d7fc6120701e0000012213364010101ee57c61207646b38734168507731',
    options: { advert: v2('pass', oneVip), source: MASTER, destination: GROUP, ttl: 255, identification: 1, password: PASSWORD, unicast: false },
  },
  {
    name: 'vrrp_version 3, multicast',
    hex: '45c0002000010000ff700d87c6120701e0000012313364010064ef4dc6120764',
    options: {
      advert: { version: 3, vrid: 51, priority: 100, advertIntervalMs: 1000, addresses: oneVip, authType: 'none' },
      source: MASTER,
      destination: GROUP,
      ttl: 255,
      identification: 1,
      unicast: false,
    },
  },
  {
    name: 'vrrp_version 3, unicast peer, two VIPs (pseudo-header with the peer address)',
    hex: '45c0002400010000ff702081c6120701c612070231336402006434cfc6120764c6120765',
    options: {
      advert: { version: 3, vrid: 51, priority: 100, advertIntervalMs: 1000, addresses: twoVips, authType: 'none' },
      source: MASTER,
      destination: PEER,
      ttl: 255,
      identification: 1,
      unicast: true,
    },
  },
];

function expectationOf(options: AdvertDatagramOptions, password: string | undefined) {
  return { version: options.advert.version, authType: options.advert.authType, password, unicast: options.unicast };
}

describe('adverts captured from keepalived 2.2.7', () => {
  for (const capture of captures) {
    describe(capture.name, () => {
      const datagram = Buffer.from(capture.hex, 'hex');
      const header = datagram.subarray(0, 20);
      const payload = datagram.subarray(20);

      it('is rebuilt byte for byte, IPv4 header checksum included', () => {
        expect(buildAdvertDatagram(capture.options).toString('hex')).toBe(capture.hex);
      });

      it('is accepted with the right password, with the fields it was sent with', () => {
        const result = checkAdvert(header, payload, expectationOf(capture.options, PASSWORD));
        expect(result).toEqual({
          ok: true,
          advert: capture.options.advert,
          source: MASTER,
          destination: capture.options.destination,
          ttl: 255,
          ...(capture.options.ahSequence === undefined ? {} : { ahSequence: capture.options.ahSequence }),
        });
      });

      if (capture.options.advert.authType !== 'none') {
        it('is refused with a wrong password', () => {
          const result = checkAdvert(header, payload, expectationOf(capture.options, 'k8sAhPw2'));
          expect(result).toMatchObject({ ok: false, reason: capture.options.advert.authType === 'ah' ? 'bad-ah-icv' : 'bad-password', vrid: 51 });
        });
      }
    });
  }

  it('a unicast AH advert does not verify as multicast: the TTL is in the multicast ICV only', () => {
    const unicastAh = captures[2]!;
    const datagram = Buffer.from(unicastAh.hex, 'hex');
    const result = checkAdvert(datagram.subarray(0, 20), datagram.subarray(20), { ...expectationOf(unicastAh.options, PASSWORD), unicast: false });
    expect(result).toMatchObject({ ok: false, reason: 'bad-ah-icv' });
  });
});
