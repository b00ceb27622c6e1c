// Assertions shared by the real-socket tunnel tests (comms-real,
// haproxy-interop): bounded polling, and "every blob arrives whole" through a
// local port. Kept apart from tunnel-lab.ts, which the bench also uses and so
// must not depend on vitest.
import { expect } from 'vitest';
import { LAB_SNI, fetchBlob, type BlobFetch, type LabBlob } from './tunnel-lab.js';

/** Blobs: a byte, two sizes that straddle TLS records and TCP buffers, and a 4 MiB layer. */
export const TEST_BLOB_SIZES = [1, 65_536 + 3, 1024 * 1024 + 7, 4 * 1024 * 1024 + 13];
export const TEST_UPLOAD_BYTES = 4 * 1024 * 1024 + 5;
export const TEST_PROXY_USER = { username: 'lab', password: 'p@ss:word' };
/** Short, so a lost request fails a case in seconds (the backend closes), not at the exchange's bound. */
export const TEST_BACKEND_HEAD_TIMEOUT_MS = 2_000;
/**
 * comms' limits in these tests: quick retries. A DU that sends TLS 1.3 tickets
 * (ours, haproxy) means comms never waits serverConfirmTimeoutMs through the
 * proxy; it bounds the fallback if it did.
 */
export const TEST_COMMS_LIMITS = { serverConfirmTimeoutMs: 2_000, idleTimeoutMs: 30_000, dialAttemptsMax: 3, backoffBaseMs: 50, backoffCapMs: 200 };
/** comms' services: two the DU routes, one it does not. */
export const TEST_SERVICES = [
  { name: 'registry', sni: LAB_SNI.registry },
  { name: 'api', sni: LAB_SNI.api },
  { name: 'unrouted', sni: LAB_SNI.unrouted },
];

const POLL_MS = 20;

/** Waits (bounded) until `condition` holds; on timeout the error says what, and what `context` adds (a peer's output). */
export async function until(condition: () => boolean, what: string, options: { timeoutMs?: number; context?: () => string } = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  for (let waitedMs = 0; !condition(); waitedMs += POLL_MS) {
    if (waitedMs >= timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${what}${options.context === undefined ? '' : `\n${options.context()}`}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** Fetches every blob through `port`, one after the other, then all at once; each must be whole, with its digest, and end cleanly. */
export async function fetchEveryBlob(port: number, blobs: readonly LabBlob[]): Promise<BlobFetch[]> {
  const check = (fetched: BlobFetch, blob: LabBlob): BlobFetch => {
    expect({
      status: fetched.status, contentLength: fetched.contentLength, bytes: fetched.body.length, digest: fetched.digest,
      ended: fetched.exchange.ended, error: fetched.exchange.errorCode,
    }).toEqual({ status: 200, contentLength: blob.bytes.length, bytes: blob.bytes.length, digest: blob.digest, ended: true, error: undefined });
    return fetched;
  };
  const fetches: BlobFetch[] = [];
  for (const blob of blobs) fetches.push(check(await fetchBlob(port, blob.digest), blob));
  fetches.push(...(await Promise.all(blobs.map(async (blob) => check(await fetchBlob(port, blob.digest), blob)))));
  return fetches;
}

/** The bytes the clients sent and received, summed over fetches. */
export function wireBytes(fetches: readonly BlobFetch[]): { up: number; down: number } {
  return {
    up: fetches.reduce((sum, fetched) => sum + fetched.requestBytes, 0),
    down: fetches.reduce((sum, fetched) => sum + fetched.exchange.received.length, 0),
  };
}
