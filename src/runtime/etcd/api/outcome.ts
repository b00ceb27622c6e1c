// What applying a command gives: its response, or etcd's refusal. The sim's
// store returns it from apply(); the gateway codec turns it into HTTP.
import type { EtcdKvError } from './errors.js';
import type { KvResponse } from './types.js';

export type KvOutcome<R extends KvResponse = KvResponse> = { readonly ok: true; readonly response: R } | { readonly ok: false; readonly error: EtcdKvError };
