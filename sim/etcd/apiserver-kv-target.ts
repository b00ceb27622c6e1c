// The history clients' view of the cluster through the apiserver stand-in, as
// the clients write "through each apiserver": each key is a node
// Lease, its value the lease's holderIdentity.
//
//   put     PUT the lease (the apiserver creates or replaces it)
//   get     GET it: holderIdentity, or null on 404
//   delete  DELETE it: 1, or 0 on 404
//   cas     expected null: POST (create, 409 if it exists); otherwise PUT with
//           the resourceVersion of the read that saw `expected`. Values are
//           unique per write, so "unchanged since that read" is "still holds
//           expected", which is the register's compare-and-swap.
//
// Outcomes: 503 means etcd said the write certainly failed, 504 that its
// outcome is unknown (src/runtime/kube/apiserver/etcd-errors.ts); a refused
// connection did nothing; anything else after sending may have happened.
import type { Platform } from '../../src/runtime/platform/types.js';
import { HttpError, httpRequest } from '../../src/runtime/net/http1/index.js';
import type { KvValue } from './linearizability/index.js';
import type { KvTarget } from '../workloads/kv-history.js';

const LEASES = '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases';
/** Reads remembered for compare-and-swap, at most (a client reads just before it swaps). */
const REMEMBERED_READS_MAX = 64;

class ApiOutcomeError extends Error {
  constructor(
    readonly outcome: 'failed' | 'unknown',
    message: string,
  ) {
    super(message);
  }
}

interface LeaseObject {
  metadata?: { resourceVersion?: string };
  spec?: { holderIdentity?: string };
}

export function apiserverKvTarget(platform: Platform, endpoint: { host: string; port: number }, timeoutMs: number): KvTarget {
  const seen = new Map<string, string>();
  const nameOf = (key: string): string => key.replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> => {
    try {
      const response = await httpRequest(platform, {
        ...endpoint,
        method,
        path,
        ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
        timeoutMs,
      });
      const text = response.body.toString('utf8');
      return { status: response.status, json: text === '' ? undefined : (JSON.parse(text) as unknown) };
    } catch (error) {
      const refused = error instanceof HttpError && error.code === 'ERR_HTTP_CONNECT';
      throw new ApiOutcomeError(refused || method === 'GET' ? 'failed' : 'unknown', `${method} ${path}: ${(error as Error).message}`);
    }
  };
  const fail = (method: string, path: string, status: number): never => {
    // A read never changes anything; a write is certainly undone only on 503 (and on a refusal: 4xx).
    const outcome = method === 'GET' || status === 503 || (status >= 400 && status < 500) ? 'failed' : 'unknown';
    throw new ApiOutcomeError(outcome, `${method} ${path}: HTTP ${status}`);
  };
  const lease = (key: string, value: string, resourceVersion?: string): unknown => ({
    kind: 'Lease',
    apiVersion: 'coordination.k8s.io/v1',
    metadata: { name: nameOf(key), namespace: 'kube-node-lease', ...(resourceVersion === undefined ? {} : { resourceVersion }) },
    spec: { holderIdentity: value },
  });
  const remember = (key: string, value: KvValue, resourceVersion: string | undefined): void => {
    if (seen.size >= REMEMBERED_READS_MAX) seen.delete(seen.keys().next().value as string);
    if (value !== null && resourceVersion !== undefined) seen.set(`${key}\n${value}`, resourceVersion);
  };
  return {
    put: async (key, value) => {
      const path = `${LEASES}/${nameOf(key)}`;
      const { status } = await call('PUT', path, lease(key, value));
      if (status !== 200 && status !== 201) fail('PUT', path, status);
    },
    get: async (key) => {
      const path = `${LEASES}/${nameOf(key)}`;
      const { status, json } = await call('GET', path);
      if (status === 404) return null;
      if (status !== 200) fail('GET', path, status);
      const object = json as LeaseObject;
      const value = object.spec?.holderIdentity ?? null;
      remember(key, value, object.metadata?.resourceVersion);
      return value;
    },
    delete: async (key) => {
      const path = `${LEASES}/${nameOf(key)}`;
      const { status } = await call('DELETE', path);
      if (status === 404) return 0;
      if (status !== 200) fail('DELETE', path, status);
      return 1;
    },
    cas: async (key, expected, value) => {
      if (expected === null) {
        const { status } = await call('POST', LEASES, lease(key, value));
        if (status === 409) return false;
        if (status !== 201) fail('POST', LEASES, status);
        return true;
      }
      const resourceVersion = seen.get(`${key}\n${expected}`);
      if (resourceVersion === undefined) throw new ApiOutcomeError('failed', `cas on ${key}: no read saw ${expected}`);
      const path = `${LEASES}/${nameOf(key)}`;
      const { status } = await call('PUT', path, lease(key, value, resourceVersion));
      if (status === 409) return false;
      if (status !== 200) fail('PUT', path, status);
      return true;
    },
  };
}
