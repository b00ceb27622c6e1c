// A watch on nodes or leases: an etcd watch on the kind's key prefix, turned
// into the real apiserver's newline-delimited watch events. Started from the
// revision of a list (or of the client's resourceVersion), so nothing between
// the two is missed. A DELETED event carries the object as it was (etcd's
// prevKv) at the revision of the deletion. When etcd has compacted the
// revisions asked for, the client gets an ERROR event with 410 Expired and
// the stream ends, as from the real apiserver: it must list again.
//
// Bounded: the stream lasts at most durationMs. The initial state goes out
// at the socket's pace (it may be a whole list); after it, a client that
// stops reading is cut off by the HTTP server's streamBufferedBytesMax, since
// the etcd client's watch cannot be paused to slow etcd down instead.
import type { Log, Platform } from '../../platform/types.js';
import type { EtcdClient } from '../../etcd/client.js';
import { prefixRangeEnd, type KvEvent, type WatchResponse } from '../../etcd/api/index.js';
import type { HttpStreamResponse } from '../../net/http1/index.js';
import { decodeStored, tombstone, withResourceVersion, type KubeObject } from './objects.js';
import type { ResourceKind } from './resources.js';
import { ApiError, type KubeStatus } from './status.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'ERROR';

export interface WatchEvent {
  type: WatchEventType;
  object: KubeObject | KubeStatus;
}

export interface WatchPlan {
  resource: ResourceKind;
  /** The first etcd revision to report. */
  startRevision: number;
  /** Sent as ADDED before the etcd watch's events (the state at startRevision - 1). */
  initial: readonly KubeObject[];
  durationMs: number;
  slot: WatchSlot;
}

/**
 * Open watches, bounded. A slot is reserved while the request is handled,
 * so the bound holds however many watch requests arrive together, and held
 * until the stream closes. The HTTP server never starts the stream of a
 * client that left while the handler ran, and then nothing would give the
 * slot back: a reservation whose stream has not started shortly after the
 * handler answered is released by a timer.
 */
export class WatchSlots {
  private active = 0;

  constructor(readonly max: number) {}

  /** A slot, or undefined when all are taken. */
  reserve(): WatchSlot | undefined {
    if (this.active >= this.max) return undefined;
    this.active++;
    let held = true;
    return {
      release: () => {
        if (!held) return;
        held = false;
        this.active--;
      },
    };
  }

  get count(): number {
    return this.active;
  }
}

export interface WatchSlot {
  /** Idempotent. */
  release(): void;
}

/** The server starts a stream as soon as the handler's promise settles: this is generous. */
const STREAM_START_GRACE_MS = 5_000;

export function watchStream(platform: Platform, etcd: EtcdClient, plan: WatchPlan): HttpStreamResponse {
  const log: Log = platform.log;
  const { resource, slot } = plan;
  const graceTimer = platform.clock.setTimeout(() => slot.release(), STREAM_START_GRACE_MS);
  return {
    status: 200,
    headers: { 'content-type': 'application/json' },
    stream: (write, end, onClose, onDrain) => {
      platform.clock.clearTimer(graceTimer);
      const send = (event: WatchEvent): boolean => write(`${JSON.stringify(event)}\n`);
      const onResponse = (response: WatchResponse): void => {
        if (response.canceled) {
          const reason = response.compactRevision > 0 ? `too old resource version: ${plan.startRevision - 1} (${response.compactRevision})` : `etcd canceled the watch: ${response.cancelReason}`;
          send({ type: 'ERROR', object: new ApiError('Expired', reason).toStatus() });
          end();
          return;
        }
        try {
          for (const event of response.events) send(watchEventOf(resource, event));
        } catch (error) {
          const apiError = error instanceof ApiError ? error : new ApiError('InternalError', String(error));
          send({ type: 'ERROR', object: apiError.toStatus() });
          end();
        }
      };
      let watch: { close(): void } | undefined;
      let closed = false;
      const startEtcdWatch = (): void => {
        watch = etcd.watch({ key: resource.keyPrefix, rangeEnd: prefixRangeEnd(resource.keyPrefix), startRevision: plan.startRevision, prevKv: true }, onResponse, (error) => {
          if (error !== undefined) log.info('apiserver.watch_ended', { resource: resource.resource, error: error.message });
          end();
        });
      };
      // The initial state can be a whole list: it goes out at the socket's pace, and etcd's events only after it.
      let next = 0;
      const sendInitial = (): void => {
        if (closed || watch !== undefined) return;
        while (next < plan.initial.length) {
          if (!send({ type: 'ADDED', object: plan.initial[next++] as KubeObject })) return;
        }
        startEtcdWatch();
      };
      onDrain(sendInitial);
      const timer = platform.clock.setTimeout(end, plan.durationMs);
      onClose(() => {
        closed = true;
        platform.clock.clearTimer(timer);
        watch?.close();
        slot.release();
      });
      sendInitial();
    },
  };
}

/** etcd's PUT is ADDED for a key's first version and MODIFIED after; DELETE is DELETED. */
export function watchEventOf(resource: ResourceKind, event: KvEvent): WatchEvent {
  if (event.type === 'PUT') return { type: event.kv.version === 1 ? 'ADDED' : 'MODIFIED', object: decodeStored(resource, event.kv) };
  const before = event.prevKv === undefined ? tombstone(resource, event.kv.key, event.kv.modRevision) : decodeStored(resource, event.prevKv);
  return { type: 'DELETED', object: withResourceVersion(before, event.kv.modRevision) };
}

export function tooManyWatches(max: number): ApiError {
  return new ApiError('TooManyRequests', `${max} watches are open already`);
}
