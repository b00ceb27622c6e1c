// The far end for `npm run bench -- tunnel`, run as its own OS process (a
// child of the bench, over an IPC channel): the DU backend on plain TCP, and
// for the direct-TLS path the same service behind a TLS server that asks for
// the client certificate (OpenSSL verifies it against the DU CA). The client
// opens with one request line:
//
//   down <bytes>  the peer streams <bytes> down, then ends;
//   up            the peer answers "go\n" (the path is up: the client starts
//                 its clock), counts what comes until the client ends, then
//                 answers "ok <bytes>\n" and ends;
//   ping          the peer answers "pong\n" and ends (a small request/response);
//   idle          the peer holds the connection, counted as idle, until the client ends.
//
// IPC: the parent sends { type: 'start', tls: { certFile, keyFile, caFile } };
// the peer answers { type: 'ready', plainPort, tlsPort }. { type: 'idle' }
// gets { type: 'idle', open } (idle connections held now).
import net from 'node:net';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';

const REQUEST_LINE_BYTES_MAX = 64;
/** Bound on one `down` request (the bench asks for at most a few hundred MiB). */
const DOWN_BYTES_MAX = 4 * 1024 * 1024 * 1024;
/** The source's write size: what a backend serving a blob from memory would hand to write(). */
const SOURCE_CHUNK = Buffer.alloc(64 * 1024, 0x5a);

export interface PeerStart {
  type: 'start';
  tls: { certFile: string; keyFile: string; caFile: string };
}

export type PeerReply = { type: 'ready'; plainPort: number; tlsPort: number } | { type: 'idle'; open: number };

let idleOpen = 0;

function serve(socket: Duplex): void {
  socket.on('error', () => undefined);
  let head = '';
  const onHead = (chunk: Buffer): void => {
    head += chunk.toString('latin1');
    const newline = head.indexOf('\n');
    if (newline < 0) {
      if (head.length > REQUEST_LINE_BYTES_MAX) socket.destroy();
      return;
    }
    socket.off('data', onHead);
    const line = head.slice(0, newline);
    const rest = head.length - newline - 1;
    const [verb, argument] = line.split(' ');
    if (verb === 'down') stream(socket, Number(argument));
    else if (verb === 'up') sink(socket, rest);
    else if (verb === 'ping') {
      socket.resume();
      socket.end('pong\n');
    } else if (verb === 'idle') hold(socket);
    else socket.destroy();
  };
  socket.on('data', onHead);
}

/** Writes `total` bytes with backpressure, then ends. */
function stream(socket: Duplex, total: number): void {
  if (!Number.isSafeInteger(total) || total < 0 || total > DOWN_BYTES_MAX) {
    socket.destroy();
    return;
  }
  socket.resume();
  let left = total;
  const pump = (): void => {
    while (left > 0) {
      const size = Math.min(left, SOURCE_CHUNK.length);
      left -= size;
      const more = socket.write(size === SOURCE_CHUNK.length ? SOURCE_CHUNK : SOURCE_CHUNK.subarray(0, size));
      if (!more) {
        socket.once('drain', pump);
        return;
      }
    }
    socket.end();
  };
  pump();
}

function sink(socket: Duplex, alreadyReceived: number): void {
  let received = alreadyReceived;
  socket.on('data', (chunk: Buffer) => {
    received += chunk.length;
  });
  socket.once('end', () => socket.end(`ok ${received}\n`));
  socket.write('go\n');
}

function hold(socket: Duplex): void {
  idleOpen += 1;
  let counted = true;
  const release = (): void => {
    if (!counted) return;
    counted = false;
    idleOpen -= 1;
  };
  socket.resume();
  socket.once('end', () => {
    release();
    socket.end();
  });
  socket.once('close', release);
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, backlog: 1024 }, () => resolve((server.address() as net.AddressInfo).port));
  });
}

async function start(message: PeerStart): Promise<void> {
  const plain = net.createServer({ allowHalfOpen: true }, (socket) => serve(socket));
  const secure = tls.createServer(
    {
      allowHalfOpen: true,
      cert: readFileSync(message.tls.certFile),
      key: readFileSync(message.tls.keyFile),
      ca: readFileSync(message.tls.caFile),
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.3',
    },
    (socket) => serve(socket),
  );
  secure.on('tlsClientError', () => undefined);
  const [plainPort, tlsPort] = await Promise.all([listen(plain), listen(secure)]);
  send({ type: 'ready', plainPort, tlsPort });
}

function send(reply: PeerReply): void {
  process.send?.(reply);
}

process.on('message', (message: PeerStart | { type: 'idle' }) => {
  if (message.type === 'start') {
    start(message).catch((error: unknown) => {
      process.stderr.write(`tunnel-peer: ${String(error)}\n`);
      process.exit(1);
    });
  } else if (message.type === 'idle') send({ type: 'idle', open: idleOpen });
});
// The bench owns this process: when its IPC channel goes, so does the peer.
process.on('disconnect', () => process.exit(0));
