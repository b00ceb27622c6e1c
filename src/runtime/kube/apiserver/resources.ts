// The two kinds this stand-in serves, where they live in etcd (the real
// apiserver's keys: nodes are still "minions" there) and what their updates
// may do. Everything else about an object is the same for both.

export interface ResourceKind {
  /** Plural, as in URLs and in error messages ("nodes \"w1\" not found"). */
  readonly resource: 'nodes' | 'leases';
  readonly kind: 'Node' | 'Lease';
  readonly listKind: 'NodeList' | 'LeaseList';
  readonly apiVersion: 'v1' | 'coordination.k8s.io/v1';
  /** The collection's URL path. */
  readonly collectionPath: string;
  /** etcd key of an object: prefix + name. */
  readonly keyPrefix: string;
  /** Set on every object of a namespaced kind. */
  readonly namespace: string | undefined;
  /**
   * A PUT to an absent object creates it. The real apiserver allows it for
   * leases (kubelets recreate theirs) and not for nodes: its strategies say so.
   */
  readonly allowCreateOnUpdate: boolean;
}

export const NODES: ResourceKind = Object.freeze({
  resource: 'nodes',
  kind: 'Node',
  listKind: 'NodeList',
  apiVersion: 'v1',
  collectionPath: '/api/v1/nodes',
  keyPrefix: '/registry/minions/',
  namespace: undefined,
  allowCreateOnUpdate: false,
});

export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

export const LEASES: ResourceKind = Object.freeze({
  resource: 'leases',
  kind: 'Lease',
  listKind: 'LeaseList',
  apiVersion: 'coordination.k8s.io/v1',
  collectionPath: `/apis/coordination.k8s.io/v1/namespaces/${NODE_LEASE_NAMESPACE}/leases`,
  keyPrefix: `/registry/leases/${NODE_LEASE_NAMESPACE}/`,
  namespace: NODE_LEASE_NAMESPACE,
  allowCreateOnUpdate: true,
});

export const RESOURCES: readonly ResourceKind[] = [NODES, LEASES];

/** The etcd key of object `name` (a validated name: ASCII, so its own byte string). */
export function keyOf(resource: ResourceKind, name: string): string {
  return resource.keyPrefix + name;
}

/** The object name in an etcd key under the resource's prefix. */
export function nameOfKey(resource: ResourceKind, key: string): string {
  return key.startsWith(resource.keyPrefix) ? key.slice(resource.keyPrefix.length) : key;
}
