// Real hosts: our keepalived (dist/keepalived.mjs on the real platform) in
// three network namespaces on one bridge, alone and mixed with Debian's
// keepalived, with the product's AH authentication. Needs root, iproute2,
// arping, keepalived and the raw-socket addon; skips with the reason
// otherwise, and fails instead when PF9LAB_REQUIRE_REAL_HOST=1 (CI).
//
//   k1 198.18.210.11 ─┐
//   k2 198.18.210.12 ─┤ br0 (namespace sw)      VIP 198.18.210.10
//   k3 198.18.210.13 ─┘
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { NetnsLab, realHostRequired, realHostUnavailable } from './helpers/netns.js';

const exec = promisify(execFile);
const unavailable = await realHostUnavailable(['ip', 'arping', 'keepalived']);
if (unavailable !== undefined) process.stdout.write(`real-host-keepalived: skipped: ${unavailable}\n`);

const VIP = '198.18.210.10';
const HOSTS = ['k1', 'k2', 'k3'] as const;
type HostName = (typeof HOSTS)[number];
/** Master_Down_Interval at priority 50 (3.8 s) plus an advert, and slack for a loaded CI machine polling with `ip`. */
const TAKEOVER_BOUND_MS = 8_000;
const POLL_MS = 50;

function conf(priority: number): string {
  return [
    'global_defs { router_id pf9lab-real }',
    'vrrp_instance VI_REAL {',
    '  interface eth0',
    '  state BACKUP',
    '  virtual_router_id 61',
    `  priority ${priority}`,
    '  advert_int 1',
    '  nopreempt',
    // One keyword per line: keepalived 2.2.7 reads "auth_type AH auth_pass X" on one line as an
    // auth_type with extra words, and then runs WITHOUT authentication ("no password given").
    '  authentication {',
    '    auth_type AH',
    '    auth_pass pf9real1',
    '  }',
    `  virtual_ipaddress { ${VIP}/32 }`,
    '}',
    '',
  ].join('\n');
}

describe.skipIf(unavailable !== undefined && !realHostRequired())('keepalived on real hosts (network namespaces)', () => {
  const lab = new NetnsLab();
  let dir = '';
  const ns = {} as Record<HostName, string>;
  const running = new Map<HostName, ChildProcess>();
  /** The tail of each daemon's output, for failure messages. */
  const output = new Map<HostName, string>();
  const remember = (host: HostName, child: ChildProcess): ChildProcess => {
    output.set(host, '');
    const keep = (data: Buffer): void => {
      output.set(host, ((output.get(host) ?? '') + data.toString()).slice(-6_000));
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    return child;
  };
  const logs = (): string => HOSTS.map((host) => `--- ${host}\n${output.get(host) ?? ''}`).join('\n');

  beforeAll(async () => {
    if (unavailable !== undefined) throw new Error(`PF9LAB_REQUIRE_REAL_HOST=1 but: ${unavailable}`);
    dir = await mkdtemp(join(tmpdir(), 'pf9lab-real-keepalived-'));
    await exec(join('node_modules', '.bin', 'tsx'), ['cli/build.ts', '--outdir', join(dir, 'dist')], { timeout: 60_000 });
    const sw = await lab.namespace('sw');
    await lab.ip(sw, ['link', 'add', 'br0', 'type', 'bridge']);
    await lab.ip(sw, ['link', 'set', 'br0', 'up']);
    for (const [index, host] of HOSTS.entries()) {
      ns[host] = await lab.namespace(host);
      const port = `p9k${process.pid % 10_000}s${index}`.slice(0, 15);
      // Created inside the namespaces directly, so "eth0" never meets the root namespace's.
      await exec('ip', ['link', 'add', 'eth0', 'netns', ns[host], 'type', 'veth', 'peer', 'name', port, 'netns', sw], { timeout: 10_000 });
      await lab.ip(sw, ['link', 'set', port, 'master', 'br0']);
      await lab.ip(sw, ['link', 'set', port, 'up']);
      await lab.ip(ns[host], ['addr', 'add', `198.18.210.${11 + index}/24`, 'dev', 'eth0']);
      await lab.ip(ns[host], ['link', 'set', 'eth0', 'up']);
      await writeFile(join(dir, `${host}.conf`), conf(150 - 50 * index));
    }
  }, 120_000);

  afterAll(async () => {
    for (const child of running.values()) child.kill('SIGKILL');
    await lab.cleanup();
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  function startOurs(host: HostName): void {
    running.set(host, remember(host, lab.spawn(ns[host], process.execPath, [join(dir, 'dist', 'keepalived.mjs'), '-f', join(dir, `${host}.conf`), '-n', '-l'])));
  }

  function startDebian(host: HostName): void {
    const pid = (name: string) => join(dir, `${host}-${name}.pid`);
    running.set(host, remember(host, lab.spawn(ns[host], 'keepalived', ['-n', '-l', '-D', '-P', '-f', join(dir, `${host}.conf`), '-p', pid('main'), '-r', pid('vrrp')])));
  }

  async function stop(host: HostName, signal: NodeJS.Signals): Promise<void> {
    const child = running.get(host);
    running.delete(host);
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // ip netns exec runs the daemon as its child: signal the namespace's processes by their pids.
    const { stdout } = await exec('ip', ['netns', 'pids', ns[host]], { timeout: 10_000 });
    for (const pid of stdout.split('\n').filter(Boolean)) process.kill(Number(pid), signal);
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
  }

  async function holders(): Promise<HostName[]> {
    const result: HostName[] = [];
    for (const host of HOSTS) {
      const out = await lab.ip(ns[host], ['-4', 'addr', 'show', 'dev', 'eth0']);
      if (out.includes(`inet ${VIP}/`)) result.push(host);
    }
    return result;
  }

  /** Polls (bounded) until `accept(holders)`; returns the elapsed ms and the last holders. */
  async function waitFor(accept: (current: HostName[]) => boolean, timeoutMs: number): Promise<{ elapsedMs: number; holders: HostName[] }> {
    const startMs = Date.now();
    let current = await holders();
    while (!accept(current) && Date.now() - startMs < timeoutMs) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      current = await holders();
    }
    return { elapsedMs: Date.now() - startMs, holders: current };
  }

  /** Over `spanMs`, never two holders. */
  async function steady(spanMs: number): Promise<HostName[][]> {
    const seen: HostName[][] = [];
    const endMs = Date.now() + spanMs;
    while (Date.now() < endMs) {
      seen.push(await holders());
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return seen.filter((set) => set.length !== 1);
  }

  it('elects one master and moves the VIP when the master process is killed', async () => {
    startOurs('k1');
    expect((await waitFor((current) => current.includes('k1'), 10_000)).holders).toEqual(['k1']);
    startOurs('k2');
    startOurs('k3');
    expect(await steady(4_000), logs()).toEqual([]);
    await stop('k1', 'SIGKILL');
    // A killed daemon leaves its VIP behind, as keepalived's does; the takeover is what counts.
    const moved = await waitFor((current) => current.includes('k2') || current.includes('k3'), TAKEOVER_BOUND_MS + 2_000);
    expect(moved.holders.filter((host) => host !== 'k1')).toHaveLength(1);
    expect(moved.elapsedMs).toBeLessThan(TAKEOVER_BOUND_MS);
    await lab.ip(ns.k1, ['addr', 'del', `${VIP}/32`, 'dev', 'eth0']);
    await stop('k2', 'SIGTERM');
    await stop('k3', 'SIGTERM');
    expect((await waitFor((current) => current.length === 0, 5_000)).holders).toEqual([]);
  }, 60_000);

  it("fails over both ways in a group mixed with Debian's keepalived, with AH", async () => {
    startDebian('k1');
    expect((await waitFor((current) => current.includes('k1'), 10_000)).holders).toEqual(['k1']);
    startOurs('k2');
    startOurs('k3');
    // Ours accept Debian's AH adverts: nobody else takes the VIP.
    expect(await steady(5_000), logs()).toEqual([]);
    await stop('k1', 'SIGTERM');
    const toOurs = await waitFor((current) => current.length === 1 && current[0] !== 'k1', TAKEOVER_BOUND_MS);
    expect(toOurs.holders).toHaveLength(1);
    expect(toOurs.holders[0]).not.toBe('k1');
    const ourMaster = toOurs.holders[0]!;
    // Debian's keepalived accepts our AH adverts: with nopreempt it stays a backup.
    startDebian('k1');
    expect(await steady(5_000), logs()).toEqual([]);
    expect(await holders()).toEqual([ourMaster]);
    for (const host of ['k2', 'k3'] as const) await stop(host, 'SIGTERM');
    const toDebian = await waitFor((current) => current.length === 1 && current[0] === 'k1', TAKEOVER_BOUND_MS);
    expect(toDebian.holders).toEqual(['k1']);
    await stop('k1', 'SIGTERM');
  }, 90_000);
});
