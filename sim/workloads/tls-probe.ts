// A raw TLS client for refusal scenarios: one connection straight to a TLS
// server with whatever credentials (or none) and server name (or none) the
// scenario gives it, which writes a payload as soon as its handshake is done
// and records what came back. Unlike comms it has no opinion of its own: it
// exists to be the bad client the server must refuse.
//
// Under TLS 1.3 the client reports secureConnect before the server has
// judged its certificate (the client's Finished goes out with its
// Certificate and CertificateVerify), so a refused client typically does
// write its payload; the server's answer is then a reset, an alert, or a
// close without a byte.
import forge from 'node-forge';
import type { Platform } from '../../src/runtime/platform/types.js';
import { errorCode } from '../../src/runtime/platform/errors.js';

/** A certificate and the private key offered with it (PEM). */
export interface ProbeCredentials {
  certPem: string;
  keyPem: string;
}

export interface ProbeOptions {
  client: string;
  /** Which of the client's tries this is, from 1. */
  attempt: number;
  host: string;
  port: number;
  /** The SNI to send; '' sends none. */
  servername: string;
  credentials: ProbeCredentials | undefined;
  /** The CA the client pins (its verdict is not acted on: the server is not under test). */
  caPem: string;
  payload: string;
  /** Bound on the whole attempt, handshake to close (platform clock). */
  timeoutMs: number;
  runStartMs: number;
}

/**
 * How the connection ended: `reset` (ECONNRESET), `alert` (the server sent a
 * TLS alert), `closed` (an end of stream without an error), `error` (any
 * other error), `timeout` (still open at timeoutMs: the probe gave up).
 */
export type ProbeEnd = 'reset' | 'alert' | 'closed' | 'error' | 'timeout';

export interface ProbeRecord {
  client: string;
  attempt: number;
  servername: string;
  startedAtMs: number;
  endedAtMs: number;
  /** The client finished its side of the handshake (and so wrote its payload). */
  secure: boolean;
  /** Application bytes received (decrypted); handshake and session tickets not counted. */
  bytesReceived: number;
  /** The first bytes received, latin1, at most HEAD_BYTES_MAX: enough for an HTTP status line. */
  head: string;
  end: ProbeEnd;
  /** Every distinct error the TLS socket or its TCP stream reported, in order (at most ERROR_CODES_MAX). */
  errorCodes: string[];
}

const HEAD_BYTES_MAX = 64;
const ERROR_CODES_MAX = 4;

/** One connection: handshake, write `payload`, read until the server ends it (or timeoutMs). Never rejects. */
export function probeTls(platform: Platform, options: ProbeOptions): Promise<ProbeRecord> {
  const startedAtMs = platform.clock.now() - options.runStartMs;
  return new Promise((resolve) => {
    let secure = false;
    let bytesReceived = 0;
    let head = '';
    let ended = false;
    const errorCodes: string[] = [];
    let settled = false;
    const noteError = (error: Error): void => {
      const code = errorCode(error) ?? error.message;
      if (!errorCodes.includes(code) && errorCodes.length < ERROR_CODES_MAX) errorCodes.push(code);
    };
    // Half-open, so that a server's plain close shows as an end of stream, not
    // as the TLS layer failing to write its close_notify on a stream that
    // already shut its side (ERR_STREAM_WRITE_AFTER_END).
    const raw = platform.streams.connect({ host: options.host, port: options.port, allowHalfOpen: true });
    const socket = platform.tls.connect({
      socket: raw,
      servername: options.servername,
      ca: options.caPem,
      // The gateway is not under test here, and OpenSSL would judge its certificate on the real clock.
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
      minVersion: 'TLSv1.3',
      ...(options.credentials === undefined ? {} : { cert: options.credentials.certPem, key: options.credentials.keyPem }),
    });
    const finish = (timedOut: boolean): void => {
      if (settled) return;
      settled = true;
      platform.clock.clearTimer(timer);
      resolve({
        client: options.client,
        attempt: options.attempt,
        servername: options.servername,
        startedAtMs,
        endedAtMs: platform.clock.now() - options.runStartMs,
        secure,
        bytesReceived,
        head,
        end: timedOut ? 'timeout' : endOf(errorCodes, ended),
        errorCodes: [...errorCodes],
      });
    };
    const timer = platform.clock.setTimeout(() => {
      finish(true);
      socket.destroy();
      raw.destroy();
    }, options.timeoutMs);
    raw.on('error', noteError);
    socket.on('secureConnect', () => {
      secure = true;
      socket.write(options.payload);
    });
    socket.on('data', (chunk: Buffer) => {
      bytesReceived += chunk.length;
      if (head.length < HEAD_BYTES_MAX) head += chunk.subarray(0, HEAD_BYTES_MAX - head.length).toString('latin1');
    });
    socket.on('end', () => {
      ended = true;
      // A TLSSocket takes allowHalfOpen from its stream: our side stays open until we end it.
      socket.end();
    });
    socket.on('error', noteError);
    socket.on('close', () => finish(false));
  });
}

/** An alert names the server's reason, so it wins over the reset that may come with it. */
function endOf(errorCodes: readonly string[], ended: boolean): ProbeEnd {
  if (errorCodes.length === 0) return ended ? 'closed' : 'error';
  if (errorCodes.some((code) => code.startsWith('ERR_SSL_TLSV1_ALERT_') || code.startsWith('ERR_SSL_SSLV3_ALERT_'))) return 'alert';
  if (errorCodes.includes('ECONNRESET')) return 'reset';
  return 'error';
}

/**
 * A private key that passes for the key of `certPem` without being it: the
 * certificate's own modulus and public exponent (so Node's check that key and
 * certificate belong together, which compares only those, passes), with the
 * private exponent, primes and CRT values of `donor`, another key. It models
 * a stolen certificate without its key: certificates are public, keys are
 * not. Signing with it yields garbage, so the client's TLS 1.3
 * CertificateVerify does not verify and the server must refuse the
 * handshake (the gateway's `bad-signature`; the client sees alert 51,
 * decrypt_error). Node refuses a key and certificate that plainly do not
 * match, so a plain other key could not even be offered.
 */
export function keyWithForeignSecret(certPem: string, donor: forge.pki.rsa.PrivateKey): string {
  const publicKey = forge.pki.certificateFromPem(certPem).publicKey as forge.pki.rsa.PublicKey;
  if (publicKey.n.equals(donor.n)) throw new Error('keyWithForeignSecret: the donor key is the certificate\'s own key');
  const forged = forge.pki.setRsaPrivateKey(publicKey.n, publicKey.e, donor.d, donor.p, donor.q, donor.dP, donor.dQ, donor.qInv);
  return forge.pki.privateKeyToPem(forged);
}
