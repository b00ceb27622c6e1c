// The proxy service as deployed: `http-proxy --config <file.json>`, its
// configuration errors, and the bundle from `npm run build` running as a real
// process on loopback.
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseJsonDocument } from '../src/runtime/config/json-document.js';
import { loadProxyConfig, proxyMain } from '../src/runtime/proxy/main.js';
import { World } from '../sim/network/world.js';

function configProblem(text: string): string {
  try {
    loadProxyConfig(parseJsonDocument(text, 'proxy.json'), 'proxy.json');
    return 'ok';
  } catch (error) {
    return (error as Error).message;
  }
}

describe('http-proxy configuration', () => {
  it.each([
    ['{"listen": {"host": "0.0.0.0", "port": 3128}}', 'ok'],
    ['{}', 'ERR_CONFIG_INVALID: proxy.json:1:1: listen: is required'],
    ['{"listen": {"host": "0.0.0.0", "port": "3128"}}', 'ERR_CONFIG_INVALID: proxy.json:1:40: listen.port: must be an integer, got the string "3128"'],
    ['{"listen": {"host": "0.0.0.0", "port": 3128}, "user": []}', 'ERR_CONFIG_INVALID: proxy.json:1:55: user: unknown key'],
    ['{"listen": {"host": "0.0.0.0", "port": 3128},\n "users": [{"username": "a:b", "password": "x"}]}', 'ERR_CONFIG_INVALID: proxy.json:2:25: users[0].username: must be non-empty and contain no colon'],
    ['{"listen": {"host": "0.0.0.0", "port": 3128}, "allowedPorts": [443, 0]}', 'ERR_CONFIG_INVALID: proxy.json:1:69: allowedPorts[1]: must be an integer in [1, 65535], got 0'],
    ['{"listen": {"host": "0.0.0.0", "port": 99999}}', 'ERR_CONFIG_INVALID: proxy.json:1:40: listen.port: must be an integer in [0, 65535], got 99999'],
  ])('%s → %s', (text, expected) => {
    expect(configProblem(text).startsWith(expected)).toBe(true);
  });

  it('runs as a simulated process reading its file from the simulated disk', async () => {
    const world = new World({ seed: 1 });
    const host = world.host('proxy');
    world.attach(host, world.segment('lan'), '198.18.0.10/24');
    world.registerModule('http-proxy', proxyMain);
    host.onBoot(async (platform) => {
      await platform.files.mkdir('/etc/pf9lab', { recursive: true });
      await platform.files.writeFile('/etc/pf9lab/proxy.json', '{"listen": {"host": "0.0.0.0", "port": 3128}}');
      await platform.processes.start({ name: 'proxy', module: 'http-proxy', args: ['--config', '/etc/pf9lab/proxy.json'] });
    });
    await world.run({ untilMs: 100 });
    expect(host.processes.status('proxy')?.state).toBe('running');
    expect(host.stack.tcp.hasListener(0, 3128)).toBe(true);
  });
});

const run = promisify(execFile);

describe('dist/http-proxy.mjs on a real host (loopback)', () => {
  let dir: string;
  let bundle: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pf9lab-build-'));
    await run(join('node_modules', '.bin', 'tsx'), ['cli/build.ts', '--outdir', join(dir, 'dist')], { timeout: 60_000 });
    bundle = join(dir, 'dist', 'http-proxy.mjs');
  }, 90_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('exits 2 and names the file, line and key for a bad configuration', async () => {
    const config = join(dir, 'bad.json');
    await writeFile(config, '{\n  "listen": {"host": "127.0.0.1", "port": 0},\n  "idleTimeoutMs": -5\n}\n');
    const failure = await run(process.execPath, [bundle, '--config', config], { timeout: 10_000 }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(2);
    expect(failure?.stderr).toContain(`${config}:3:20: idleTimeoutMs: must be an integer in [1,`);
  });

  it('serves CONNECT, relays to a loopback target, and stops cleanly on SIGTERM', async () => {
    const target = net.createServer((socket) => socket.pipe(socket));
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    const targetPort = (target.address() as net.AddressInfo).port;
    const config = join(dir, 'good.json');
    await writeFile(config, JSON.stringify({ listen: { host: '127.0.0.1', port: 0 }, allowedPorts: [targetPort], idleTimeoutMs: 10_000 }));
    const proxy: ChildProcess = spawn(process.execPath, [bundle, '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      const proxyPort = await new Promise<number>((resolve, reject) => {
        let log = '';
        const timer = setTimeout(() => reject(new Error(`no proxy.listening line: ${log}`)), 10_000);
        proxy.stderr?.on('data', (data: Buffer) => {
          log += data.toString();
          const line = log.split('\n').find((candidate) => candidate.includes('"proxy.listening"'));
          if (line !== undefined) {
            clearTimeout(timer);
            resolve((JSON.parse(line) as { port: number }).port);
          }
        });
      });
      const reply = await new Promise<string>((resolve, reject) => {
        const client = net.connect(proxyPort, '127.0.0.1');
        let received = '';
        const timer = setTimeout(() => reject(new Error(`no reply: ${received}`)), 10_000);
        client.on('connect', () => client.write(`CONNECT 127.0.0.1:${targetPort} HTTP/1.1\r\nHost: x\r\n\r\nping`));
        client.on('data', (data: Buffer) => {
          received += data.toString();
          if (received.endsWith('ping')) {
            clearTimeout(timer);
            client.destroy();
            resolve(received);
          }
        });
        client.on('error', reject);
      });
      expect(reply).toMatch(/^HTTP\/1\.1 200 Connection established\r\n\r\nping$/);
      const exited = new Promise<number | null>((resolve) => proxy.once('exit', (code) => resolve(code)));
      proxy.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      proxy.kill('SIGKILL');
      target.close();
    }
  }, 30_000);
});
