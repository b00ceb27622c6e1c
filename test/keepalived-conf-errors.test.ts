// keepalived.conf: a malformed file is refused with one KeepalivedConfError
// that says file:line:column, and nothing is returned partially.
import { describe, expect, it } from 'vitest';
import { parseKeepalivedConf, KeepalivedConfError, KEEPALIVED_CONF_ERROR_CODE } from '../src/runtime/keepalived/conf/index.js';

/** An instance that is complete except for what `body` breaks; its body starts on line 2. */
function withInstance(body: string): string {
  return `vrrp_instance V {\n${body}\n}\n`;
}
const COMPLETE = ' interface eth0\n virtual_router_id 7\n virtual_ipaddress { 198.18.0.1 }';

function refusal(text: string, fileName?: string): KeepalivedConfError {
  try {
    parseKeepalivedConf(text, fileName === undefined ? {} : { fileName });
  } catch (error) {
    expect(error).toBeInstanceOf(KeepalivedConfError);
    return error as KeepalivedConfError;
  }
  throw new Error(`expected a KeepalivedConfError for:\n${text}`);
}

const CASES: ReadonlyArray<readonly [string, string, string]> = [
  ['a } with no {', `${withInstance(COMPLETE)}}\n`, `6:1: '}' has no matching '{'`],
  ['a { never closed', `vrrp_instance V {\n${COMPLETE}\n`, `1:17: '{' of vrrp_instance V is never closed`],
  ['a list never closed', 'vrrp_instance V {\n interface eth0\n virtual_router_id 7\n virtual_ipaddress {\n  198.18.0.1\n', `4:20: '{' of virtual_ipaddress in vrrp_instance V is never closed`],
  ['an unexpected {', withInstance(` interface eth0 {\n${COMPLETE}`), `2:17: unexpected '{' in vrrp_instance V`],
  ['a block keyword without {', 'vrrp_instance V\ninterface eth0\n', `2:1: expected '{' to open vrrp_instance V, got "interface"`],
  ['a block keyword at the end', 'global_defs', `1:1: expected '{' to open global_defs`],
  ['a keyword without its value', withInstance(' interface eth0\n priority\n virtual_router_id 7'), '3:2: priority needs a value'],
  ['an instance without a name', 'vrrp_instance {\n}\n', '1:1: vrrp_instance needs a value'],
  ['a VRID that is not a number', withInstance(' interface eth0\n virtual_router_id abc'), '3:20: virtual_router_id must be an integer in 1..255, got "abc"'],
  ['a VRID out of range', withInstance(' interface eth0\n virtual_router_id 300'), '3:20: virtual_router_id must be an integer in 1..255, got "300"'],
  ['a VRID of 0', withInstance(' interface eth0\n virtual_router_id 0'), '3:20: virtual_router_id must be an integer in 1..255, got "0"'],
  ['a negative priority', withInstance(`${COMPLETE}\n priority -5`), '5:11: priority must be an integer in 1..255, got "-5"'],
  ['a priority of 256', withInstance(`${COMPLETE}\n priority 256`), '5:11: priority must be an integer in 1..255, got "256"'],
  ['a hexadecimal priority', withInstance(`${COMPLETE}\n priority 0x10`), '5:11: priority must be an integer in 1..255, got "0x10"'],
  ['an advert_int of 0', withInstance(`${COMPLETE}\n advert_int 0`), '5:13: advert_int (seconds) must be a number in 0.01..255, got "0"'],
  ['an advert_int over 255 s', withInstance(`${COMPLETE}\n advert_int 256`), '5:13: advert_int (seconds) must be a number in 0.01..255, got "256"'],
  ['an advert_int with an exponent', withInstance(`${COMPLETE}\n advert_int 1e3`), '5:13: advert_int (seconds) must be a number in 0.01..255, got "1e3"'],
  ['a preempt_delay over 1000 s', withInstance(`${COMPLETE}\n preempt_delay 1001`), '5:16: preempt_delay (seconds) must be a number in 0..1000, got "1001"'],
  ['a version of 4', withInstance(`${COMPLETE}\n version 4`), '5:10: version must be an integer in 2..3, got "4"'],
  ['a garp_master_delay too long for keepalived', withInstance(`${COMPLETE}\n garp_master_delay 5000`), '5:20: garp_master_delay must be an integer in 0..4294, got "5000"'],
  ['an unknown state', withInstance(`${COMPLETE}\n state PRIMARY`), '5:8: state must be MASTER or BACKUP, got "PRIMARY"'],
  ['an unknown auth_type', withInstance(`${COMPLETE}\n authentication {\n  auth_type SHA\n }`), '6:13: auth_type must be PASS or AH, got "SHA"'],
  ['an interface name too long for Linux', withInstance(' interface this-name-is-too-long\n virtual_router_id 7'), '2:12: interface must be an interface name of 1..15 bytes, got "this-name-is-too-long"'],
  ['a malformed address', withInstance(' interface eth0\n virtual_router_id 7\n virtual_ipaddress {\n  198.18.0.300\n }'), '5:3: virtual_ipaddress must be an IPv4 address, got "198.18.0.300"'],
  ['an address with a leading zero', withInstance(' interface eth0\n virtual_router_id 7\n unicast_peer {\n  198.18.0.01\n }'), '5:3: unicast_peer must be an IPv4 address, got "198.18.0.01"'],
  ['a prefix longer than 32', withInstance(' interface eth0\n virtual_router_id 7\n virtual_ipaddress {\n  198.18.0.1/33\n }'), '5:14: prefix length of virtual_ipaddress 198.18.0.1 must be an integer in 0..32, got "33"'],
  ['an IPv6 address', withInstance(' interface eth0\n virtual_router_id 7\n virtual_ipaddress {\n  fe80::1/64\n }'), '5:3: virtual_ipaddress "fe80::1" is IPv6; pf9lab models IPv4 only'],
  ['dev given twice', withInstance(' interface eth0\n virtual_router_id 7\n virtual_ipaddress {\n  198.18.0.1 dev eth0 dev eth1\n }'), '5:23: dev given twice for 198.18.0.1'],
  ['a bad unicast_src_ip', withInstance(`${COMPLETE}\n unicast_src_ip me`), '5:17: unicast_src_ip must be an IPv4 address, got "me"'],
  ['a track weight out of range', withInstance(`${COMPLETE}\n track_interface {\n  eth1 weight 300\n }`), '6:15: weight must be an integer in -254..254, got "300"'],
  ['a track weight without a value', withInstance(`${COMPLETE}\n track_interface {\n  eth1 weight\n }`), '6:8: weight for eth1 needs a value'],
  ['a missing virtual_router_id', withInstance(' interface eth0\n virtual_ipaddress { 198.18.0.1 }'), '1:15: vrrp_instance V has no virtual_router_id'],
  ['a missing interface', withInstance(' virtual_router_id 7\n virtual_ipaddress { 198.18.0.1 }'), '1:15: vrrp_instance V has no interface'],
  ['a VRRPv3 instance without addresses', withInstance(' interface eth0\n virtual_router_id 7\n version 3'), '1:15: vrrp_instance V has no virtual_ipaddress; VRRPv3 requires at least one'],
  ['two instances with one name', `${withInstance(COMPLETE)}${withInstance(COMPLETE)}`, '6:15: vrrp_instance V is already defined at line 1'],
  [
    'two multicast instances with one VRID on one interface',
    `${withInstance(COMPLETE)}vrrp_instance W {\n interface eth0\n virtual_router_id 7\n}\n`,
    '8:20: virtual_router_id 7 of W is already used by V on eth0 by multicast; keepalived refuses duplicate VRIDs',
  ],
  [
    'two unicast instances with one VRID and a shared peer',
    `${withInstance(`${COMPLETE}\n unicast_peer { 198.18.0.2 198.18.0.3 }`)}vrrp_instance W {\n interface eth0\n virtual_router_id 7\n unicast_peer { 198.18.0.3 }\n}\n`,
    '9:20: virtual_router_id 7 of W is already used by V on eth0 with a shared unicast peer; keepalived refuses duplicate VRIDs',
  ],
  ['a vrrp_script without a script', 'vrrp_script s {\n interval 2\n}\n', '1:13: vrrp_script s has no script'],
  ['a script weight out of range', 'vrrp_script s {\n script x\n weight 254\n}\n', '3:9: weight must be an integer in -253..253, got "254"'],
  ['a rise of 0', 'vrrp_script s {\n script x\n rise 0\n}\n', '3:7: rise must be an integer in 1..2147483647, got "0"'],
  ['a negative interval', 'vrrp_script s {\n script x\n interval -1\n}\n', '3:11: interval must be a number in 0..4294, got "-1"'],
  ['a global vrrp_version of 1', 'global_defs {\n vrrp_version 1\n}\n', '2:15: vrrp_version must be an integer in 2..3, got "1"'],
  ['an unterminated quote', 'vrrp_script s {\n script "/bin/true\n}\n', '2:9: unterminated quote: no closing " on this line'],
  ['a NUL character', 'global_defs {\n router_id a\0b\n}\n', '2:13: NUL character in the configuration'],
  ['a line longer than keepalived reads', `global_defs {\n router_id ${'x'.repeat(1100)}\n}\n`, "2:1: line is longer than 1022 bytes, keepalived's limit"],
];

describe('keepalived.conf: refusals', () => {
  it.each(CASES)('refuses %s, saying where', (_name, text, expected) => {
    const error = refusal(text);
    expect(error.message).toContain(`keepalived.conf:${expected}`);
    const [line, column] = expected.split(':').map(Number);
    expect({ line: error.line, column: error.column }).toEqual({ line, column });
  });

  it('carries a stable code, the file, and the problem without its location', () => {
    const error = refusal(withInstance(' interface eth0\n virtual_router_id 300'), '/etc/keepalived/keepalived.conf');
    expect(error.code).toBe(KEEPALIVED_CONF_ERROR_CODE);
    expect(error.code).toBe('ERR_KEEPALIVED_CONF');
    expect(error.name).toBe('KeepalivedConfError');
    expect(error.file).toBe('/etc/keepalived/keepalived.conf');
    expect(error.problem).toBe('virtual_router_id must be an integer in 1..255, got "300"');
    expect(error.message).toBe('/etc/keepalived/keepalived.conf:3:20: virtual_router_id must be an integer in 1..255, got "300"');
  });

  it('lets VRIDs repeat where keepalived does: other interfaces, unicast beside multicast, disjoint unicast peers', () => {
    const other = (body: string): string => `${withInstance(`${COMPLETE}\n unicast_peer { 198.18.0.2 }`)}vrrp_instance W {\n virtual_router_id 7\n virtual_ipaddress { 198.18.0.9 }\n${body}\n}\n`;
    expect(parseKeepalivedConf(other(' interface eth1\n unicast_peer { 198.18.0.2 }')).instances).toHaveLength(2);
    expect(parseKeepalivedConf(other(' interface eth0')).instances).toHaveLength(2);
    expect(parseKeepalivedConf(other(' interface eth0\n unicast_peer { 198.18.0.3 }')).instances).toHaveLength(2);
    expect(parseKeepalivedConf(other(' interface eth0\n unicast_src_ip 198.18.0.4\n unicast_peer { 198.18.0.2 }')).instances).toHaveLength(2);
  });
});
