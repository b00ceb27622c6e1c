// The kubelet stand-in's pure parts: the objects it writes, its command line,
// and its registration backoff.
import { describe, expect, it } from 'vitest';
import { KubeletArgsError, nodeLeaseObject, nodeObject, parseKubeletArgs } from '../src/runtime/kube/kubelet.js';
import { fullJitterDelayMs, REGISTER_BACKOFF } from '../src/runtime/kube/kubelet/backoff.js';
import { decodeObjectRequest } from '../src/runtime/kube/apiserver/objects.js';
import { LEASES, NODES } from '../src/runtime/kube/apiserver/resources.js';
import type { Random } from '../src/runtime/platform/types.js';

describe('the kubelet stand-in', () => {
  it('writes a Lease the apiserver accepts: held by the node, 40 s, renewed now', () => {
    const lease = nodeLeaseObject({ nodeName: 'w1', renewTimeMs: Date.UTC(2026, 0, 2, 3, 4, 5, 678) });
    expect(lease).toEqual({
      kind: 'Lease',
      apiVersion: 'coordination.k8s.io/v1',
      metadata: { name: 'w1', namespace: 'kube-node-lease' },
      spec: { holderIdentity: 'w1', leaseDurationSeconds: 40, renewTime: '2026-01-02T03:04:05.678000Z' },
    });
    expect(decodeObjectRequest(LEASES, Buffer.from(JSON.stringify(lease)), 'w1').object.spec).toEqual(lease.spec);
    expect(decodeObjectRequest(NODES, Buffer.from(JSON.stringify(nodeObject('w1'))), undefined).object.metadata).toEqual({ name: 'w1' });
  });

  it('reads its command line and refuses a bad one with a stable code', () => {
    expect(parseKubeletArgs(['--apiserver', '198.18.0.10:443', '--node', 'w1'])).toEqual({ apiserver: { host: '198.18.0.10', port: 443 }, nodeName: 'w1', leaseRenewIntervalMs: 10_000 });
    expect(parseKubeletArgs(['--apiserver', '198.18.0.10:443', '--node', 'w1', '--lease-renew-interval-ms', '2500']).leaseRenewIntervalMs).toBe(2_500);
    const bad = [
      ['--node', 'w1'],
      ['--apiserver', '198.18.0.10:443'],
      ['--apiserver', '198.18.0.10', '--node', 'w1'],
      ['--apiserver', '198.18.0.10:443', '--node', 'W1'],
      ['--apiserver', '198.18.0.10:443', '--node', 'w1', '--lease-renew-interval-ms', '10'],
      ['--apiserver', '198.18.0.10:443', '--node', 'w1', '--lease-renew-interval-ms', '1e4'],
      ['--apiserver', '198.18.0.10:443', '--node', 'w1', '--verbose'],
    ];
    for (const args of bad) {
      expect(() => parseKubeletArgs(args), args.join(' ')).toThrow(KubeletArgsError);
      expect(() => parseKubeletArgs(args)).toThrow(/^ERR_KUBELET_ARGS: /);
    }
  });

  it('backs off with full jitter under a ceiling that doubles up to 7 s', () => {
    const highest = { float: () => 0.999_999 } as Random;
    const lowest = { float: () => 0 } as Random;
    expect([0, 1, 2, 3, 6, 7, 1_000].map((attempt) => fullJitterDelayMs(attempt, REGISTER_BACKOFF, highest))).toEqual([99, 199, 399, 799, 6_399, 6_999, 6_999]);
    expect(fullJitterDelayMs(5, REGISTER_BACKOFF, lowest)).toBe(0);
  });
});
