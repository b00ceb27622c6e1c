// The objects a kubelet writes, as pure functions of their inputs: its Node
// at registration, and its Lease in kube-node-lease at every heartbeat
// (k8s.io/component-helpers/apimachinery/lease: holder = node name, duration
// 40 s, renewed every quarter of it).
import { formatMicroTime } from '../rfc3339.js';
import { LEASES, NODE_LEASE_NAMESPACE, NODES } from '../apiserver/resources.js';

export { NODE_LEASE_NAMESPACE };
/** The kubelet's --node-lease-duration-seconds default. */
export const NODE_LEASE_DURATION_S = 40;

export interface NodeObject {
  kind: 'Node';
  apiVersion: 'v1';
  metadata: { name: string };
}

export interface NodeLeaseObject {
  kind: 'Lease';
  apiVersion: 'coordination.k8s.io/v1';
  metadata: { name: string; namespace: typeof NODE_LEASE_NAMESPACE };
  spec: { holderIdentity: string; leaseDurationSeconds: number; renewTime: string };
}

export function nodeObject(nodeName: string): NodeObject {
  return { kind: 'Node', apiVersion: 'v1', metadata: { name: nodeName } };
}

/** The node's heartbeat: held by the node itself, renewed at `renewTimeMs` (platform clock). */
export function nodeLeaseObject(options: { nodeName: string; renewTimeMs: number; leaseDurationSeconds?: number }): NodeLeaseObject {
  return {
    kind: 'Lease',
    apiVersion: 'coordination.k8s.io/v1',
    metadata: { name: options.nodeName, namespace: NODE_LEASE_NAMESPACE },
    spec: {
      holderIdentity: options.nodeName,
      leaseDurationSeconds: options.leaseDurationSeconds ?? NODE_LEASE_DURATION_S,
      renewTime: formatMicroTime(options.renewTimeMs),
    },
  };
}

export const NODES_PATH = NODES.collectionPath;

export function leasePath(nodeName: string): string {
  return `${LEASES.collectionPath}/${nodeName}`;
}
