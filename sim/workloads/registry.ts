// A docker-registry-like backend and a pulling client, for tunnel scenarios:
// the registry serves a manifest and blobs by sha256 digest (Docker Registry
// HTTP API v2 paths); the client pulls the manifest, then every blob, and
// checks each blob's digest. Its ledger says, per pull, whether every byte
// arrived intact, or the pull failed, or (the bug the scenarios exist to
// catch) a blob arrived complete but wrong.
import { createHash } from 'node:crypto';
import type { Platform } from '../../src/runtime/platform/types.js';
import { httpRequest, serveHttp, type HttpServer, type HttpServerResponse } from '../../src/runtime/net/http1/index.js';
import { failureState } from './http-outcome.js';

export interface Blob {
  digest: string;
  bytes: Buffer;
}

export interface RegistryImage {
  name: string;
  blobs: Blob[];
}

/** Blob contents from the platform's seeded random: the same seed gives the same image. */
export function makeImage(platform: Platform, name: string, blobSizes: readonly number[]): RegistryImage {
  const blobs = blobSizes.map((size) => {
    const bytes = platform.random.bytes(size);
    return { digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, bytes };
  });
  return { name, blobs };
}

/** GET /v2/, /v2/<name>/manifests/latest (JSON listing the layers) and /v2/<name>/blobs/<digest>. */
export function serveRegistry(platform: Platform, port: number, images: readonly RegistryImage[]): Promise<HttpServer> {
  const byName = new Map(images.map((image) => [image.name, image]));
  return serveHttp(platform, { host: '0.0.0.0', port }, async (request): Promise<HttpServerResponse> => {
    if (request.method !== 'GET') return { status: 405, body: 'method not allowed\n' };
    if (request.path === '/v2/') return { status: 200, headers: { 'content-type': 'application/json' }, body: '{}' };
    const match = /^\/v2\/([a-z0-9._/-]+)\/(manifests\/latest|blobs\/(sha256:[0-9a-f]{64}))$/.exec(request.path);
    const image = match === null ? undefined : byName.get(match[1] as string);
    if (match === null || image === undefined) return { status: 404, body: 'not found\n' };
    if (match[3] === undefined) {
      const manifest = { schemaVersion: 2, layers: image.blobs.map((blob) => ({ digest: blob.digest, size: blob.bytes.length })) };
      return { status: 200, headers: { 'content-type': 'application/vnd.docker.distribution.manifest.v2+json' }, body: JSON.stringify(manifest) };
    }
    const blob = image.blobs.find((candidate) => candidate.digest === match[3]);
    if (blob === undefined) return { status: 404, body: 'blob unknown\n' };
    return { status: 200, headers: { 'content-type': 'application/octet-stream', 'docker-content-digest': blob.digest }, body: blob.bytes };
  });
}

/**
 * 'truncated': an answer ended cleanly (a FIN, no error) before it was
 * complete. Through a tunnel that must never truncate silently, that is a
 * bug unless the backend itself stopped mid-answer.
 */
export type PullState = 'ok' | 'failed' | 'truncated' | 'corrupt';

export interface PullRecord {
  client: string;
  image: string;
  startedAtMs: number;
  endedAtMs: number;
  state: PullState;
  blobs: number;
  bytes: number;
  detail: string;
}

/** A pull: the manifest, then each blob in turn, each digest checked. A failed request fails the pull; a wrong blob is corruption. */
export async function pullImage(platform: Platform, options: { client: string; image: string; host: string; port: number; timeoutMs: number; runStartMs: number }): Promise<PullRecord> {
  const startedAtMs = platform.clock.now() - options.runStartMs;
  const record = (state: PullState, blobs: number, bytes: number, detail: string): PullRecord => ({
    client: options.client,
    image: options.image,
    startedAtMs,
    endedAtMs: platform.clock.now() - options.runStartMs,
    state,
    blobs,
    bytes,
    detail,
  });
  const get = (path: string): ReturnType<typeof httpRequest> => httpRequest(platform, { host: options.host, port: options.port, method: 'GET', path, timeoutMs: options.timeoutMs });
  let layers: { digest: string; size: number }[];
  try {
    const manifest = await get(`/v2/${options.image}/manifests/latest`);
    if (manifest.status !== 200) return record('failed', 0, 0, `manifest: HTTP ${manifest.status}`);
    layers = (JSON.parse(manifest.body.toString('utf8')) as { layers: { digest: string; size: number }[] }).layers;
  } catch (error) {
    return record(failureState(error), 0, 0, `manifest: ${(error as Error).message}`);
  }
  let bytes = 0;
  for (const [index, layer] of layers.entries()) {
    let body: Buffer;
    try {
      const response = await get(`/v2/${options.image}/blobs/${layer.digest}`);
      if (response.status !== 200) return record('failed', index, bytes, `blob ${index}: HTTP ${response.status}`);
      body = response.body;
    } catch (error) {
      return record(failureState(error), index, bytes, `blob ${index}: ${(error as Error).message}`);
    }
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    // A complete answer with the wrong bytes got past every framing check: the one outcome that is a bug.
    if (digest !== layer.digest || body.length !== layer.size) return record('corrupt', index, bytes, `blob ${index}: ${body.length} bytes with digest ${digest}, expected ${layer.size} bytes ${layer.digest}`);
    bytes += body.length;
  }
  return record('ok', layers.length, bytes, `${layers.length} blobs, ${bytes} bytes verified`);
}
