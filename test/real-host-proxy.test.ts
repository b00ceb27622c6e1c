// Real hosts: the built proxy (dist/http-proxy.mjs on the real platform) in
// its own network namespace between a client and a target that have no route
// to each other. Needs root and iproute2; skips with the reason otherwise,
// and fails instead when PF9LAB_REQUIRE_REAL_HOST=1 (CI).
//
//   client 198.18.200.1 ── .2 proxy 198.18.201.2 ── .1 target:9000 (echo)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { NetnsLab, lineContaining, realHostRequired, realHostUnavailable } from './helpers/netns.js';

const unavailable = await realHostUnavailable(['ip']);
if (unavailable !== undefined) {
  process.stdout.write(`real-host-proxy: skipped: ${unavailable}\n`);
}

const ECHO_SERVER = `
import net from 'node:net';
const server = net.createServer({ allowHalfOpen: true }, (socket) => { socket.on('error', () => {}); socket.pipe(socket); });
server.listen(9000, '198.18.201.1', () => console.log('echo listening'));
`;

// A plain-Node client: CONNECT through the proxy, send a payload, check the echo.
const CLIENT = `
import net from 'node:net';
import { createHash } from 'node:crypto';
const [mode, password] = process.argv.slice(2);
const sha = (b) => createHash('sha256').update(b).digest('hex');
const done = (result) => { console.log(JSON.stringify(result)); process.exit(0); };
setTimeout(() => done({ error: 'client timed out' }), 20000);
if (mode === 'direct') {
  const socket = net.connect(9000, '198.18.201.1');
  socket.on('connect', () => done({ connected: true }));
  socket.on('error', (error) => done({ error: error.code }));
} else {
  const payload = Buffer.alloc(4 * 1024 * 1024);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 2654435761) >>> 24;
  const socket = net.connect(3128, '198.18.200.2');
  let head = Buffer.alloc(0); let body = []; let tunnel = false; let status = 0;
  socket.on('connect', () => socket.write('CONNECT 198.18.201.1:9000 HTTP/1.1\\r\\nHost: 198.18.201.1:9000\\r\\nProxy-Authorization: Basic ' + Buffer.from('lab:' + password).toString('base64') + '\\r\\n\\r\\n'));
  socket.on('data', (data) => {
    if (tunnel) { body.push(data); return; }
    head = Buffer.concat([head, data]);
    const end = head.indexOf('\\r\\n\\r\\n');
    if (end < 0) return;
    status = Number(head.subarray(9, 12).toString());
    if (status !== 200) { done({ status }); return; }
    tunnel = true;
    if (head.length > end + 4) body.push(head.subarray(end + 4));
    socket.end(payload);
  });
  socket.on('end', () => { const got = Buffer.concat(body); done({ status, bytes: got.length, intact: sha(got) === sha(payload) }); });
  socket.on('error', (error) => done({ status, error: error.code }));
}
`;

const run = promisify(execFile);

describe.skipIf(unavailable !== undefined && !realHostRequired())('proxy on real hosts (network namespaces)', () => {
  const lab = new NetnsLab();
  let dir = '';
  let client = '';

  beforeAll(async () => {
    if (unavailable !== undefined) throw new Error(`PF9LAB_REQUIRE_REAL_HOST=1 but: ${unavailable}`);
    dir = await mkdtemp(join(tmpdir(), 'pf9lab-real-proxy-'));
    await run(join('node_modules', '.bin', 'tsx'), ['cli/build.ts', '--outdir', join(dir, 'dist')], { timeout: 60_000 });
    await writeFile(join(dir, 'echo.mjs'), ECHO_SERVER);
    await writeFile(join(dir, 'client.mjs'), CLIENT);
    await writeFile(
      join(dir, 'proxy.json'),
      JSON.stringify({ listen: { host: '198.18.200.2', port: 3128 }, users: [{ username: 'lab', password: 'secret' }], allowedPorts: [9000] }),
    );

    client = await lab.namespace('client');
    const proxy = await lab.namespace('proxy');
    const target = await lab.namespace('target');
    await lab.link({ ns: client, cidr: '198.18.200.1/24' }, { ns: proxy, cidr: '198.18.200.2/24' });
    await lab.link({ ns: proxy, cidr: '198.18.201.2/24' }, { ns: target, cidr: '198.18.201.1/24' });

    const echo = lab.spawn(target, process.execPath, [join(dir, 'echo.mjs')]);
    await lineContaining(echo, 'echo listening');
    const proxyProcess = lab.spawn(proxy, process.execPath, [join(dir, 'dist', 'http-proxy.mjs'), '--config', join(dir, 'proxy.json')]);
    await lineContaining(proxyProcess, '"proxy.listening"');
  }, 120_000);

  afterAll(async () => {
    await lab.cleanup();
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  async function clientRun(args: string[]): Promise<Record<string, unknown>> {
    const { stdout } = await lab.run(client, process.execPath, [join(dir, 'client.mjs'), ...args]);
    return JSON.parse(stdout.trim().split('\n').at(-1) as string) as Record<string, unknown>;
  }

  it('the client has no route to the target except through the proxy', async () => {
    expect(await clientRun(['direct'])).toEqual({ error: 'ENETUNREACH' });
  });

  it('relays 4 MiB both ways through the proxy, intact, with half-close', async () => {
    expect(await clientRun(['proxy', 'secret'])).toEqual({ status: 200, bytes: 4 * 1024 * 1024, intact: true });
  }, 60_000);

  it('refuses wrong credentials with 407', async () => {
    expect(await clientRun(['proxy', 'wrong'])).toEqual({ status: 407 });
  });
});
