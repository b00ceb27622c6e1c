// comms and the DU gateway on real sockets, 127.0.0.1 only: a registry-like
// blob backend and a digest backend behind the gateway, reached through
// comms' local ports directly and through the project's CONNECT proxy
// (Basic auth); then the same with the commands users run, the built
// dist/du-gateway.mjs, dist/http-proxy.mjs and dist/comms.mjs, each with
// `--config <file.json>`. Needs no root and no Debian package: it always runs.
//
//   client ── 127.0.0.1:<comms port> ── comms ──[proxy]── TLS 1.3 ── gateway ── blob / digest backend
//
// These tests found two comms bugs, both through a proxy and both invisible
// on the simulated network (its streams are JavaScript, not sockets whose
// handle TLS takes over): the first client bytes written from inside the TLS
// 'session' event never reached the DU intact, and a DU's clean end before
// its ticket went unseen. See awaitConfirmation in src/runtime/comms/dial.ts.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRealPlatform } from '../src/runtime/platform/real/index.js';
import { startProxy, type ProxyService } from '../src/runtime/proxy/proxy-service.js';
import type { CommsService } from '../src/runtime/comms/service.js';
import type { DuGateway } from '../src/runtime/du/gateway.js';
import { writeCertificateFile, writeKeyFile } from '../src/runtime/pki/index.js';
import { LogCapture } from './helpers/real-net.js';
import {
  fetchEveryBlob, until, wireBytes,
  TEST_BACKEND_HEAD_TIMEOUT_MS as BACKEND_HEAD_TIMEOUT_MS, TEST_BLOB_SIZES as BLOB_SIZES, TEST_COMMS_LIMITS as LIMITS,
  TEST_PROXY_USER as PROXY_USER, TEST_SERVICES as SERVICES, TEST_UPLOAD_BYTES as UPLOAD_BYTES,
} from './helpers/tunnel-checks.js';
import {
  LAB_SNI, buildBundles, commsConfig, digestAnswer, exchange, fetchBlob, gatewayConfig, makeBlobs, readCommsMetrics,
  startBlobBackend, startCommsFromFile, startDigestBackend, startGatewayFromFile, startServiceProcess, tlsExchange, writeJson, writeLabPki,
  type BlobBackend, type BlobFetch, type HostFiles, type LabBackend, type LabBlob, type LabPki, type ServiceProcess,
} from './helpers/tunnel-lab.js';

const POLL_MS = 20;

const duLogs = new LogCapture();
const hostLogs = new LogCapture();
const duPlatform = createRealPlatform({ hostName: 'du', logStream: duLogs });
const hostPlatform = createRealPlatform({ hostName: 'host-1', logStream: hostLogs });
const proxyPlatform = createRealPlatform({ hostName: 'proxy', logStream: new LogCapture() });

let dir = '';
let pki: LabPki;
let host1: HostFiles;
let blobs: LabBlob[];
let blobBackend: BlobBackend;
let digestBackend: LabBackend;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pf9lab-comms-real-'));
  pki = await writeLabPki(duPlatform, dir);
  host1 = await pki.issueHost('host-1');
  blobs = makeBlobs(BLOB_SIZES);
  blobBackend = await startBlobBackend(duPlatform, blobs, { headTimeoutMs: BACKEND_HEAD_TIMEOUT_MS });
  digestBackend = await startDigestBackend(duPlatform);
});

afterAll(async () => {
  await blobBackend?.close();
  await digestBackend?.close();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

function blobBytes(): number {
  return blobs.reduce((sum, blob) => sum + blob.bytes.length, 0);
}

describe('comms and the DU gateway in this process, on real loopback sockets', () => {
  let gateway: DuGateway;
  let proxy: ProxyService;
  let direct: CommsService;
  let viaProxy: CommsService;
  let foreign: CommsService;

  beforeAll(async () => {
    await writeJson(join(dir, 'gateway.json'), gatewayConfig({ pki, routes: { [LAB_SNI.registry]: blobBackend.port, [LAB_SNI.api]: digestBackend.port } }));
    gateway = await startGatewayFromFile(duPlatform, join(dir, 'gateway.json'));
    proxy = await startProxy(proxyPlatform, { listen: { host: '127.0.0.1', port: 0 }, users: [PROXY_USER], allowedPorts: [gateway.port] });
    const base = { duPort: gateway.port, caFile: pki.caFile, host: host1, services: SERVICES, limits: LIMITS };
    await writeJson(join(dir, 'comms-direct.json'), commsConfig(base));
    await writeJson(join(dir, 'comms-proxy.json'), commsConfig({ ...base, proxy: { port: proxy.port, ...PROXY_USER } }));
    // The DU CA to trust the DU, but a host certificate from a CA the DU does not know.
    const other = await writeLabPki(hostPlatform, dir, { name: 'other' });
    await writeJson(join(dir, 'comms-foreign.json'), commsConfig({ ...base, host: await other.issueHost('host-1') }));
    direct = await startCommsFromFile(hostPlatform, join(dir, 'comms-direct.json'));
    viaProxy = await startCommsFromFile(hostPlatform, join(dir, 'comms-proxy.json'));
    foreign = await startCommsFromFile(hostPlatform, join(dir, 'comms-foreign.json'));
  });

  afterAll(async () => {
    for (const comms of [direct, viaProxy, foreign]) await comms?.stop();
    await proxy?.stop();
    await gateway?.stop();
  });

  it('direct: every blob arrives whole, digest intact; comms and the gateway count exactly the bytes the client saw', async () => {
    const before = { comms: direct.metrics(), gateway: gateway.stats() };
    const fetches = await fetchEveryBlob(direct.ports['registry'] as number, blobs);
    const wire = wireBytes(fetches);
    await until(() => direct.metrics().tunnelsOpen === 0 && gateway.stats().tunnelsOpen === 0, 'tunnels closed');
    const after = { comms: direct.metrics(), gateway: gateway.stats() };
    expect(after.comms.tunnelsTotal - before.comms.tunnelsTotal).toBe(fetches.length);
    expect((after.comms.bytes['registry']?.up ?? 0) - (before.comms.bytes['registry']?.up ?? 0)).toBe(wire.up);
    expect((after.comms.bytes['registry']?.down ?? 0) - (before.comms.bytes['registry']?.down ?? 0)).toBe(wire.down);
    expect(after.gateway.bytesUp - before.gateway.bytesUp).toBe(wire.up);
    expect(after.gateway.bytesDown - before.gateway.bytesDown).toBe(wire.down);
    expect((after.gateway.tunnelsClosedByReason.completed ?? 0) - (before.gateway.tunnelsClosedByReason.completed ?? 0)).toBe(fetches.length);
    expect(Object.values(after.comms.failures).every((count) => count === 0)).toBe(true);
  });

  it("through the project's proxy with Basic auth: every blob whole, and the proxy carried each tunnel", async () => {
    const before = { proxy: proxy.stats(), gateway: gateway.stats() };
    const fetches = await fetchEveryBlob(viaProxy.ports['registry'] as number, blobs);
    await until(() => viaProxy.metrics().tunnelsOpen === 0 && proxy.stats().tunnelsOpen === 0, 'tunnels closed');
    const after = { proxy: proxy.stats(), gateway: gateway.stats() };
    expect(after.proxy.tunnelsTotal - before.proxy.tunnelsTotal).toBe(fetches.length);
    expect((after.proxy.byStatus[200] ?? 0) - (before.proxy.byStatus[200] ?? 0)).toBe(fetches.length);
    // TLS records: at least the blobs themselves went down through the proxy.
    expect(after.proxy.bytesDown - before.proxy.bytesDown).toBeGreaterThan(2 * blobBytes());
    expect(after.gateway.tunnelsTotal - before.gateway.tunnelsTotal).toBe(fetches.length);
    expect(viaProxy.metrics().failures['ambiguous-reset']).toBe(0);
  });

  it('half-close, direct: the client ends its side after 4 MiB and still reads the answer; a GET half-closed still gets its whole blob', async () => {
    const upload = randomBytes(UPLOAD_BYTES);
    const answered = await exchange(direct.ports['api'] as number, upload, { end: true });
    expect({ answer: answered.received.toString(), ended: answered.ended, error: answered.errorCode })
      .toEqual({ answer: digestAnswer(upload), ended: true, error: undefined });
    const largest = blobs[blobs.length - 1] as LabBlob;
    const fetched = await fetchBlob(direct.ports['registry'] as number, largest.digest, { halfClose: true });
    expect({ status: fetched.status, digest: fetched.digest, ended: fetched.exchange.ended }).toEqual({ status: 200, digest: largest.digest, ended: true });
  });

  it('half-close through the proxy: the same, both ways intact', async () => {
    const upload = randomBytes(UPLOAD_BYTES);
    const answered = await exchange(viaProxy.ports['api'] as number, upload, { end: true });
    expect({ answer: answered.received.toString(), ended: answered.ended, error: answered.errorCode })
      .toEqual({ answer: digestAnswer(upload), ended: true, error: undefined });
    const largest = blobs[blobs.length - 1] as LabBlob;
    const fetched = await fetchBlob(viaProxy.ports['registry'] as number, largest.digest, { halfClose: true });
    expect({ status: fetched.status, digest: fetched.digest, ended: fetched.exchange.ended }).toEqual({ status: 200, digest: largest.digest, ended: true });
  });

  it('a client without a certificate gets nothing from the gateway but a reset, and no backend sees a connection', async () => {
    const before = { blob: blobBackend.counters(), digest: digestBackend.counters(), refused: gateway.stats().refusedByReason['no-client-cert'] ?? 0 };
    const result = await tlsExchange(gateway.port, { servername: LAB_SNI.registry, caPem: pki.ca.certPem, payload: `GET /v2/lab/blobs/${blobs[0]?.digest} HTTP/1.1\r\n\r\n` });
    expect(result.received.length).toBe(0);
    expect(result.errorCode).toBe('ECONNRESET');
    await until(() => (gateway.stats().refusedByReason['no-client-cert'] ?? 0) === before.refused + 1, 'refusal counted');
    expect(blobBackend.counters()).toEqual(before.blob);
    expect(digestBackend.counters()).toEqual(before.digest);
  });

  it('comms with a host certificate from another CA: the local client sees a reset (auth-refused), no backend sees a connection', async () => {
    const before = { blob: blobBackend.counters(), refused: gateway.stats().refusedByReason['bad-cert'] ?? 0 };
    const fetched = await fetchBlob(foreign.ports['registry'] as number, (blobs[0] as LabBlob).digest);
    expect({ status: fetched.status, received: fetched.exchange.received.length, ended: fetched.exchange.ended, error: fetched.exchange.errorCode })
      .toEqual({ status: 0, received: 0, ended: false, error: 'ECONNRESET' });
    expect(foreign.metrics().failures['auth-refused']).toBe(1);
    expect(gateway.stats().refusedByReason['bad-cert']).toBe(before.refused + 1);
    expect(blobBackend.counters()).toEqual(before.blob);
  });

  it('an unknown SNI, direct: the local client sees a reset, never a clean empty answer (auth-refused); no backend sees a connection', async () => {
    const before = { blob: blobBackend.counters(), digest: digestBackend.counters(), failures: direct.metrics().failures['auth-refused'] };
    const result = await exchange(direct.ports['unrouted'] as number, 'GET / HTTP/1.1\r\n\r\n', { end: false });
    expect({ received: result.received.length, ended: result.ended, error: result.errorCode }).toEqual({ received: 0, ended: false, error: 'ECONNRESET' });
    expect(direct.metrics().failures['auth-refused']).toBe(before.failures + 1);
    expect(gateway.stats().refusedByReason['unknown-sni']).toBeGreaterThanOrEqual(1);
    expect(blobBackend.counters()).toEqual(before.blob);
    expect(digestBackend.counters()).toEqual(before.digest);
  });

  it('an unknown SNI through the proxy: retried once (ambiguous-reset), then a reset (auth-refused)', async () => {
    const before = { blob: blobBackend.counters(), failures: viaProxy.metrics().failures };
    const result = await exchange(viaProxy.ports['unrouted'] as number, 'GET / HTTP/1.1\r\n\r\n', {
      end: false, timeoutMs: 2 * LIMITS.serverConfirmTimeoutMs,
    });
    expect({ received: result.received.length, ended: result.ended, error: result.errorCode }).toEqual({ received: 0, ended: false, error: 'ECONNRESET' });
    const failures = viaProxy.metrics().failures;
    expect(failures['ambiguous-reset'] - before.failures['ambiguous-reset']).toBe(1);
    expect(failures['auth-refused'] - before.failures['auth-refused']).toBe(1);
    expect(blobBackend.counters()).toEqual(before.blob);
  });

  it('certificate reload: replaced certificate files are taken without a restart; new tunnels present the new certificate', async () => {
    // Its own copy of the files, so the other services keep theirs.
    const files = { certFile: join(dir, 'reload-host.crt'), keyFile: join(dir, 'reload-host.key') };
    await writeCertificateFile(hostPlatform.files, files.certFile, host1.certPem);
    await writeKeyFile(hostPlatform.files, files.keyFile, host1.keyPem);
    await writeJson(join(dir, 'comms-reload.json'), commsConfig({
      duPort: gateway.port, caFile: pki.caFile, host: files, services: SERVICES.slice(0, 1), limits: LIMITS, reloadIntervalMs: 100, statusPort: null,
    }));
    const comms = await startCommsFromFile(hostPlatform, join(dir, 'comms-reload.json'));
    try {
      const blob = blobs[1] as LabBlob;
      const subjects = (): unknown[] => duLogs.events('du.tunnel_opened').map((line) => line['subject']);
      const before = subjects().length;
      expect((await fetchBlob(comms.ports['registry'] as number, blob.digest)).digest).toBe(blob.digest);
      // The rotation as the PKI does it: the key, then the certificate, each replaced atomically.
      const host2 = await pki.issueHost('host-2');
      await writeKeyFile(hostPlatform.files, files.keyFile, host2.keyPem);
      await writeCertificateFile(hostPlatform.files, files.certFile, host2.certPem);
      await until(() => comms.metrics().certReloads === 1, 'the new certificate reloaded');
      expect((await fetchBlob(comms.ports['registry'] as number, blob.digest)).digest).toBe(blob.digest);
      expect(subjects().slice(before)).toEqual(['host-1', 'host-2']);
      expect(Object.values(comms.metrics().failures).every((count) => count === 0)).toBe(true);
    } finally {
      await comms.stop();
    }
  });
});

describe('the built commands: dist/du-gateway.mjs, dist/http-proxy.mjs and dist/comms.mjs with --config <file.json>', () => {
  const processes: ServiceProcess[] = [];
  let comms: { direct: Started; viaProxy: Started };

  interface Started {
    process: ServiceProcess;
    ports: Record<string, number>;
    statusPort: number;
  }

  /** Starts `dist/<bundle>.mjs --config <file>`, waiting for `event`. */
  async function startBundle(bundle: string, config: unknown, event: string): Promise<{ process: ServiceProcess; line: Record<string, unknown> }> {
    const file = join(dir, `bundle-${bundle}-${processes.length}.json`);
    await writeJson(file, config);
    const started = startServiceProcess(bundle, process.execPath, [join(dir, 'dist', `${bundle}.mjs`), '--config', file]);
    processes.push(started);
    return { process: started, line: await started.waitForEvent(event, 15_000) };
  }

  async function startCommsBundle(config: Record<string, unknown>): Promise<Started> {
    const { process: started } = await startBundle('comms', config, 'comms.started');
    const ports = Object.fromEntries(started.events('comms.listening').map((line) => [String(line['service']), Number(line['port'])]));
    const statusPort = Number(started.events('comms.status_listening')[0]?.['port']);
    return { process: started, ports, statusPort };
  }

  beforeAll(async () => {
    await buildBundles(join(dir, 'dist'));
    const gateway = await startBundle('du-gateway', gatewayConfig({ pki, routes: { [LAB_SNI.registry]: blobBackend.port, [LAB_SNI.api]: digestBackend.port } }), 'du.listening');
    const gatewayPort = Number(gateway.line['port']);
    const proxy = await startBundle('http-proxy', { listen: { host: '127.0.0.1', port: 0 }, users: [PROXY_USER], allowedPorts: [gatewayPort] }, 'proxy.listening');
    const base = { duPort: gatewayPort, caFile: pki.caFile, host: host1, services: SERVICES, limits: LIMITS };
    comms = {
      direct: await startCommsBundle(commsConfig(base)),
      viaProxy: await startCommsBundle(commsConfig({ ...base, proxy: { port: Number(proxy.line['port']), ...PROXY_USER } })),
    };
  }, 90_000);

  afterAll(async () => {
    // By pid, each of ours; stop() falls back to SIGKILL after its grace.
    for (const started of processes.reverse()) await started.stop();
  });

  async function expectMetrics(started: Started, fetches: readonly BlobFetch[]): Promise<void> {
    const wire = wireBytes(fetches);
    let metrics = await readCommsMetrics(started.statusPort);
    for (let attempt = 0; attempt < 50 && metrics.get('comms_tunnels_open') !== 0; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      metrics = await readCommsMetrics(started.statusPort);
    }
    expect(metrics.get('comms_tunnels_open')).toBe(0);
    expect(metrics.get('comms_tunnels_total')).toBe(fetches.length);
    expect(metrics.get('comms_bytes_total{direction="up",service="registry"}')).toBe(wire.up);
    expect(metrics.get('comms_bytes_total{direction="down",service="registry"}')).toBe(wire.down);
    expect(metrics.get('comms_bytes_total{direction="down",service="api"}')).toBe(0);
    const failures = [...metrics].filter(([name, value]) => name.startsWith('comms_tunnel_failures_total') && value !== 0);
    expect(failures).toEqual([]);
    expect(metrics.get('comms_cert_reloads_total')).toBe(0);
  }

  it('direct: every blob whole, digest intact; /metrics counts the tunnels and exactly the bytes the client saw', async () => {
    const fetches = await fetchEveryBlob(comms.direct.ports['registry'] as number, blobs);
    await expectMetrics(comms.direct, fetches);
  });

  it('through the bundled proxy: every blob whole; /metrics counts the tunnels and the bytes', async () => {
    const fetches = await fetchEveryBlob(comms.viaProxy.ports['registry'] as number, blobs);
    await expectMetrics(comms.viaProxy, fetches);
  });

  it('SIGTERM stops each command cleanly (exit 0, a stopped event)', async () => {
    for (const started of [...processes].reverse()) {
      expect(await started.stop(), started.name).toEqual({ code: 0, signal: null });
    }
    expect(comms.direct.process.events('comms.stopped')).toHaveLength(1);
  });
});
