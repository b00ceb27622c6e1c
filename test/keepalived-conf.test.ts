// keepalived.conf: the product's configuration, a typical multi-instance file
// in keepalived's documented style, the defaults keepalived fills in, and
// the warnings it would complain with. Expected values were checked against
// keepalived 2.2.7 (Debian bookworm) with `keepalived -d`, which dumps the
// configuration it understood.
import { describe, expect, it } from 'vitest';
import { parseKeepalivedConf, formatConfWarning, type KeepalivedConf } from '../src/runtime/keepalived/conf/index.js';

const PRODUCT_CONF = `vrrp_script chk_apiserver { script "/opt/pf9/pf9-kube/vrrp_check_apiserver.sh"
  interval 10  fall 6  rise 2  user pf9 }
global_defs { enable_script_security  script_user pf9
  vrrp_garp_master_refresh 10  vrrp_garp_master_refresh_repeat 2 }
vrrp_instance K8S_APISERVER { interface eth0  state BACKUP  virtual_router_id 51  nopreempt
  authentication { auth_type AH  auth_pass abcd1234 }
  virtual_ipaddress { 198.18.0.10 }  track_script { chk_apiserver } }
`;

/** Two routers, one keyword per line, as keepalived.conf(5) and its samples write them. */
const DOCUMENTED_CONF = `! Configuration File for keepalived

global_defs {
   router_id LVS_DEVEL
   vrrp_garp_master_delay 2
}

vrrp_script chk_haproxy {
    script "/usr/bin/killall -0 haproxy"   # cheaper than pidof
    interval 2
    timeout 3
    weight -20
    fall 3
    rise 2
}

vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass 1111
    }
    virtual_ipaddress {
        198.18.0.16/24 dev eth0
        198.18.0.17/24 dev eth1 label eth1:1
    }
    track_script {
        chk_haproxy
    }
    track_interface {
        eth1 weight -10
        eth2
    }
    notify_master "/etc/keepalived/notify.sh master"
    notify_backup /etc/keepalived/backup.sh
    notify "/etc/keepalived/notify.sh"
}

vrrp_instance VI_2 {
    state BACKUP
    interface eth1
    virtual_router_id 52
    priority 90
    advert_int 3
    preempt_delay 4.5
    garp_master_repeat 2
    unicast_src_ip 198.18.1.1
    unicast_peer {
        198.18.1.2
        198.18.1.3
    }
    virtual_ipaddress {
        198.18.1.10/24
    }
    track_script {
        chk_haproxy weight 10
    }
}
`;

function instance(conf: KeepalivedConf, name: string) {
  const found = conf.instances.find((candidate) => candidate.name === name);
  expect(found, `instance ${name}`).toBeDefined();
  return found!;
}

describe('keepalived.conf: the product configuration', () => {
  const conf = parseKeepalivedConf(PRODUCT_CONF);

  it('parses with no warnings', () => {
    expect(conf.warnings).toEqual([]);
  });

  it('gives the instance the product relies on', () => {
    expect(conf.instances).toEqual([
      {
        name: 'K8S_APISERVER',
        line: 5,
        initialState: 'BACKUP',
        iface: 'eth0',
        vrid: 51,
        priority: 100,
        advertIntervalMs: 1000,
        version: 2,
        preempt: false,
        preemptDelayMs: 0,
        auth: { type: 'ah', password: 'abcd1234' },
        vips: [{ address: '198.18.0.10', prefixLength: 32 }],
        unicastPeers: [],
        trackScripts: [{ name: 'chk_apiserver' }],
        trackInterfaces: [],
        notify: {},
        garpMasterDelayMs: 5000,
        garpMasterRepeat: 5,
        garpMasterRefreshMs: 10_000,
        garpMasterRefreshRepeat: 2,
      },
    ]);
  });

  it('gives the check script and the globals', () => {
    expect(conf.scripts.get('chk_apiserver')).toEqual({
      name: 'chk_apiserver',
      script: '/opt/pf9/pf9-kube/vrrp_check_apiserver.sh',
      intervalMs: 10_000,
      timeoutMs: 0,
      fall: 6,
      rise: 2,
      weight: 0,
      user: 'pf9',
    });
    expect(conf.globalDefs).toEqual({
      enableScriptSecurity: true,
      scriptUser: 'pf9',
      garpMasterDelayMs: 5000,
      garpMasterRepeat: 5,
      garpMasterRefreshMs: 10_000,
      garpMasterRefreshRepeat: 2,
      vrrpVersion: 2,
    });
  });

  it('is not what keepalived itself reads: it gives each line to its first keyword', () => {
    // keepalived 2.2.7 on this text: "(K8S_APISERVER) the virtual router id must be set".
    expect(() => parseKeepalivedConf(PRODUCT_CONF, { oneKeywordPerLine: true })).toThrow(/5:15: vrrp_instance K8S_APISERVER has no virtual_router_id/);
  });
});

describe('keepalived.conf: a multi-instance file in the documented style', () => {
  const conf = parseKeepalivedConf(DOCUMENTED_CONF);

  it('reads both instances', () => {
    const first = instance(conf, 'VI_1');
    expect(first).toMatchObject({
      line: 17,
      initialState: 'MASTER',
      iface: 'eth0',
      vrid: 51,
      priority: 150,
      advertIntervalMs: 1000,
      preempt: true,
      auth: { type: 'pass', password: '1111' },
      vips: [
        { address: '198.18.0.16', prefixLength: 24, iface: 'eth0' },
        { address: '198.18.0.17', prefixLength: 24, iface: 'eth1' },
      ],
      trackScripts: [{ name: 'chk_haproxy' }],
      trackInterfaces: [
        { iface: 'eth1', weight: -10 },
        { iface: 'eth2', weight: 0 },
      ],
      notify: { master: '/etc/keepalived/notify.sh master', backup: '/etc/keepalived/backup.sh', any: '/etc/keepalived/notify.sh' },
      garpMasterDelayMs: 2000,
    });
    const second = instance(conf, 'VI_2');
    expect(second).toMatchObject({
      initialState: 'BACKUP',
      iface: 'eth1',
      vrid: 52,
      priority: 90,
      advertIntervalMs: 3000,
      preemptDelayMs: 4500,
      auth: { type: 'none' },
      unicastSourceIp: '198.18.1.1',
      unicastPeers: ['198.18.1.2', '198.18.1.3'],
      vips: [{ address: '198.18.1.10', prefixLength: 24 }],
      trackScripts: [{ name: 'chk_haproxy', weight: 10 }],
      garpMasterDelayMs: 2000,
      garpMasterRepeat: 2,
    });
  });

  it('reads the script, comments and all', () => {
    expect(conf.scripts.get('chk_haproxy')).toEqual({
      name: 'chk_haproxy',
      script: '/usr/bin/killall -0 haproxy',
      intervalMs: 2000,
      timeoutMs: 3000,
      weight: -20,
      fall: 3,
      rise: 2,
    });
    expect(conf.globalDefs.routerId).toBe('LVS_DEVEL');
  });

  it('warns only about the address label it does not model', () => {
    expect(conf.warnings.map((warning) => formatConfWarning(warning))).toEqual([
      'keepalived.conf:29:33: address option "label" is not modelled by pf9lab; ignored',
    ]);
  });
});

describe('keepalived.conf: defaults where the file is silent', () => {
  const minimal = (body: string, before = ''): KeepalivedConf =>
    parseKeepalivedConf(`${before}\nvrrp_instance V {\n interface eth0\n virtual_router_id 7\n virtual_ipaddress {\n  198.18.0.1\n }\n${body}\n}\n`);

  it('gives keepalived defaults to an instance', () => {
    const conf = minimal('');
    expect(conf.warnings).toEqual([]);
    expect(conf.instances[0]).toEqual({
      name: 'V',
      line: 2,
      initialState: 'BACKUP',
      iface: 'eth0',
      vrid: 7,
      priority: 100,
      advertIntervalMs: 1000,
      version: 2,
      preempt: true,
      preemptDelayMs: 0,
      auth: { type: 'none' },
      vips: [{ address: '198.18.0.1', prefixLength: 32 }],
      unicastPeers: [],
      trackScripts: [],
      trackInterfaces: [],
      notify: {},
      garpMasterDelayMs: 5000,
      garpMasterRepeat: 5,
      garpMasterRefreshMs: 0,
      garpMasterRefreshRepeat: 1,
    });
    expect(conf.globalDefs).toEqual({
      enableScriptSecurity: false,
      garpMasterDelayMs: 5000,
      garpMasterRepeat: 5,
      garpMasterRefreshMs: 0,
      garpMasterRefreshRepeat: 1,
      vrrpVersion: 2,
    });
  });

  it('gives keepalived defaults to a script', () => {
    const conf = parseKeepalivedConf('vrrp_script s {\n script /bin/true\n}\n');
    expect(conf.scripts.get('s')).toEqual({ name: 's', script: '/bin/true', intervalMs: 1000, timeoutMs: 0, fall: 1, rise: 1, weight: 0 });
  });

  it('makes state MASTER without a priority the address owner (255), and priority 255 without a state MASTER', () => {
    expect(minimal(' state MASTER').instances[0]).toMatchObject({ initialState: 'MASTER', priority: 255 });
    expect(minimal(' priority 255').instances[0]).toMatchObject({ initialState: 'MASTER', priority: 255 });
    expect(minimal(' priority 254').instances[0]).toMatchObject({ initialState: 'BACKUP', priority: 254 });
  });

  it('takes version and gratuitous ARP settings from global_defs wherever it is, unless the instance says otherwise', () => {
    const globals = 'global_defs {\n vrrp_version 3\n vrrp_garp_master_refresh 60\n vrrp_garp_master_repeat 1\n}\n';
    const after = parseKeepalivedConf(`vrrp_instance V {\n interface eth0\n virtual_router_id 7\n virtual_ipaddress { 198.18.0.1 }\n garp_master_refresh 30\n}\n${globals}`);
    expect(after.instances[0]).toMatchObject({ version: 3, garpMasterRefreshMs: 30_000, garpMasterRepeat: 1, garpMasterRefreshRepeat: 1 });
  });
});

describe('keepalived.conf: what keepalived corrects, with a warning', () => {
  const parse = (body: string, before = ''): KeepalivedConf =>
    parseKeepalivedConf(`${before}vrrp_instance V {\n interface eth0\n virtual_router_id 7\n virtual_ipaddress { 198.18.0.1 }\n${body}\n}\n`);
  const messages = (conf: KeepalivedConf): string[] => conf.warnings.map((warning) => `${warning.line}:${warning.column} ${warning.message}`);

  it('rounds a VRRPv2 advert_int to whole seconds and a VRRPv3 one to centiseconds', () => {
    const v2 = parse(' advert_int 1.5');
    expect(v2.instances[0]!.advertIntervalMs).toBe(2000);
    expect(messages(v2)).toEqual(['5:13 V: a VRRPv2 advert_int must be whole seconds; 1.5 rounded to 2 as keepalived does']);
    expect(parse(' advert_int 0.4').instances[0]!.advertIntervalMs).toBe(1000);
    expect(parse(' version 3\n advert_int 0.123').instances[0]!.advertIntervalMs).toBe(120);
    expect(parse(' version 3\n advert_int 0.125').instances[0]!.advertIntervalMs).toBe(130);
    expect(parse(' version 3\n advert_int 50').instances[0]!.advertIntervalMs).toBe(40_950);
    expect(parse(' version 3\n advert_int 0.5').warnings).toEqual([]);
  });

  it('truncates auth_pass to 8 characters', () => {
    const conf = parse(' authentication {\n  auth_type PASS\n  auth_pass 0123456789\n }');
    expect(conf.instances[0]!.auth).toEqual({ type: 'pass', password: '01234567' });
    expect(messages(conf)).toEqual(['7:13 auth_pass is longer than 8 bytes; truncated to "01234567" as keepalived does']);
  });

  it('drops authentication for VRRPv3 and without a password', () => {
    const v3 = parse(' version 3\n authentication {\n  auth_type AH\n  auth_pass x\n }');
    expect(v3.instances[0]!.auth).toEqual({ type: 'none' });
    expect(messages(v3)).toEqual(['6:2 V: VRRP version 3 does not support authentication; ignored as keepalived does']);
    expect(parse(' authentication {\n  auth_type PASS\n }').instances[0]!.auth).toEqual({ type: 'none' });
  });

  it('starts an AH instance as BACKUP unless it owns the address', () => {
    const conf = parse(' state MASTER\n priority 200\n authentication {\n  auth_type AH\n  auth_pass k\n }');
    expect(conf.instances[0]).toMatchObject({ initialState: 'BACKUP', priority: 200 });
    expect(messages(conf)).toEqual(['5:8 V: initial state MASTER is incompatible with AH authentication; starting as BACKUP as keepalived does']);
  });

  it('clears nopreempt and preempt_delay where they cannot work', () => {
    expect(parse(' priority 255\n nopreempt').instances[0]).toMatchObject({ preempt: true });
    expect(parse(' state MASTER\n priority 200\n nopreempt\n preempt_delay 3').instances[0]).toMatchObject({ preempt: true, preemptDelayMs: 0 });
    expect(parse(' nopreempt\n preempt_delay 3').instances[0]).toMatchObject({ preempt: false, preemptDelayMs: 0 });
    expect(parse(' nopreempt\n preempt').instances[0]).toMatchObject({ preempt: true });
    expect(parse(' preempt_delay 300').instances[0]).toMatchObject({ preempt: true, preemptDelayMs: 300_000 });
  });

  it('ignores a track_script naming no vrrp_script, or one defined further down', () => {
    const conf = parseKeepalivedConf(
      'vrrp_instance V {\n interface eth0\n virtual_router_id 7\n virtual_ipaddress { 198.18.0.1 }\n track_script {\n  nothing\n  later\n }\n}\nvrrp_script later {\n script /bin/true\n}\n',
    );
    expect(conf.instances[0]!.trackScripts).toEqual([]);
    expect(conf.scripts.has('later')).toBe(true);
    expect(messages(conf)).toEqual([
      '6:3 track_script nothing of V: no vrrp_script nothing; ignored as keepalived does',
      '7:3 track_script later of V names a vrrp_script defined further down; keepalived resolves track_script as it reads, so it ignores this one (define the vrrp_script first)',
    ]);
  });

  it('turns repeat counts of 0 into 1, script times of 0 into 1 s, and weights of ±254 into ±253', () => {
    const conf = parse(' garp_master_repeat 0\n track_interface {\n  eth1 weight -254\n }', 'vrrp_script s {\n script x\n interval 0\n}\n');
    expect(conf.instances[0]).toMatchObject({ garpMasterRepeat: 1, trackInterfaces: [{ iface: 'eth1', weight: -253 }] });
    expect(conf.scripts.get('s')!.intervalMs).toBe(1000);
    expect(conf.warnings).toHaveLength(3);
  });

  it('keeps a repeated address or peer, as keepalived 2.2.7 does', () => {
    const conf = parse(' unicast_peer {\n  198.18.0.2\n  198.18.0.2\n }', '').instances[0]!;
    expect(conf.unicastPeers).toEqual(['198.18.0.2', '198.18.0.2']);
    const vips = parseKeepalivedConf('vrrp_instance V {\n interface eth0\n virtual_router_id 7\n virtual_ipaddress {\n  198.18.0.1\n  198.18.0.1 dev eth1\n }\n}\n');
    expect(vips.instances[0]!.vips).toHaveLength(2);
    expect(vips.warnings.map((warning) => warning.line)).toEqual([6]);
  });

  it('stops tracking anything weighted for the address owner (priority 255)', () => {
    const conf = parse(' priority 255\n track_script {\n  weighted\n  plain\n  plain_made_weighty weight 5\n }\n track_interface {\n  eth1 weight 10\n  eth2\n }',
      'vrrp_script weighted {\n script x\n weight -20\n}\nvrrp_script plain {\n script y\n}\nvrrp_script plain_made_weighty {\n script z\n}\n');
    expect(conf.instances[0]).toMatchObject({ trackScripts: [{ name: 'plain' }], trackInterfaces: [{ iface: 'eth2', weight: 0 }] });
    expect(conf.warnings.map((warning) => warning.message)).toEqual([
      'V: track_interface eth1 has a weight, which priority 255 cannot use; not tracked, as keepalived does',
      'V: track_script weighted has a weight, which priority 255 cannot use; not tracked, as keepalived does',
      'V: track_script plain_made_weighty has a weight, which priority 255 cannot use; not tracked, as keepalived does',
    ]);
  });

  it('warns about a VRRPv2 instance without addresses', () => {
    const conf = parseKeepalivedConf('vrrp_instance V {\n interface eth0\n virtual_router_id 7\n}\n');
    expect(messages(conf)).toEqual(['1:15 V has no virtual_ipaddress; at least one is sensible']);
  });
});

describe('keepalived.conf: unknown keywords and syntax', () => {
  it('warns about an unknown keyword with its line and column, skips its block, and goes on', () => {
    const conf = parseKeepalivedConf(`global_defs {
  notification_email {
    ops@example.com
  }
  router_id r1
}
virtual_server 198.18.0.1 80 { real_server 198.18.0.2 80 { weight 1 } }
vrrp_instance V {
  interface eth0
  mystery_option { a b }
  use_vmac vrrp.7  virtual_router_id 7
  virtual_ipaddress { 198.18.0.1 }
}
`);
    expect(conf.warnings).toEqual([
      { line: 2, column: 3, message: 'unknown or unsupported keyword "notification_email" in global_defs; ignored' },
      { line: 7, column: 1, message: 'unknown or unsupported keyword "virtual_server" in keepalived.conf; ignored' },
      { line: 10, column: 3, message: 'unknown or unsupported keyword "mystery_option" in vrrp_instance V; ignored' },
      { line: 11, column: 3, message: 'unknown or unsupported keyword "use_vmac" in vrrp_instance V; ignored' },
    ]);
    expect(conf.globalDefs.routerId).toBe('r1');
    expect(conf.instances[0]).toMatchObject({ vrid: 7, vips: [{ address: '198.18.0.1' }] });
  });

  it('splits braces glued to words, honours quotes, and drops comments started by # or !', () => {
    const conf = parseKeepalivedConf(`vrrp_script s{script "/bin/check a#b {c}"}
vrrp_instance V{interface eth0 ! the uplink
virtual_router_id 7 # VRID
authentication{auth_type PASS
auth_pass ab#cd} the comment ate this brace, so it closes on the next line
}
virtual_ipaddress{198.18.0.1}
notify_master "/bin/notify master" root}
`);
    expect(conf.warnings).toEqual([]);
    expect(conf.scripts.get('s')!.script).toBe('/bin/check a#b {c}');
    expect(conf.instances[0]).toMatchObject({ iface: 'eth0', vrid: 7, auth: { type: 'pass', password: 'ab' }, notify: { master: '/bin/notify master' } });
  });

  it('starts a comment at \\# too: keepalived decomments its config copy a second time', () => {
    // keepalived 2.2.7: `auth_pass ab\#cd` gives "ab", `auth_pass x\\#yz` gives "x\\".
    const password = (value: string): unknown =>
      parseKeepalivedConf(`vrrp_instance V {\n interface eth0\n virtual_router_id 7\n virtual_ipaddress { 198.18.0.1 }\n authentication {\n  auth_type PASS\n  auth_pass ${value}\n }\n}\n`).instances[0]!.auth;
    expect(password('ab\\#cd')).toEqual({ type: 'pass', password: 'ab' });
    expect(password('ab\\!cd')).toEqual({ type: 'pass', password: 'ab' });
    expect(password('x\\\\#yz')).toEqual({ type: 'pass', password: 'x\\\\' });
    expect(password('"a#b\\#c"')).toEqual({ type: 'pass', password: 'a#b\\#c' });
  });

  it('accepts several entries on one line of a list block', () => {
    const conf = parseKeepalivedConf(
      'vrrp_script a {\n script x\n}\nvrrp_script b {\n script y\n}\nvrrp_instance V { interface eth0  virtual_router_id 7\n virtual_ipaddress { 198.18.0.1/24 dev eth0 198.18.0.2 }\n unicast_peer { 198.18.0.3 198.18.0.4 }\n track_script { a weight 5 b }\n track_interface { eth1 eth2 weight 3 }\n}\n',
    );
    expect(conf.warnings).toEqual([]);
    expect(conf.instances[0]).toMatchObject({
      vips: [
        { address: '198.18.0.1', prefixLength: 24, iface: 'eth0' },
        { address: '198.18.0.2', prefixLength: 32 },
      ],
      unicastPeers: ['198.18.0.3', '198.18.0.4'],
      trackScripts: [{ name: 'a', weight: 5 }, { name: 'b' }],
      trackInterfaces: [
        { iface: 'eth1', weight: 0 },
        { iface: 'eth2', weight: 3 },
      ],
    });
  });

  it('reads lines as keepalived does when asked, warning about the words it would ignore', () => {
    const conf = parseKeepalivedConf('vrrp_instance V {\n interface eth0 state MASTER\n virtual_router_id 7\n virtual_ipaddress { 198.18.0.1 198.18.0.2 }\n}\n', {
      oneKeywordPerLine: true,
    });
    expect(conf.instances[0]).toMatchObject({ initialState: 'BACKUP', vips: [{ address: '198.18.0.1' }] });
    expect(conf.warnings.map((warning) => `${warning.line}:${warning.column} ${warning.message}`)).toEqual([
      '2:17 keepalived ignores "state MASTER" after interface',
      '4:33 unknown option "198.18.0.2" for address 198.18.0.1 in virtual_ipaddress of V; ignored',
    ]);
  });

  it('warns about include and the other line forms it does not implement', () => {
    const conf = parseKeepalivedConf('include /etc/keepalived/conf.d/*.conf\n$IF=eth0\n@node1 global_defs { router_id n1 }\n');
    expect(conf.warnings).toEqual([
      { line: 1, column: 1, message: 'include is not supported; "/etc/keepalived/conf.d/*.conf" was not read' },
      { line: 2, column: 1, message: 'parameter definitions and substitution ($NAME) are not supported; line skipped' },
      { line: 3, column: 1, message: 'conditional configuration (@id lines) is not supported; line skipped' },
    ]);
    expect(conf.instances).toEqual([]);
  });

  it('keeps the first of two vrrp_script blocks with one name, as keepalived finds the first', () => {
    const conf = parseKeepalivedConf('vrrp_script s {\n script first\n}\nvrrp_script s {\n script second\n}\n');
    expect(conf.scripts.get('s')!.script).toBe('first');
    expect(conf.warnings).toEqual([{ line: 4, column: 13, message: 'vrrp_script s is already defined; keepalived uses the first definition' }]);
  });

  it('names the file in formatted warnings', () => {
    expect(formatConfWarning({ line: 3, column: 5, message: 'm' }, '/etc/keepalived/keepalived.conf')).toBe('/etc/keepalived/keepalived.conf:3:5: m');
  });
});
