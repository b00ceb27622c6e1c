// Assertions shared by the real-socket tunnel tests (comms-real,
// haproxy-interop): bounded polling, and "every blob arrives whole" through a
// local port. Kept apart from tunnel-lab.ts, which the bench also uses and so
// must not depend on vitest.
import { expect } from 'vitest';
import { fetchBlob, type BlobFetch, type LabBlob } from './tunnel-lab.js';

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
