// Kubernetes-shaped objects: what a client may send, what is stored in etcd,
// and what is served. The stored form has no resourceVersion, as the real
// apiserver's: the version is etcd's mod revision of the key, filled in on
// the way out, so it can never disagree with the store.
import { bytesFromUtf8, utf8FromBytes, type KeyValue } from '../../etcd/api/index.js';
import { isRfc3339 } from '../rfc3339.js';
import { nameProblem } from './names.js';
import { nameOfKey, type ResourceKind } from './resources.js';
import { ApiError } from './status.js';

export type JsonObject = { [key: string]: unknown };

export interface ObjectMeta {
  name: string;
  namespace?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
}

export interface KubeObject {
  kind: string;
  apiVersion: string;
  metadata: ObjectMeta;
  spec?: JsonObject;
  status?: JsonObject;
}

/** What a request body asks to store, and the version it was based on (for compare-and-swap). */
export interface ObjectRequest {
  object: KubeObject;
  resourceVersion: number | undefined;
}

/** Nesting deeper than this is refused before anything walks or re-serializes it recursively. */
const JSON_DEPTH_MAX = 32;

/**
 * Decodes a create (urlName undefined) or update body. Every problem is a
 * 400 BadRequest: the caller sent something this apiserver will not store.
 */
export function decodeObjectRequest(resource: ResourceKind, body: Buffer, urlName: string | undefined): ObjectRequest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw badRequest(`malformed JSON: ${(error as Error).message.slice(0, 200)}`);
  }
  if (!isPlainObject(parsed)) throw badRequest(`the body must be a JSON object (a ${resource.kind})`);
  if (depthExceeds(parsed, JSON_DEPTH_MAX)) throw badRequest(`the body nests deeper than ${JSON_DEPTH_MAX} levels`);
  checkOptionalString(parsed, 'kind', resource.kind);
  checkOptionalString(parsed, 'apiVersion', resource.apiVersion);
  const metadata = parsed['metadata'] ?? {};
  if (!isPlainObject(metadata)) throw badRequest('metadata must be an object');
  const name = decodeName(metadata, urlName);
  const namespace = metadata['namespace'];
  if (namespace !== undefined && namespace !== '' && namespace !== resource.namespace) {
    throw badRequest(resource.namespace === undefined ? `${resource.resource} are not namespaced (metadata.namespace ${JSON.stringify(namespace)})` : `metadata.namespace must be ${resource.namespace}`);
  }
  const object: KubeObject = { kind: resource.kind, apiVersion: resource.apiVersion, metadata: metaOf(resource, name, undefined) };
  for (const part of ['spec', 'status'] as const) {
    const value = parsed[part];
    if (value === undefined || value === null) continue;
    if (!isPlainObject(value)) throw badRequest(`${part} must be an object`);
    object[part] = value;
  }
  if (resource.kind === 'Lease' && object.spec !== undefined) checkLeaseSpec(object.spec);
  return { object, resourceVersion: decodeResourceVersion(metadata['resourceVersion']) };
}

/** The bytes stored in etcd: the object with its creationTimestamp and without a resourceVersion. */
export function encodeStored(object: KubeObject, creationTimestamp: string): string {
  const { resourceVersion: _dropped, ...metadata } = object.metadata;
  return bytesFromUtf8(JSON.stringify({ ...object, metadata: { ...metadata, creationTimestamp } }));
}

/** The object as served, from its etcd key-value: resourceVersion is the key's mod revision. */
export function decodeStored(resource: ResourceKind, kv: KeyValue): KubeObject {
  const name = nameOfKey(resource, kv.key);
  let stored: unknown;
  try {
    stored = JSON.parse(utf8FromBytes(kv.value));
  } catch {
    throw new ApiError('InternalError', `${resource.resource} "${name}": the stored object is not JSON`);
  }
  if (!isPlainObject(stored) || !isPlainObject(stored['metadata'])) throw new ApiError('InternalError', `${resource.resource} "${name}": the stored object has no metadata`);
  const creationTimestamp = stored['metadata']['creationTimestamp'];
  const object: KubeObject = {
    kind: resource.kind,
    apiVersion: resource.apiVersion,
    metadata: metaOf(resource, name, typeof creationTimestamp === 'string' ? creationTimestamp : undefined, kv.modRevision),
  };
  if (isPlainObject(stored['spec'])) object.spec = stored['spec'];
  if (isPlainObject(stored['status'])) object.status = stored['status'];
  return object;
}

/** What is left of a deleted object when etcd did not keep it (no prevKv): its name. */
export function tombstone(resource: ResourceKind, key: string, revision: number): KubeObject {
  return { kind: resource.kind, apiVersion: resource.apiVersion, metadata: metaOf(resource, nameOfKey(resource, key), undefined, revision) };
}

/** A just-written object as served: its creationTimestamp and the revision of the write. */
export function servedObject(resource: ResourceKind, object: KubeObject, creationTimestamp: string, revision: number): KubeObject {
  return { ...object, metadata: metaOf(resource, object.metadata.name, creationTimestamp, revision) };
}

export function withResourceVersion(object: KubeObject, revision: number): KubeObject {
  return { ...object, metadata: { ...object.metadata, resourceVersion: String(revision) } };
}

function metaOf(resource: ResourceKind, name: string, creationTimestamp: string | undefined, revision?: number): ObjectMeta {
  // Key order as the real apiserver prints it: name, namespace, resourceVersion, creationTimestamp.
  return {
    name,
    ...(resource.namespace === undefined ? {} : { namespace: resource.namespace }),
    ...(revision === undefined ? {} : { resourceVersion: String(revision) }),
    ...(creationTimestamp === undefined ? {} : { creationTimestamp }),
  };
}

function decodeName(metadata: JsonObject, urlName: string | undefined): string {
  const name = metadata['name'];
  if (name !== undefined && typeof name !== 'string') throw badRequest('metadata.name must be a string');
  if (urlName !== undefined) {
    if (name !== undefined && name !== '' && name !== urlName) throw badRequest(`the name of the object (${name.slice(0, 64)}) does not match the name on the URL (${urlName})`);
    return urlName;
  }
  const problem = nameProblem(name ?? '');
  if (problem !== undefined) throw badRequest(`metadata.name: ${problem}`);
  return name as string;
}

function decodeResourceVersion(value: unknown): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' || !/^[1-9]\d{0,15}$/.test(value)) throw badRequest(`metadata.resourceVersion ${JSON.stringify(value).slice(0, 40)} is not a revision`);
  return Number(value);
}

/** coordination.k8s.io/v1 LeaseSpec: every field optional, each of its own type. */
function checkLeaseSpec(spec: JsonObject): void {
  for (const field of ['holderIdentity'] as const) {
    if (spec[field] !== undefined && typeof spec[field] !== 'string') throw badRequest(`spec.${field} must be a string`);
  }
  for (const field of ['leaseDurationSeconds', 'leaseTransitions'] as const) {
    const value = spec[field];
    if (value !== undefined && !(Number.isSafeInteger(value) && (value as number) >= 0)) throw badRequest(`spec.${field} must be a non-negative integer`);
  }
  for (const field of ['acquireTime', 'renewTime'] as const) {
    const value = spec[field];
    if (value !== undefined && !(typeof value === 'string' && isRfc3339(value))) throw badRequest(`spec.${field} must be an RFC 3339 time`);
  }
}

function checkOptionalString(body: JsonObject, field: 'kind' | 'apiVersion', expected: string): void {
  const value = body[field];
  if (value !== undefined && value !== expected) throw badRequest(`${field} must be ${expected}, got ${JSON.stringify(value).slice(0, 64)}`);
}

function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Recursion is itself bounded: it stops one level past the limit. */
function depthExceeds(value: unknown, levelsLeft: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (levelsLeft === 0) return true;
  for (const child of Object.values(value)) if (depthExceeds(child, levelsLeft - 1)) return true;
  return false;
}

function badRequest(message: string): ApiError {
  return new ApiError('BadRequest', message);
}
