// Clients that read and write a few keys and record what they saw as a
// history for the linearizability checker (sim/etcd/linearizability): each
// operation with its invoke and return times, its result, and, when it
// failed, whether it may still have taken effect.
//
// Values are unique per write (`c<client>-<n>`), so a read names the write it
// saw. A client waits for each operation before the next; one that never
// answers is abandoned (returnMs null) and the client goes on, as a real
// client would after its timeout.
import type { Platform } from '../../src/runtime/platform/types.js';
import type { KvOperation, KvValue } from '../etcd/linearizability/index.js';

/** What a client does to the store; a failure carries `outcome` when it knows whether the operation took effect. */
export interface KvTarget {
  put(key: string, value: string): Promise<void>;
  get(key: string): Promise<KvValue>;
  delete(key: string): Promise<number>;
  cas(key: string, expected: KvValue, value: string): Promise<boolean>;
}

export interface KvClientOptions {
  client: number;
  /** Where the client runs, for reports. */
  host: string;
  keys: readonly string[];
  history: KvOperation[];
  /** Bound on what all clients record together. */
  historyMax: number;
  runStartMs: number;
  untilMs: number;
  thinkMsMax: number;
}

/** Runs one client until untilMs (virtual, from the run's start) or the history is full. */
export async function runKvClient(platform: Platform, target: KvTarget, options: KvClientOptions): Promise<void> {
  const { client, keys, history } = options;
  const elapsedMs = (): number => platform.clock.now() - options.runStartMs;
  const meta = { host: options.host };
  /**
   * Runs one operation and records it. The entry goes in at the invoke, as
   * pending: if the client dies with its host mid-operation, the history
   * still says the operation may have happened. It is completed with its
   * result, or dropped (ok false) when it certainly did nothing.
   */
  const record = async <T>(operation: DistributiveOmit<KvOperation, 'invokeMs' | 'returnMs' | 'client' | 'meta' | 'result'>, run: () => Promise<T>): Promise<T | undefined> => {
    const entry = { ...operation, client, invokeMs: elapsedMs(), returnMs: null, meta } as KvOperation;
    history.push(entry);
    try {
      const result = await run();
      Object.assign(entry, { returnMs: elapsedMs() }, operation.op === 'put' ? {} : { result });
      return result;
    } catch (error) {
      const outcome = outcomeOf(error);
      Object.assign(entry, { meta: { ...meta, outcome } }, outcome === 'failed' ? { returnMs: entry.invokeMs, ok: false } : {});
      return undefined;
    }
  };
  for (let n = 0; elapsedMs() < options.untilMs && history.length < options.historyMax; n++) {
    const key = keys[platform.random.int(keys.length)] as string;
    const value = `c${client}-${n}`;
    const roll = platform.random.int(10);
    if (roll < 4) await record({ op: 'get', key }, () => target.get(key));
    else if (roll < 7) await record({ op: 'put', key, value }, () => target.put(key, value));
    else if (roll < 9) {
      // Swap from what a read just before returned (or create when absent): contention makes some fail.
      const seen = await record({ op: 'get', key }, () => target.get(key));
      if (seen !== undefined) await record({ op: 'cas', key, expected: seen, value }, () => target.cas(key, seen, value));
    } else await record({ op: 'delete', key }, () => target.delete(key));
    await platform.clock.sleep(1 + platform.random.int(options.thinkMsMax));
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function outcomeOf(error: unknown): 'failed' | 'unknown' {
  const outcome = (error as { outcome?: unknown } | null)?.outcome;
  return outcome === 'failed' ? 'failed' : 'unknown';
}
