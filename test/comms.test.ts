// comms without a network: its configuration and its errors, the proxy URL
// forms, the backoff, the failure classification and the Prometheus text.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseJsonDocument } from '../src/runtime/config/json-document.js';
import { loadCommsConfig, parseProxyUrl } from '../src/runtime/comms/config.js';
import { Backoff } from '../src/runtime/comms/backoff.js';
import { classifyRemoteFailure } from '../src/runtime/comms/failure.js';
import { CommsMetrics } from '../src/runtime/comms/metrics.js';
import { commsMain } from '../src/runtime/comms/main.js';
import { PlatformError } from '../src/runtime/platform/errors.js';
import { ProxyDialError } from '../src/runtime/proxy/connect-client.js';
import { World } from '../sim/network/world.js';
import { createCertificateAuthority, issueCertificate } from './helpers/certs.js';

const GOOD = {
  du: { host: '198.18.1.10', port: 443, serverName: 'du.pf9lab' },
  tls: { caFile: '/etc/pf9/ca.pem', certFile: '/etc/pf9/host.pem', keyFile: '/etc/pf9/host.key' },
  services: [{ name: 'registry', listenPort: 5001, sni: 'registry.du.pf9lab' }],
  status: { listenPort: 9500 },
};

function problem(text: string): string {
  try {
    loadCommsConfig(parseJsonDocument(text, 'comms.json'), 'comms.json');
    return 'ok';
  } catch (error) {
    return (error as Error).message;
  }
}

/** GOOD with `patch` applied at the top level, pretty-printed (so lines and columns are meaningful). */
function variant(patch: Record<string, unknown>): string {
  return JSON.stringify({ ...GOOD, ...patch }, null, 2);
}

describe('comms configuration', () => {
  it('takes the documented format, with defaults', () => {
    const config = loadCommsConfig(parseJsonDocument(JSON.stringify({ ...GOOD, du: { host: 'du.example' } }), 'c.json'), 'c.json');
    expect(config.du).toEqual({ host: 'du.example', port: 443, serverName: 'du.example' });
    expect(config.tls.reloadIntervalMs).toBe(5_000);
    expect(config.limits.tunnelsMax).toBe(256);
    expect(config.proxy).toBeUndefined();
    expect(config.status).toEqual({ listenPort: 9500 });
  });

  it('takes the proxy as { url } or as the HTTPS_PROXY string', () => {
    const asObject = loadCommsConfig(parseJsonDocument(variant({ proxy: { url: 'http://lab:s%40cret@198.18.0.10:3128' } }), 'c'), 'c');
    const asString = loadCommsConfig(parseJsonDocument(variant({ proxy: 'http://lab:s%40cret@198.18.0.10:3128/' }), 'c'), 'c');
    expect(asObject.proxy).toEqual({ host: '198.18.0.10', port: 3128, auth: { username: 'lab', password: 's@cret' } });
    expect(asString.proxy).toEqual(asObject.proxy);
  });

  it.each([
    ['no du', JSON.stringify({ tls: GOOD.tls, services: GOOD.services }), 'ERR_CONFIG_INVALID: comms.json:1:1: du: is required'],
    ['a listenHost that is not loopback', variant({ services: [{ ...GOOD.services[0], listenHost: '0.0.0.0' }] }),
      'ERR_CONFIG_INVALID: comms.json:17:21: services[0].listenHost: must be 127.0.0.1: comms listens on loopback only'],
    ['a status listenHost that is not loopback', variant({ status: { listenPort: 9500, listenHost: '198.18.0.1' } }),
      'ERR_CONFIG_INVALID: comms.json:21:19: status.listenHost: must be 127.0.0.1'],
    ['a port out of range', variant({ services: [{ ...GOOD.services[0], listenPort: 70000 }] }),
      'ERR_CONFIG_INVALID: comms.json:15:21: services[0].listenPort: must be an integer in [0, 65535], got 70000'],
    ['a port given as a string', variant({ du: { host: 'x', port: '443' } }), 'ERR_CONFIG_INVALID: comms.json:4:13: du.port: must be an integer, got the string "443"'],
    ['an SNI that is an IP address', variant({ services: [{ ...GOOD.services[0], sni: '198.18.1.10' }] }), 'services[0].sni: must be a DNS name'],
    ['two services on one port', variant({ services: [GOOD.services[0], { name: 'api', listenPort: 5001, sni: 'api.du.pf9lab' }] }),
      'services[1].listenPort: duplicates services[0].listenPort 5001'],
    ['two services with one name', variant({ services: [GOOD.services[0], { name: 'registry', listenPort: 5002, sni: 'api.du.pf9lab' }] }),
      'services[1].name: duplicates services[0].name'],
    ['no service', variant({ services: [] }), 'services: must list at least one service'],
    ['the status port on a service port', variant({ status: { listenPort: 5001 } }), 'status.listenPort: is also the listenPort of services[0]'],
    ['an unknown key', variant({ tunnels: 3 }), 'tunnels: unknown key'],
    ['a missing key file', variant({ tls: { caFile: 'a', certFile: 'b' } }), 'tls.keyFile: is required'],
    ['an https proxy', variant({ proxy: 'https://p:3128' }), 'proxy: scheme https is not supported'],
    ['a proxy URL with a path', variant({ proxy: { url: 'http://p:3128/x' } }), 'proxy.url: must not have a path'],
    ['a limit out of bounds', variant({ limits: { dialAttemptsMax: 0 } }), 'limits.dialAttemptsMax: must be an integer in [1, 20], got 0'],
    ['a cap below the base', variant({ limits: { backoffBaseMs: 500, backoffCapMs: 100 } }), 'limits.backoffCapMs: must be at least limits.backoffBaseMs'],
  ])('%s → names the field', (_name, text, expected) => {
    const message = problem(text);
    expect(message).toContain(expected);
  });

  it.each([
    ['http://198.18.0.10:3128', { host: '198.18.0.10', port: 3128 }],
    ['198.18.0.10:3128', { host: '198.18.0.10', port: 3128 }],
    ['http://proxy.example', { host: 'proxy.example', port: 80 }],
    ['http://u:p%3Aq@h:1', { host: 'h', port: 1, auth: { username: 'u', password: 'p:q' } }],
    ['http://u@h:1', { host: 'h', port: 1, auth: { username: 'u', password: '' } }],
  ])('proxy URL %s', (text, expected) => {
    expect(parseProxyUrl(text)).toEqual(expected);
  });

  it('the service entry fails (and would exit 2) on a bad configuration, naming the field', async () => {
    const world = new World({ seed: 1 });
    const host = world.host('h');
    world.attach(host, world.segment('lan'), '198.18.0.1/24');
    let failure: unknown;
    host.onBoot(async (platform) => {
      await platform.files.writeFile('/comms.json', variant({ services: [{ ...GOOD.services[0], listenHost: '0.0.0.0' }] }));
      await Promise.resolve(commsMain(platform, ['--config', '/comms.json'])).catch((error: unknown) => (failure = error));
    });
    await world.run({ untilMs: 100 });
    expect((failure as { code?: string }).code).toBe('ERR_CONFIG_INVALID');
    expect((failure as { keyPath?: string }).keyPath).toBe('services[0].listenHost');
  });

  it('refuses to start with a key that does not match the certificate, naming tls.keyFile', async () => {
    const ca = createCertificateAuthority();
    const one = issueCertificate(ca, { commonName: 'one' });
    const two = issueCertificate(ca, { commonName: 'two' });
    const world = new World({ seed: 1 });
    const host = world.host('h');
    world.attach(host, world.segment('lan'), '198.18.0.1/24');
    let failure: unknown;
    host.onBoot(async (platform) => {
      await platform.files.mkdir('/etc/pf9', { recursive: true });
      await platform.files.writeFile('/etc/pf9/ca.pem', ca.certPem);
      await platform.files.writeFile('/etc/pf9/host.pem', one.certPem);
      await platform.files.writeFile('/etc/pf9/host.key', two.keyPem);
      await platform.files.writeFile('/comms.json', variant({}));
      await Promise.resolve(commsMain(platform, ['--config', '/comms.json'])).catch((error: unknown) => (failure = error));
    });
    await world.run({ untilMs: 100 });
    expect((failure as { code?: string }).code).toBe('ERR_CONFIG_READ');
    expect((failure as Error).message).toContain('tls.keyFile: /etc/pf9/host.key does not match the certificate');
  });
});

describe('full-jitter backoff', () => {
  it('waits in [0, min(cap, base·2^(n-1))) after n failures, and resets only when bytes flowed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 0, max: 60 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (baseMs, extraMs, failures, draw) => {
          const capMs = baseMs + extraMs;
          const backoff = new Backoff({ baseMs, capMs });
          expect(backoff.delayMs(draw)).toBe(0);
          for (let i = 0; i < failures; i++) backoff.failed();
          const ceilingMs = failures === 0 ? 0 : Math.min(capMs, baseMs * 2 ** (Math.min(failures, 30) - 1));
          expect(backoff.ceilingMs()).toBe(ceilingMs);
          const delayMs = backoff.delayMs(draw);
          expect(delayMs).toBeGreaterThanOrEqual(0);
          expect(delayMs).toBeLessThanOrEqual(Math.max(0, ceilingMs));
          expect(backoff.failures).toBeLessThanOrEqual(30);
          backoff.flowed();
          expect(backoff.ceilingMs()).toBe(0);
        }),
    );
  });

  it('refuses a nonsensical setting or draw', () => {
    expect(() => new Backoff({ baseMs: 0, capMs: 10 })).toThrow(RangeError);
    expect(() => new Backoff({ baseMs: 10, capMs: 5 })).toThrow(RangeError);
    expect(() => new Backoff({ baseMs: 1, capMs: 5 }).delayMs(1)).toThrow(RangeError);
  });
});

describe('failure classification', () => {
  it.each([
    ['dial', new PlatformError('ECONNREFUSED', 'x'), 'network'],
    ['dial', new PlatformError('ETIMEDOUT', 'x'), 'network'],
    ['dial', new ProxyDialError('ERR_PROXY_AUTH_REQUIRED', 'x', 407), 'proxy-refused'],
    ['dial', new ProxyDialError('ERR_PROXY_FORBIDDEN', 'x', 403), 'proxy-refused'],
    ['dial', new ProxyDialError('ERR_PROXY_UPSTREAM', 'x', 502), 'network'],
    ['handshake', Object.assign(new Error('x'), { code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' }), 'auth-refused'],
    ['handshake', Object.assign(new Error('x'), { code: 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA' }), 'auth-refused'],
    ['handshake', Object.assign(new Error('x'), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' }), 'server-untrusted'],
    ['handshake', Object.assign(new Error('x'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }), 'server-untrusted'],
    ['handshake', new PlatformError('ETIMEDOUT', 'handshake timeout'), 'network'],
    ['handshake', new PlatformError('ECONNRESET', 'x'), 'auth-refused'],
    ['unconfirmed', undefined, 'auth-refused'],
    ['unconfirmed', new PlatformError('ECONNRESET', 'x'), 'auth-refused'],
    ['unconfirmed', new PlatformError('EHOSTUNREACH', 'x'), 'network'],
    ['relaying', new PlatformError('ECONNRESET', 'x'), 'remote-reset'],
    ['relaying', undefined, 'remote-reset'],
    ['relaying', new PlatformError('ETIMEDOUT', 'x'), 'network'],
  ] as const)('%s: %s → %s', (phase, error, reason) => {
    expect(classifyRemoteFailure(phase, error)).toBe(reason);
  });

  // Through the proxy an end/reset before confirmation is ambiguous (a refusing DU, or a restarting
  // proxy): service.ts retries it once. A TLS alert is the DU's unambiguous "no".
  it.each([
    ['handshake', new PlatformError('ECONNRESET', 'x'), 'ambiguous-reset'],
    ['unconfirmed', undefined, 'ambiguous-reset'],
    ['unconfirmed', new PlatformError('ECONNRESET', 'x'), 'ambiguous-reset'],
    ['handshake', Object.assign(new Error('x'), { code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' }), 'auth-refused'],
    ['unconfirmed', Object.assign(new Error('x'), { code: 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA' }), 'auth-refused'],
    ['unconfirmed', new PlatformError('EHOSTUNREACH', 'x'), 'network'],
    ['relaying', new PlatformError('ECONNRESET', 'x'), 'remote-reset'],
    ['dial', new PlatformError('ECONNRESET', 'x'), 'network'],
  ] as const)('through the proxy, %s: %s → %s', (phase, error, reason) => {
    expect(classifyRemoteFailure(phase, error, { viaProxy: true })).toBe(reason);
  });
});

describe('Prometheus text', () => {
  it('has every counter with its labels, HELP and TYPE', () => {
    const metrics = new CommsMetrics(['registry', 'api']);
    metrics.tunnelsTotal = 3;
    metrics.tunnelsOpen = 1;
    metrics.addBytes('registry', 'up', 10);
    metrics.addBytes('registry', 'down', 20);
    metrics.failed('auth-refused');
    const text = metrics.render();
    expect(text).toContain('# TYPE comms_tunnels_open gauge\ncomms_tunnels_open 1\n');
    expect(text).toContain('# TYPE comms_tunnels_total counter\ncomms_tunnels_total 3\n');
    expect(text).toContain('comms_bytes_total{direction="up",service="registry"} 10\n');
    expect(text).toContain('comms_bytes_total{direction="down",service="registry"} 20\n');
    expect(text).toContain('comms_bytes_total{direction="up",service="api"} 0\n');
    expect(text).toContain('comms_tunnel_failures_total{reason="auth-refused"} 1\n');
    expect(text).toContain('comms_tunnel_failures_total{reason="network"} 0\n');
    for (const line of text.trimEnd().split('\n')) expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+(\{[^}]*\})? \d+)$/);
    expect(() => metrics.addBytes('nope', 'up', 1)).toThrow(/unknown service/);
  });
});
