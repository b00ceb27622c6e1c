// What a release ships: dist/*.mjs built by `npm run build`, as processes:
// bad arguments and configuration files exit 2 and say what is wrong; the
// apiserver and kubelet on loopback against Debian's etcd 3.4, where the
// kubelet registers its node and renews its lease through the apiserver. Skipped (saying why) without the etcd binary, unless
// PF9LAB_REQUIRE_REAL_HOST=1.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, skipLiveEtcd, startLiveEtcd, type LiveEtcd } from './helpers/live-etcd.js';

const POLL_MS = 100;
const WAIT_MS_MAX = 15_000;

describe('the bundled services: bad arguments and configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pf9lab-kube-bundle-'));
  beforeAll(() => {
    const built = spawnSync(join('node_modules', '.bin', 'tsx'), ['cli/build.ts', '--outdir', dir], { timeout: 60_000 });
    if (built.status !== 0) throw new Error(`npm run build failed: ${built.stderr.toString()}`);
  }, 90_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('du-gateway and comms exit 2 on a broken configuration file, naming file, line and column', () => {
    const config = join(dir, 'broken.json');
    writeFileSync(config, '{"listen":\n');
    for (const service of ['du-gateway', 'comms']) {
      const run = spawnSync(process.execPath, [join(dir, `${service}.mjs`), '--config', config], { timeout: 10_000 });
      expect(run.status, service).toBe(2);
      expect(run.stderr.toString()).toContain(`${service}: ERR_CONFIG_SYNTAX: ${config}:2:1`);
    }
  });

  it('exit 2 and say which argument', () => {
    const apiserver = spawnSync(process.execPath, [join(dir, 'apiserver.mjs'), '--bogus'], { timeout: 10_000 });
    expect(apiserver.status).toBe(2);
    expect(apiserver.stderr.toString()).toContain("ERR_APISERVER_ARGS: Unknown option '--bogus'");
    const kubelet = spawnSync(process.execPath, [join(dir, 'kubelet.mjs')], { timeout: 10_000 });
    expect(kubelet.status).toBe(2);
    expect(kubelet.stderr.toString()).toContain('ERR_KUBELET_ARGS: --apiserver host:port is required');
  });

  describe.skipIf(skipLiveEtcd('apiserver-bundle'))("against Debian's etcd 3.4 (loopback)", () => {
    let etcd: LiveEtcd | undefined;
    const children: ChildProcess[] = [];
    afterAll(() => {
      for (const child of children) child.kill('SIGKILL');
      etcd?.stop();
    });

    it('the kubelet registers its node and renews its lease through the apiserver', async () => {
      etcd = await startLiveEtcd('bundle');
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      children.push(spawn(process.execPath, [join(dir, 'apiserver.mjs'), '--listen', `127.0.0.1:${port}`, '--etcd', `127.0.0.1:${etcd.clientPort}`], { stdio: 'ignore' }));
      children.push(spawn(process.execPath, [join(dir, 'kubelet.mjs'), '--apiserver', `127.0.0.1:${port}`, '--node', 'bundled-w1', '--lease-renew-interval-ms', '500'], { stdio: 'ignore' }));
      let renewTimes = new Set<string>();
      for (let waitedMs = 0; waitedMs < WAIT_MS_MAX && renewTimes.size < 2; waitedMs += POLL_MS) {
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        const lease = await fetch(`${base}/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/bundled-w1`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
        if (lease?.status !== 200) continue;
        const renewTime = ((await lease.json()) as { spec?: { renewTime?: string } }).spec?.renewTime;
        if (renewTime !== undefined) renewTimes = new Set([...renewTimes, renewTime]);
      }
      expect(renewTimes.size).toBeGreaterThanOrEqual(2);
      const node = await fetch(`${base}/api/v1/nodes/bundled-w1`, { signal: AbortSignal.timeout(2_000) });
      expect(node.status).toBe(200);
      expect((await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(2_000) })).status).toBe(200);
    }, 60_000);
  });
});
