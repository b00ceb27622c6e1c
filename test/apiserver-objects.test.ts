// The apiserver's pure parts: routing, request bodies, stored and served
// objects, watch events, and the timestamps runtime code formats without Date.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseRoute, WATCH_DURATION_MS_MAX } from '../src/runtime/kube/apiserver/routes.js';
import { decodeObjectRequest, decodeStored, encodeStored } from '../src/runtime/kube/apiserver/objects.js';
import { LEASES, NODES } from '../src/runtime/kube/apiserver/resources.js';
import { ApiError } from '../src/runtime/kube/apiserver/status.js';
import { watchEventOf } from '../src/runtime/kube/apiserver/watch.js';
import { parseApiserverArgs } from '../src/runtime/kube/apiserver/args.js';
import { formatMicroTime, formatRfc3339, isRfc3339 } from '../src/runtime/kube/rfc3339.js';
import type { KeyValue } from '../src/runtime/etcd/api/index.js';

function reasonOf(thunk: () => unknown): string {
  try {
    thunk();
  } catch (error) {
    if (error instanceof ApiError) return `${error.code} ${error.reason}`;
    throw error;
  }
  return 'no error';
}

const body = (value: unknown): Buffer => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));

function kv(key: string, value: unknown, modRevision: number, version = 1): KeyValue {
  return { key, value: Buffer.from(JSON.stringify(value)).toString('latin1'), createRevision: modRevision - version + 1, modRevision, version, lease: '0' };
}

describe('routes', () => {
  it('maps paths and verbs to what is asked', () => {
    expect(parseRoute('GET', '/healthz')).toEqual({ kind: 'healthz' });
    expect(parseRoute('GET', '/version')).toEqual({ kind: 'version' });
    expect(parseRoute('GET', '/api/v1/nodes')).toEqual({ kind: 'list', resource: NODES });
    expect(parseRoute('POST', '/api/v1/nodes')).toEqual({ kind: 'create', resource: NODES });
    expect(parseRoute('GET', '/api/v1/nodes/w1')).toEqual({ kind: 'get', resource: NODES, name: 'w1' });
    expect(parseRoute('PUT', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/w1')).toEqual({ kind: 'update', resource: LEASES, name: 'w1' });
    expect(parseRoute('DELETE', '/api/v1/nodes/m1.example')).toEqual({ kind: 'delete', resource: NODES, name: 'm1.example' });
    expect(parseRoute('GET', '/api/v1/nodes?watch=1')).toEqual({ kind: 'watch', resource: NODES, resourceVersion: undefined, durationMs: WATCH_DURATION_MS_MAX });
    expect(parseRoute('GET', '/api/v1/nodes?watch=true&resourceVersion=42&timeoutSeconds=30')).toEqual({ kind: 'watch', resource: NODES, resourceVersion: 42, durationMs: 30_000 });
    expect(parseRoute('GET', '/api/v1/nodes?watch=1&resourceVersion=0')).toMatchObject({ resourceVersion: undefined });
    expect(parseRoute('GET', '/api/v1/nodes?watch=1&timeoutSeconds=999999')).toMatchObject({ durationMs: WATCH_DURATION_MS_MAX });
    expect(parseRoute('GET', '/api/v1/nodes?watch=0')).toEqual({ kind: 'list', resource: NODES });
  });

  it('refuses what it does not serve with the Kubernetes reason', () => {
    expect(reasonOf(() => parseRoute('GET', '/api/v1/pods'))).toBe('404 NotFound');
    expect(reasonOf(() => parseRoute('GET', '/api/v1/nodes/'))).toBe('404 NotFound');
    expect(reasonOf(() => parseRoute('GET', '/api/v1/nodes/w1/status'))).toBe('404 NotFound');
    expect(reasonOf(() => parseRoute('GET', '/apis/coordination.k8s.io/v1/namespaces/default/leases'))).toBe('404 NotFound');
    expect(reasonOf(() => parseRoute('GET', '/api/v1/nodes/%2e%2e'))).toBe('400 BadRequest');
    expect(reasonOf(() => parseRoute('GET', '/api/v1/nodes/W1'))).toBe('400 BadRequest');
    expect(reasonOf(() => parseRoute('GET', `/api/v1/nodes/${'a'.repeat(254)}`))).toBe('400 BadRequest');
    expect(reasonOf(() => parseRoute('GET', `/api/v1/nodes?${'x'.repeat(3000)}`))).toBe('400 BadRequest');
    expect(reasonOf(() => parseRoute('GET', '/api/v1/nodes?watch=1&resourceVersion=-1'))).toBe('400 BadRequest');
    expect(reasonOf(() => parseRoute('GET', '/api/v1/nodes?watch=1&timeoutSeconds=0'))).toBe('400 BadRequest');
    expect(reasonOf(() => parseRoute('PUT', '/api/v1/nodes'))).toBe('405 MethodNotAllowed');
    expect(reasonOf(() => parseRoute('POST', '/api/v1/nodes/w1'))).toBe('405 MethodNotAllowed');
    expect(reasonOf(() => parseRoute('DELETE', '/healthz'))).toBe('405 MethodNotAllowed');
  });

  it('never throws anything but an ApiError, whatever the request line', () => {
    fc.assert(
      fc.property(fc.constantFrom('GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'HEAD'), fc.string({ maxLength: 300 }), fc.constantFrom('', '/api/v1/nodes', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases'), (method, tail, base) => {
        try {
          parseRoute(method, base + tail);
        } catch (error) {
          expect(error).toBeInstanceOf(ApiError);
        }
      }),
    );
  });
});

describe('request bodies', () => {
  it('takes a node, filling in kind and apiVersion, keeping spec and status, dropping what the server owns', () => {
    const request = decodeObjectRequest(NODES, body({ metadata: { name: 'w1', creationTimestamp: '1999-01-01T00:00:00Z', uid: 'x' }, spec: { podCIDR: '10.0.0.0/24' }, status: { phase: 'Ready' }, extra: 1 }), undefined);
    expect(request).toEqual({ object: { kind: 'Node', apiVersion: 'v1', metadata: { name: 'w1' }, spec: { podCIDR: '10.0.0.0/24' }, status: { phase: 'Ready' } }, resourceVersion: undefined });
  });

  it('reads resourceVersion for compare-and-swap and takes the name from the URL when the body has none', () => {
    expect(decodeObjectRequest(LEASES, body({ metadata: { resourceVersion: '17' } }), 'w1')).toEqual({
      object: { kind: 'Lease', apiVersion: 'coordination.k8s.io/v1', metadata: { name: 'w1', namespace: 'kube-node-lease' } },
      resourceVersion: 17,
    });
  });

  it('refuses malformed or mismatched bodies with 400 BadRequest', () => {
    const bad: [unknown, string | undefined][] = [
      ['{', undefined],
      ['null', undefined],
      ['"node"', undefined],
      [[], undefined],
      [{}, undefined],
      [{ metadata: [] }, undefined],
      [{ metadata: { name: 7 } }, undefined],
      [{ metadata: { name: '-w1' } }, undefined],
      [{ kind: 'Lease', metadata: { name: 'w1' } }, undefined],
      [{ apiVersion: 'v2', metadata: { name: 'w1' } }, undefined],
      [{ metadata: { name: 'w1', namespace: 'kube-system' } }, undefined],
      [{ metadata: { name: 'w1', resourceVersion: 5 } }, undefined],
      [{ metadata: { name: 'w1', resourceVersion: '05' } }, undefined],
      [{ metadata: { name: 'w1' }, status: [1] }, undefined],
      [{ metadata: { name: 'w2' } }, 'w1'],
    ];
    for (const [value, urlName] of bad) expect(reasonOf(() => decodeObjectRequest(NODES, body(value), urlName)), JSON.stringify(value)).toBe('400 BadRequest');
    const deep = JSON.parse(`${'{"a":'.repeat(40)}1${'}'.repeat(40)}`) as unknown;
    expect(reasonOf(() => decodeObjectRequest(NODES, body({ metadata: { name: 'w1' }, spec: deep }), undefined))).toBe('400 BadRequest');
    for (const spec of [{ holderIdentity: 3 }, { leaseDurationSeconds: -1 }, { leaseDurationSeconds: 1.5 }, { renewTime: 'now' }, { acquireTime: 0 }]) {
      expect(reasonOf(() => decodeObjectRequest(LEASES, body({ metadata: { name: 'w1' }, spec }), undefined)), JSON.stringify(spec)).toBe('400 BadRequest');
    }
    expect(reasonOf(() => decodeObjectRequest(LEASES, body({ metadata: { name: 'w1', namespace: 'default' } }), undefined))).toBe('400 BadRequest');
  });

  it('never throws anything but an ApiError, whatever the body', () => {
    fc.assert(
      fc.property(fc.oneof(fc.json(), fc.string()), (text) => {
        try {
          decodeObjectRequest(LEASES, Buffer.from(text), 'w1');
        } catch (error) {
          expect(error).toBeInstanceOf(ApiError);
        }
      }),
    );
  });
});

describe('stored and served objects', () => {
  it('stores without resourceVersion and serves with the mod revision', () => {
    const { object } = decodeObjectRequest(LEASES, body({ metadata: { name: 'w1' }, spec: { holderIdentity: 'w1' } }), undefined);
    const stored = encodeStored(object, '2026-01-01T00:00:00Z');
    expect(JSON.parse(stored)).toEqual({ kind: 'Lease', apiVersion: 'coordination.k8s.io/v1', metadata: { name: 'w1', namespace: 'kube-node-lease', creationTimestamp: '2026-01-01T00:00:00Z' }, spec: { holderIdentity: 'w1' } });
    const served = decodeStored(LEASES, { key: '/registry/leases/kube-node-lease/w1', value: stored, createRevision: 5, modRevision: 9, version: 3, lease: '0' });
    expect(served.metadata).toEqual({ name: 'w1', namespace: 'kube-node-lease', resourceVersion: '9', creationTimestamp: '2026-01-01T00:00:00Z' });
  });

  it('keeps text outside ASCII intact through etcd byte strings', () => {
    const { object } = decodeObjectRequest(NODES, body({ metadata: { name: 'w1' }, status: { note: 'nœud ✓' } }), undefined);
    const served = decodeStored(NODES, { key: '/registry/minions/w1', value: encodeStored(object, '2026-01-01T00:00:00Z'), createRevision: 2, modRevision: 2, version: 1, lease: '0' });
    expect(served.status).toEqual({ note: 'nœud ✓' });
  });

  it('reports a corrupt stored object as a 500, not a crash', () => {
    expect(reasonOf(() => decodeStored(NODES, { key: '/registry/minions/w1', value: 'not json', createRevision: 2, modRevision: 2, version: 1, lease: '0' }))).toBe('500 InternalError');
    expect(reasonOf(() => decodeStored(NODES, kv('/registry/minions/w1', [1, 2], 2)))).toBe('500 InternalError');
  });

  it('turns etcd events into watch events', () => {
    const stored = { kind: 'Node', apiVersion: 'v1', metadata: { name: 'w1', creationTimestamp: '2026-01-01T00:00:00Z' } };
    expect(watchEventOf(NODES, { type: 'PUT', kv: kv('/registry/minions/w1', stored, 4) })).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'w1', resourceVersion: '4' } } });
    expect(watchEventOf(NODES, { type: 'PUT', kv: kv('/registry/minions/w1', stored, 6, 2) })).toMatchObject({ type: 'MODIFIED', object: { metadata: { resourceVersion: '6' } } });
    const gone: KeyValue = { key: '/registry/minions/w1', value: '', createRevision: 0, modRevision: 8, version: 0, lease: '0' };
    expect(watchEventOf(NODES, { type: 'DELETE', kv: gone, prevKv: kv('/registry/minions/w1', stored, 6, 2) })).toMatchObject({
      type: 'DELETED',
      object: { metadata: { name: 'w1', resourceVersion: '8', creationTimestamp: '2026-01-01T00:00:00Z' } },
    });
    expect(watchEventOf(NODES, { type: 'DELETE', kv: gone })).toEqual({ type: 'DELETED', object: { kind: 'Node', apiVersion: 'v1', metadata: { name: 'w1', resourceVersion: '8' } } });
  });
});

describe('apiserver arguments', () => {
  const listen = { host: '0.0.0.0', port: 443 };
  it('defaults to no etcd on 0.0.0.0:443, and reads --etcd and --listen', () => {
    expect(parseApiserverArgs([], listen)).toEqual({ etcd: undefined, listen });
    expect(parseApiserverArgs(['--etcd', '127.0.0.1:2379', '--listen', '127.0.0.1:8443'], listen)).toEqual({ etcd: { host: '127.0.0.1', port: 2379 }, listen: { host: '127.0.0.1', port: 8443 } });
  });
  it('refuses what it cannot use, with a stable code', () => {
    for (const args of [['--etcd'], ['--etcd', '127.0.0.1'], ['--etcd', '127.0.0.1:0'], ['--listen', ':443'], ['--etc', 'x:1'], ['stray']]) {
      expect(() => parseApiserverArgs(args, listen), args.join(' ')).toThrow(/^ERR_APISERVER_ARGS: /);
    }
  });
});

describe('timestamps without Date', () => {
  it('formats RFC 3339 seconds and microseconds as Date would', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 253_402_300_799_999 }), (epochMs) => {
        const iso = new Date(epochMs).toISOString();
        expect(formatRfc3339(epochMs)).toBe(`${iso.slice(0, 19)}Z`);
        expect(formatMicroTime(epochMs)).toBe(`${iso.slice(0, 23)}000Z`);
        expect(isRfc3339(formatMicroTime(epochMs))).toBe(true);
      }),
    );
    expect(formatRfc3339(951_782_400_000)).toBe('2000-02-29T00:00:00Z');
    expect(formatMicroTime(0)).toBe('1970-01-01T00:00:00.000000Z');
  });
});
