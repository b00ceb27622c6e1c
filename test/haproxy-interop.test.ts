// Interop: comms against Debian's haproxy as the DU gateway (DESIGN.md: the
// DU side is haproxy with TLS, SNI routing and a client-certificate check),
// on 127.0.0.1 only. haproxy runs as a child process (`haproxy -f <cfg> -db`)
// with two frontends on the same backends:
//   du             `bind … ssl crt <cert+key> ca-file <DU CA> verify required`,
//                  `use_backend` by `ssl_fc_sni`, no default backend;
//   du_strict_sni  the same bind with `strict-sni`.
// comms reaches them directly and through the project's CONNECT proxy.
//
// Needs the haproxy binary (Debian package: haproxy); without it the file
// skips and says why, unless PF9LAB_REQUIRE_REAL_HOST=1 (CI), where it fails.
// haproxy accepts the handshake of an SNI it does not route, sends its two
// session tickets, then closes without a byte: comms, which takes a ticket as
// the DU's acceptance, gave the local client a clean empty end until it
// learnt that an empty answer to a request still being sent is a refusal
// (src/runtime/comms/relay.ts).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRealPlatform } from '../src/runtime/platform/real/index.js';
import { startProxy, type ProxyService } from '../src/runtime/proxy/proxy-service.js';
import type { CommsService } from '../src/runtime/comms/service.js';
import { freePort } from './helpers/live-etcd.js';
import { realHostRequired } from './helpers/netns.js';
import { LogCapture } from './helpers/real-net.js';
import {
  fetchEveryBlob, until as untilWithin,
  TEST_BACKEND_HEAD_TIMEOUT_MS as BACKEND_HEAD_TIMEOUT_MS, TEST_BLOB_SIZES as BLOB_SIZES, TEST_COMMS_LIMITS as LIMITS,
  TEST_PROXY_USER as PROXY_USER, TEST_SERVICES as SERVICES, TEST_UPLOAD_BYTES as UPLOAD_BYTES,
} from './helpers/tunnel-checks.js';
import {
  LAB_SNI, checkHaproxyConfig, commsConfig, digestAnswer, exchange, fetchBlob, haproxyConfig, haproxyHandshakeFailures,
  haproxyTcpLog, haproxyUnavailable, makeBlobs, startBlobBackend, startCommsFromFile, startDigestBackend, startHaproxy, tlsExchange, writeJson,
  writeLabPki, type BlobBackend, type HaproxyTcpLogLine, type HostFiles, type LabBackend, type LabBlob, type LabPki,
  type ServiceProcess,
} from './helpers/tunnel-lab.js';

const haproxyMissing = await haproxyUnavailable();
if (haproxyMissing !== undefined && !realHostRequired()) process.stdout.write(`haproxy-interop: skipped: ${haproxyMissing}\n`);


describe.skipIf(haproxyMissing !== undefined && !realHostRequired())("comms through Debian's haproxy as the DU gateway (127.0.0.1)", () => {
  const hostLogs = new LogCapture();
  const duPlatform = createRealPlatform({ hostName: 'du', logStream: new LogCapture() });
  const hostPlatform = createRealPlatform({ hostName: 'host-1', logStream: hostLogs });
  const proxyPlatform = createRealPlatform({ hostName: 'proxy', logStream: new LogCapture() });

  let dir = '';
  let pki: LabPki;
  let host1: HostFiles;
  let blobs: LabBlob[];
  let blobBackend: BlobBackend;
  let digestBackend: LabBackend;
  let haproxy: ServiceProcess | undefined;
  let haproxyCheck = '';
  let proxy: ProxyService;
  const ports = { du: 0, strict: 0 };
  /** comms instances by name: `direct`/`viaProxy` to the `du` frontend, `strict…` to `du_strict_sni`, `foreign…` with a host certificate from another CA. */
  const comms: Record<'direct' | 'viaProxy' | 'strictDirect' | 'strictViaProxy' | 'foreignDirect' | 'foreignViaProxy', CommsService> = {} as never;

  beforeAll(async () => {
    if (haproxyMissing !== undefined) throw new Error(`PF9LAB_REQUIRE_REAL_HOST=1 but: ${haproxyMissing}`);
    dir = await mkdtemp(join(tmpdir(), 'pf9lab-haproxy-'));
    pki = await writeLabPki(duPlatform, dir);
    host1 = await pki.issueHost('host-1');
    blobs = makeBlobs(BLOB_SIZES);
    blobBackend = await startBlobBackend(duPlatform, blobs, { headTimeoutMs: BACKEND_HEAD_TIMEOUT_MS });
    digestBackend = await startDigestBackend(duPlatform);

    ports.du = await freePort();
    ports.strict = await freePort();
    const configFile = join(dir, 'haproxy.cfg');
    await writeFile(configFile, haproxyConfig({
      frontends: [{ name: 'du', port: ports.du }, { name: 'du_strict_sni', port: ports.strict, bindOptions: 'strict-sni' }],
      pki,
      backends: { registry: { sni: LAB_SNI.registry, port: blobBackend.port }, api: { sni: LAB_SNI.api, port: digestBackend.port } },
    }));
    haproxyCheck = await checkHaproxyConfig(configFile);
    haproxy = await startHaproxy(configFile, [ports.du, ports.strict]);

    proxy = await startProxy(proxyPlatform, { listen: { host: '127.0.0.1', port: 0 }, users: [PROXY_USER], allowedPorts: [ports.du, ports.strict] });
    const other = await writeLabPki(hostPlatform, dir, { name: 'other' });
    const foreignHost = await other.issueHost('host-1');
    const viaProxy = { port: proxy.port, ...PROXY_USER };
    const configs = {
      direct: { duPort: ports.du, host: host1 },
      viaProxy: { duPort: ports.du, host: host1, proxy: viaProxy },
      strictDirect: { duPort: ports.strict, host: host1 },
      strictViaProxy: { duPort: ports.strict, host: host1, proxy: viaProxy },
      foreignDirect: { duPort: ports.du, host: foreignHost },
      foreignViaProxy: { duPort: ports.du, host: foreignHost, proxy: viaProxy },
    };
    for (const [name, config] of Object.entries(configs) as [keyof typeof comms, (typeof configs)[keyof typeof configs]][]) {
      const file = join(dir, `comms-${name}.json`);
      await writeJson(file, commsConfig({ ...config, caFile: pki.caFile, services: SERVICES, limits: LIMITS, statusPort: null }));
      comms[name] = await startCommsFromFile(hostPlatform, file);
    }
  }, 60_000);

  afterAll(async () => {
    for (const service of Object.values(comms)) await service.stop();
    await proxy?.stop();
    // By its pid: SIGTERM, SIGKILL after the grace.
    await haproxy?.stop();
    await blobBackend?.close();
    await digestBackend?.close();
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  /** haproxy's tcplog lines for connections accepted since `sinceMs` (it logs a connection when it ends). */
  function tcpLog(sinceMs: number): HaproxyTcpLogLine[] {
    return haproxyTcpLog(haproxy?.lines() ?? [], sinceMs);
  }

  function until(condition: () => boolean, what: string): Promise<void> {
    return untilWithin(condition, what, { context: () => `haproxy said:\n${haproxy?.output().slice(-3000)}` });
  }
  function countersNow(): { blob: unknown; digest: unknown } {
    return { blob: blobBackend.counters(), digest: digestBackend.counters() };
  }

  it('haproxy -c accepts the configuration', () => {
    expect(haproxyCheck).toContain('Configuration file is valid');
  });

  it('haproxy confirms an accepted client with TLS 1.3 session tickets (what comms waits for through a proxy) and routes it by SNI', async () => {
    const blob = blobs[0] as LabBlob;
    const result = await tlsExchange(ports.du, {
      servername: LAB_SNI.registry, caPem: pki.ca.certPem, client: host1, payload: `GET /v2/lab/blobs/${blob.digest} HTTP/1.1\r\nConnection: close\r\n\r\n`,
    });
    expect(result.sessionTickets).toBeGreaterThanOrEqual(1);
    expect({ ended: result.ended, error: result.errorCode }).toEqual({ ended: true, error: undefined });
    expect(result.received.toString('latin1')).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
  });

  it('direct: every blob whole, digest intact; haproxy routed each tunnel to registry/registry1 and sent exactly the bytes the client saw', async () => {
    const since = Date.now();
    const fetches = await fetchEveryBlob(comms.direct.ports['registry'] as number, blobs);
    await until(() => tcpLog(since).length >= fetches.length, 'haproxy logged every tunnel');
    const lines = tcpLog(since);
    expect(lines.map((line) => `${line.frontend} ${line.backend}/${line.server} ${line.termination}`)).toEqual(fetches.map(() => 'du registry/registry1 --'));
    expect(lines.reduce((sum, line) => sum + line.bytesRead, 0)).toBe(fetches.reduce((sum, fetched) => sum + fetched.exchange.received.length, 0));
    expect(Object.values(comms.direct.metrics().failures).every((count) => count === 0)).toBe(true);
  });

  it("through the project's proxy: every blob whole; the proxy carried each tunnel to haproxy", async () => {
    const before = { proxy: proxy.stats(), since: Date.now() };
    const fetches = await fetchEveryBlob(comms.viaProxy.ports['registry'] as number, blobs);
    await until(() => tcpLog(before.since).length >= fetches.length, 'haproxy logged every tunnel');
    const after = proxy.stats();
    expect(after.tunnelsTotal - before.proxy.tunnelsTotal).toBe(fetches.length);
    expect((after.byStatus[200] ?? 0) - (before.proxy.byStatus[200] ?? 0)).toBe(fetches.length);
    expect(after.bytesDown - before.proxy.bytesDown).toBeGreaterThan(2 * blobs.reduce((sum, blob) => sum + blob.bytes.length, 0));
    expect(tcpLog(before.since).every((line) => line.backend === 'registry' && line.termination === '--')).toBe(true);
    expect(comms.viaProxy.metrics().failures['ambiguous-reset']).toBe(0);
  });

  it('half-close through haproxy, direct: the client ends its side after 4 MiB and still reads the answer; a half-closed GET gets its whole blob', async () => {
    const upload = randomBytes(UPLOAD_BYTES);
    const answered = await exchange(comms.direct.ports['api'] as number, upload, { end: true });
    expect({ answer: answered.received.toString(), ended: answered.ended, error: answered.errorCode })
      .toEqual({ answer: digestAnswer(upload), ended: true, error: undefined });
    const largest = blobs[blobs.length - 1] as LabBlob;
    const fetched = await fetchBlob(comms.direct.ports['registry'] as number, largest.digest, { halfClose: true });
    expect({ status: fetched.status, digest: fetched.digest, ended: fetched.exchange.ended }).toEqual({ status: 200, digest: largest.digest, ended: true });
  });

  it('half-close through the proxy and haproxy: the same', async () => {
    const upload = randomBytes(UPLOAD_BYTES);
    const answered = await exchange(comms.viaProxy.ports['api'] as number, upload, { end: true });
    expect({ answer: answered.received.toString(), ended: answered.ended, error: answered.errorCode })
      .toEqual({ answer: digestAnswer(upload), ended: true, error: undefined });
    const largest = blobs[blobs.length - 1] as LabBlob;
    const fetched = await fetchBlob(comms.viaProxy.ports['registry'] as number, largest.digest, { halfClose: true });
    expect({ status: fetched.status, digest: fetched.digest, ended: fetched.exchange.ended }).toEqual({ status: 200, digest: largest.digest, ended: true });
  });

  it('an SNI with no use_backend reaches no backend: haproxy closes it as <NOSRV> (SC), directly and through the proxy', async () => {
    const before = { counters: countersNow(), since: Date.now() };
    for (const service of [comms.direct, comms.viaProxy]) {
      await exchange(service.ports['unrouted'] as number, 'GET / HTTP/1.1\r\n\r\n', { end: false, timeoutMs: 4 * LIMITS.serverConfirmTimeoutMs });
    }
    await until(() => tcpLog(before.since).length >= 2, 'haproxy logged both');
    // No backend chosen: haproxy names the frontend as the backend, and <NOSRV> as the server.
    // Through the proxy comms may see the close before it takes the tickets as confirmation, and dial once more (ambiguous-reset).
    const lines = tcpLog(before.since).map((line) => `${line.frontend} ${line.backend}/${line.server} ${line.bytesRead} ${line.termination}`);
    expect(new Set(lines)).toEqual(new Set(['du du/<NOSRV> 0 SC']));
    expect(lines.length).toBeLessThanOrEqual(3);
    expect(countersNow()).toEqual(before.counters);
  });

  it('an SNI with no use_backend: the local client sees a reset, never a clean empty answer, whether it half-closed or not', async () => {
    // haproxy accepts the handshake, sends its tickets, then closes: empty-close once comms has the
    // tickets; through the proxy the close may come first, which is a refusal (auth-refused).
    const refusals = (service: CommsService): number => service.metrics().failures['empty-close'] + service.metrics().failures['auth-refused'];
    for (const service of [comms.direct, comms.viaProxy]) {
      for (const end of [false, true]) {
        const refusedBefore = refusals(service);
        const result = await exchange(service.ports['unrouted'] as number, 'GET / HTTP/1.1\r\n\r\n', { end, timeoutMs: 4 * LIMITS.serverConfirmTimeoutMs });
        expect({ end, received: result.received.length, ended: result.ended, error: result.errorCode }).toEqual({ end, received: 0, ended: false, error: 'ECONNRESET' });
        expect(refusals(service)).toBe(refusedBefore + 1);
      }
    }
  });

  it('with strict-sni, an SNI no certificate names is refused in the handshake: a reset (auth-refused, not retried), directly and through the proxy; routed names still work', async () => {
    const before = countersNow();
    const since = Date.now();
    for (const service of [comms.strictDirect, comms.strictViaProxy]) {
      const result = await exchange(service.ports['unrouted'] as number, 'GET / HTTP/1.1\r\n\r\n', { end: false });
      expect({ received: result.received.length, ended: result.ended, error: result.errorCode }).toEqual({ received: 0, ended: false, error: 'ECONNRESET' });
      expect(service.metrics().failures['auth-refused']).toBe(1);
      expect(service.metrics().failures['ambiguous-reset']).toBe(0);
    }
    const failed = hostLogs.events('comms.tunnel_failed').filter((line) => line['sni'] === LAB_SNI.unrouted && line['reason'] === 'auth-refused');
    expect(failed.map((line) => line['code'])).toContain('ERR_SSL_TLSV1_UNRECOGNIZED_NAME');
    expect(countersNow()).toEqual(before);
    await until(() => haproxyHandshakeFailures(haproxy?.lines() ?? [], 'du_strict_sni', since).length >= 2, 'haproxy logged both refusals');
    expect(haproxyHandshakeFailures(haproxy?.lines() ?? [], 'du_strict_sni', since).map((failure) => failure.reason)).toEqual(['SSL handshake failure', 'SSL handshake failure']);
    const blob = blobs[1] as LabBlob;
    expect((await fetchBlob(comms.strictDirect.ports['registry'] as number, blob.digest)).digest).toBe(blob.digest);
  });

  it('a client without a certificate: haproxy answers TLS alert 116 (certificate_required), no byte and no ticket; no backend sees a connection', async () => {
    const before = countersNow();
    const result = await tlsExchange(ports.du, { servername: LAB_SNI.registry, caPem: pki.ca.certPem, payload: 'GET / HTTP/1.1\r\n\r\n' });
    expect({ received: result.received.length, error: result.errorCode, tickets: result.sessionTickets })
      .toEqual({ received: 0, error: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', tickets: 0 });
    expect(countersNow()).toEqual(before);
  });

  it('comms with a host certificate from another CA: haproxy refuses it with a TLS alert; the local client sees a reset (auth-refused, not retried), directly and through the proxy; no backend sees a connection', async () => {
    const before = countersNow();
    const failedBefore = hostLogs.events('comms.tunnel_failed').length;
    for (const service of [comms.foreignDirect, comms.foreignViaProxy]) {
      const fetched = await fetchBlob(service.ports['registry'] as number, (blobs[0] as LabBlob).digest);
      expect({ received: fetched.exchange.received.length, ended: fetched.exchange.ended, error: fetched.exchange.errorCode })
        .toEqual({ received: 0, ended: false, error: 'ECONNRESET' });
      expect(service.metrics().failures['auth-refused']).toBe(1);
      expect(service.metrics().failures['ambiguous-reset']).toBe(0);
    }
    const codes = hostLogs.events('comms.tunnel_failed').slice(failedBefore).map((line) => `${line['reason']} ${line['code']}`);
    expect(codes).toEqual(['auth-refused ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', 'auth-refused ERR_SSL_TLSV1_ALERT_UNKNOWN_CA']);
    expect(countersNow()).toEqual(before);
  });
});
