// A real etcd (Debian's etcd-server, 3.4) on loopback for the tests that
// check our gateway codec and HTTP client against the real thing. Without the
// binary those tests skip and say why; in CI (PF9LAB_REQUIRE_REAL_HOST=1)
// they must run, and fail if etcd is missing.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { realHostRequired } from './netns.js';

export const ETCD_BINARY = process.env['ETCD_BINARY'] ?? 'etcd';
const READY_ATTEMPTS_MAX = 100;
const READY_POLL_MS = 100;

/** Why the live-etcd tests cannot run here, or undefined. */
export const liveEtcdUnavailable: string | undefined =
  process.env['ETCD_LIVE'] === '0'
    ? 'ETCD_LIVE=0'
    : spawnSync(ETCD_BINARY, ['--version'], { stdio: 'ignore' }).status === 0
      ? undefined
      : `needs the "${ETCD_BINARY}" binary (Debian package: etcd-server)`;

/** Whether to skip the live-etcd tests; prints the reason once per test file. */
export function skipLiveEtcd(testFile: string): boolean {
  if (liveEtcdUnavailable === undefined) return false;
  if (realHostRequired()) return false;
  process.stdout.write(`${testFile}: live etcd tests skipped: ${liveEtcdUnavailable}\n`);
  return true;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface LiveEtcd {
  /** http://127.0.0.1:<client port> */
  base: string;
  clientPort: number;
  stop(): void;
}

/** A one-member etcd with its own data directory, answering on its client port; stop() kills it and removes the directory. */
export async function startLiveEtcd(name: string): Promise<LiveEtcd> {
  if (liveEtcdUnavailable !== undefined) throw new Error(`PF9LAB_REQUIRE_REAL_HOST=1 but: ${liveEtcdUnavailable}`);
  const dataDir = mkdtempSync(join(tmpdir(), `pf9lab-etcd-${name}-`));
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const base = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const etcd = spawn(
    ETCD_BINARY,
    ['--name', name, '--data-dir', dataDir, '--listen-client-urls', base, '--advertise-client-urls', base, '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `${name}=${peer}`],
    { stdio: 'ignore' },
  );
  const stop = (): void => {
    etcd.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  };
  for (let attempt = 0; attempt < READY_ATTEMPTS_MAX; attempt++) {
    try {
      const response = await fetch(`${base}/v3/kv/range`, { method: 'POST', body: '{"key":"YQ=="}', signal: AbortSignal.timeout(1_000) });
      if (response.status === 200) return { base, clientPort, stop };
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
  }
  stop();
  throw new Error(`etcd did not answer on ${base} within ${(READY_ATTEMPTS_MAX * READY_POLL_MS) / 1000} s`);
}
