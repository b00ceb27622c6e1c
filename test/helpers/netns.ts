// Real hosts for tests: Linux network namespaces joined by veth pairs.
//
// Safety rules (README, "Network safety"): addresses only from 198.18.0.0/15,
// everything named with this run's prefix, and cleanup removes exactly the
// namespaces and processes this lab created (deleting a namespace removes
// its veth ends).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const COMMAND_TIMEOUT_MS = 10_000;
const BENCHMARK_RANGE = /^198\.(18|19)\.\d{1,3}\.\d{1,3}\/\d{1,2}$/;

/** Why real-host tests cannot run here, or undefined when they can. */
export async function realHostUnavailable(binaries: readonly string[] = ['ip']): Promise<string | undefined> {
  if (process.platform !== 'linux') return `needs Linux, this is ${process.platform}`;
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  for (const binary of binaries) {
    try {
      await exec('sh', ['-c', `command -v ${binary}`], { timeout: COMMAND_TIMEOUT_MS });
    } catch {
      return `needs the "${binary}" binary (Debian package: ${debianPackage(binary)})`;
    }
  }
  const probe = `pf9lab-probe-${process.pid}`;
  try {
    await exec('ip', ['netns', 'add', probe], { timeout: COMMAND_TIMEOUT_MS });
    await exec('ip', ['netns', 'del', probe], { timeout: COMMAND_TIMEOUT_MS });
  } catch (error) {
    return `cannot create network namespaces: ${(error as Error).message.split('\n')[0]}`;
  }
  return undefined;
}

function debianPackage(binary: string): string {
  const packages: Record<string, string> = {
    ip: 'iproute2',
    arping: 'arping',
    tcpdump: 'tcpdump',
    keepalived: 'keepalived',
    haproxy: 'haproxy',
    etcd: 'etcd-server',
    setpriv: 'util-linux',
  };
  return packages[binary] ?? binary;
}

/** In CI (PF9LAB_REQUIRE_REAL_HOST=1) a missing prerequisite is a failure, not a skip. */
export function realHostRequired(): boolean {
  return process.env['PF9LAB_REQUIRE_REAL_HOST'] === '1';
}

export interface NetnsLabOptions {
  /**
   * Starts every namespace name (`<prefix>-<tag>-<role>`) and, unless it is the
   * default 'pf9lab' (whose veth ends are `p9…`), every veth name.
   */
  prefix?: string;
}

export class NetnsLab {
  private readonly namespaces: string[] = [];
  private readonly processes: ChildProcess[] = [];
  private vethCount = 0;
  private readonly prefix: string;
  private readonly vethPrefix: string;

  /** `tag` keeps names short: interface names are limited to 15 characters. */
  constructor(
    private readonly tag = `${process.pid % 100_000}`,
    options: NetnsLabOptions = {},
  ) {
    this.prefix = options.prefix ?? 'pf9lab';
    this.vethPrefix = this.prefix === 'pf9lab' ? 'p9' : this.prefix;
  }

  async namespace(role: string): Promise<string> {
    const name = `${this.prefix}-${this.tag}-${role}`;
    await exec('ip', ['netns', 'add', name], { timeout: COMMAND_TIMEOUT_MS });
    this.namespaces.push(name);
    await this.ip(name, ['link', 'set', 'lo', 'up']);
    return name;
  }

  /** A veth pair between two namespaces, with one address (CIDR, 198.18.0.0/15 only) on each end; returns the ends' names. */
  async link(left: { ns: string; cidr: string }, right: { ns: string; cidr: string }): Promise<{ left: string; right: string }> {
    for (const end of [left, right]) {
      if (!BENCHMARK_RANGE.test(end.cidr)) throw new Error(`refusing ${end.cidr}: real-host tests use 198.18.0.0/15 only`);
    }
    const index = this.vethCount++;
    const leftName = `${this.vethPrefix}${this.tag}a${index}`.slice(0, 15);
    const rightName = `${this.vethPrefix}${this.tag}b${index}`.slice(0, 15);
    await exec('ip', ['link', 'add', leftName, 'netns', left.ns, 'type', 'veth', 'peer', 'name', rightName, 'netns', right.ns], {
      timeout: COMMAND_TIMEOUT_MS,
    });
    for (const [ns, iface, cidr] of [
      [left.ns, leftName, left.cidr],
      [right.ns, rightName, right.cidr],
    ] as const) {
      await this.ip(ns, ['addr', 'add', cidr, 'dev', iface]);
      await this.ip(ns, ['link', 'set', iface, 'up']);
    }
    return { left: leftName, right: rightName };
  }

  async ip(ns: string, args: readonly string[]): Promise<string> {
    const { stdout } = await exec('ip', ['-n', ns, ...args], { timeout: COMMAND_TIMEOUT_MS });
    return stdout;
  }

  /** Starts a long-running process inside a namespace; it is killed at cleanup. `stdin: true` gives it a pipe to read. */
  spawn(ns: string, command: string, args: readonly string[], options: { stdin?: boolean } = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, command, ...args], { stdio: [options.stdin === true ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    this.processes.push(child);
    return child;
  }

  /** Runs a command inside a namespace to completion, bounded in time. */
  async run(ns: string, command: string, args: readonly string[], timeoutMs = 30_000): Promise<{ stdout: string; stderr: string }> {
    return exec('ip', ['netns', 'exec', ns, command, ...args], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
  }

  async cleanup(): Promise<void> {
    for (const child of this.processes.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    for (const ns of this.namespaces.splice(0).reverse()) {
      // Killing a namespace's processes first lets `ip netns del` release it at once.
      await exec('ip', ['netns', 'pids', ns], { timeout: COMMAND_TIMEOUT_MS })
        .then(({ stdout }) => {
          for (const pid of stdout.split('\n').filter(Boolean)) {
            try {
              process.kill(Number(pid), 'SIGKILL');
            } catch {
              // Already gone.
            }
          }
        })
        .catch(() => undefined);
      await exec('ip', ['netns', 'del', ns], { timeout: COMMAND_TIMEOUT_MS }).catch(() => undefined);
    }
  }
}

/** Resolves with the first stderr/stdout line of `child` that contains `text`, or rejects after timeoutMs. */
export function lineContaining(child: ChildProcess, text: string, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no line containing ${JSON.stringify(text)} within ${timeoutMs} ms; got: ${seen.slice(-2000)}`)), timeoutMs);
    const onData = (data: Buffer): void => {
      seen += data.toString();
      const line = seen.split('\n').find((candidate) => candidate.includes(text));
      if (line !== undefined) {
        clearTimeout(timer);
        resolve(line);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`process exited (${code}) before printing ${JSON.stringify(text)}; output: ${seen.slice(-2000)}`));
    });
  });
}
