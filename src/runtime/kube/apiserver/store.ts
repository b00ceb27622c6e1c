// Nodes and leases in etcd, with the real apiserver's storage semantics
// (k8s.io/apiserver/pkg/storage/etcd3): create is a txn "create if absent";
// update reads the object and writes it back with a compare on the mod
// revision it read (GuaranteedUpdate), so a client's resourceVersion is a
// compare-and-swap and server-owned fields (creationTimestamp) survive; every
// read is linearizable, so a minority-side apiserver cannot serve stale data.
import type { Clock } from '../../platform/types.js';
import type { EtcdClient } from '../../etcd/client.js';
import { prefixRangeEnd, type KeyValue } from '../../etcd/api/index.js';
import { formatRfc3339 } from '../rfc3339.js';
import { apiErrorOfEtcd } from './etcd-errors.js';
import { decodeStored, encodeStored, servedObject, tombstone, withResourceVersion, type KubeObject, type ObjectRequest } from './objects.js';
import { keyOf, type ResourceKind } from './resources.js';
import { ApiError } from './status.js';

/** Objects in one list, at most: the stand-in does not paginate, and says so rather than answer partly. */
export const LIST_ITEMS_MAX = 5_000;
/** Read-then-compare rounds of one unconditional update before it gives up under contention. */
export const UPDATE_ATTEMPTS_MAX = 5;

export interface ObjectList {
  items: KubeObject[];
  /** The etcd revision the list was read at: watch from here to miss nothing. */
  revision: number;
}

export class ObjectStore {
  constructor(
    private readonly etcd: EtcdClient,
    private readonly clock: Clock,
  ) {}

  async get(resource: ResourceKind, name: string): Promise<KubeObject> {
    const kv = await this.read(resource, name);
    if (kv === undefined) throw notFound(resource, name);
    return decodeStored(resource, kv);
  }

  async list(resource: ResourceKind): Promise<ObjectList> {
    const response = await this.call(`list ${resource.resource}`, () =>
      this.etcd.request({ type: 'range', key: resource.keyPrefix, rangeEnd: prefixRangeEnd(resource.keyPrefix), limit: LIST_ITEMS_MAX }),
    );
    if (response.more) throw new ApiError('InternalError', `more than ${LIST_ITEMS_MAX} ${resource.resource}: this apiserver does not paginate`);
    return { items: response.kvs.map((kv) => decodeStored(resource, kv)), revision: response.header.revision };
  }

  async create(resource: ResourceKind, request: ObjectRequest): Promise<KubeObject> {
    if (request.resourceVersion !== undefined) throw new ApiError('BadRequest', 'resourceVersion should not be set on objects to be created');
    const created = await this.createIfAbsent(resource, request.object);
    if (created === undefined) throw new ApiError('AlreadyExists', `${resource.resource} "${request.object.metadata.name}" already exists`);
    return created;
  }

  /**
   * With a resourceVersion: applies only if the object is still at that
   * revision (409 Conflict otherwise). Without: applies to whatever is
   * there, retrying the compare when a concurrent write slips in between.
   */
  async update(resource: ResourceKind, request: ObjectRequest): Promise<{ object: KubeObject; created: boolean }> {
    const name = request.object.metadata.name;
    for (let attempt = 0; attempt < UPDATE_ATTEMPTS_MAX; attempt++) {
      const current = await this.read(resource, name);
      if (current === undefined) {
        if (!resource.allowCreateOnUpdate) throw notFound(resource, name);
        // The version the client saw is gone: a compare-and-swap against it must fail.
        if (request.resourceVersion !== undefined) throw conflict(resource, name);
        const created = await this.createIfAbsent(resource, request.object);
        if (created !== undefined) return { object: created, created: true };
        continue;
      }
      if (request.resourceVersion !== undefined && current.modRevision !== request.resourceVersion) throw conflict(resource, name);
      const updated = await this.replaceAt(resource, request.object, current);
      if (updated !== undefined) return { object: updated, created: false };
      if (request.resourceVersion !== undefined) throw conflict(resource, name);
    }
    throw new ApiError('Conflict', `Operation cannot be fulfilled on ${resource.resource} "${name}": still changing after ${UPDATE_ATTEMPTS_MAX} attempts`);
  }

  /** The deleted object, at the revision of its deletion (as the real apiserver returns it). */
  async remove(resource: ResourceKind, name: string): Promise<KubeObject> {
    const key = keyOf(resource, name);
    const response = await this.call(`delete ${resource.resource} "${name}"`, () => this.etcd.request({ type: 'deleteRange', key, prevKv: true }));
    if (response.deleted === 0) throw notFound(resource, name);
    const previous = response.prevKvs[0];
    const object = previous === undefined ? tombstone(resource, key, response.header.revision) : decodeStored(resource, previous);
    return withResourceVersion(object, response.header.revision);
  }

  private async read(resource: ResourceKind, name: string): Promise<KeyValue | undefined> {
    const response = await this.call(`get ${resource.resource} "${name}"`, () => this.etcd.request({ type: 'range', key: keyOf(resource, name) }));
    return response.kvs[0];
  }

  /** The stored object, or undefined when the key already existed. */
  private async createIfAbsent(resource: ResourceKind, object: KubeObject): Promise<KubeObject | undefined> {
    const name = object.metadata.name;
    const key = keyOf(resource, name);
    const creationTimestamp = formatRfc3339(this.clock.now());
    const value = encodeStored(object, creationTimestamp);
    const response = await this.call(`create ${resource.resource} "${name}"`, () =>
      this.etcd.request({ type: 'txn', compare: [{ key, target: 'CREATE', result: 'EQUAL', createRevision: 0 }], success: [{ type: 'put', key, value }], failure: [] }),
    );
    if (!response.succeeded) return undefined;
    return servedObject(resource, object, creationTimestamp, response.header.revision);
  }

  /** The stored object, or undefined when the key is no longer at `current`'s revision. */
  private async replaceAt(resource: ResourceKind, object: KubeObject, current: KeyValue): Promise<KubeObject | undefined> {
    const name = object.metadata.name;
    const key = keyOf(resource, name);
    const creationTimestamp = decodeStored(resource, current).metadata.creationTimestamp ?? formatRfc3339(this.clock.now());
    const value = encodeStored(object, creationTimestamp);
    const response = await this.call(`update ${resource.resource} "${name}"`, () =>
      this.etcd.request({ type: 'txn', compare: [{ key, target: 'MOD', result: 'EQUAL', modRevision: current.modRevision }], success: [{ type: 'put', key, value }], failure: [] }),
    );
    if (!response.succeeded) return undefined;
    return servedObject(resource, object, creationTimestamp, response.header.revision);
  }

  private async call<T>(what: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw apiErrorOfEtcd(error, what);
    }
  }
}

function notFound(resource: ResourceKind, name: string): ApiError {
  return new ApiError('NotFound', `${resource.resource} "${name}" not found`);
}

function conflict(resource: ResourceKind, name: string): ApiError {
  return new ApiError('Conflict', `Operation cannot be fulfilled on ${resource.resource} "${name}": the object has been modified; please apply your changes to the latest version and try again`);
}
