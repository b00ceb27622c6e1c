// The kubelet stand-in: what a kubelet does to the apiserver that matters to
// failover, i.e. the node heartbeat. It registers its Node (a 409 means it is
// already registered, which is fine), retrying other failures with full-jitter
// backoff, then PUTs its Lease in kube-node-lease every renew interval with
// renewTime = now, as Kubernetes node heartbeats do. Every attempt is one log
// event, `kubelet.register` or `kubelet.lease_renew`, with `ok`: scenarios
// count heartbeats from the trace.
//
// A failed renewal waits for the next tick rather than retrying at once:
// with a 40 s lease and a 10 s interval, three more attempts come before the
// lease runs out, and retries would only load an apiserver that is failing.
import type { Platform, Service } from '../platform/types.js';
import { HttpError, httpRequest } from '../net/http1/index.js';
import { parseKubeletArgs, type KubeletArgs } from './kubelet/args.js';
import { fullJitterDelayMs, REGISTER_BACKOFF } from './kubelet/backoff.js';
import { leasePath, nodeLeaseObject, nodeObject, NODES_PATH } from './kubelet/objects.js';

export { nodeLeaseObject, nodeObject, type NodeLeaseObject, type NodeObject } from './kubelet/objects.js';
export { parseKubeletArgs, KubeletArgsError, type KubeletArgs } from './kubelet/args.js';

/** One request, at most; a renewal never outlasts its interval. */
const REQUEST_TIMEOUT_MS_MAX = 10_000;
/** Apiserver answers are small objects or Status. */
const RESPONSE_BODY_BYTES_MAX = 64 * 1024;

interface Attempt {
  ok: boolean;
  /** HTTP status, when an answer came. */
  status: number | undefined;
  /** Status reason or transport error code, when not ok. */
  error: string | undefined;
}

/** args: --apiserver host:port --node name [--lease-renew-interval-ms 10000] */
export function kubeletMain(platform: Platform, args: readonly string[]): Service {
  const options = parseKubeletArgs(args);
  const stopper = new AbortController();
  const done = runKubelet(platform, options, stopper.signal);
  // A rejected `done` is the process's failure; nobody else needs to see it.
  done.catch(() => undefined);
  return {
    stop: () => {
      stopper.abort();
      return Promise.resolve();
    },
    done,
  };
}

async function runKubelet(platform: Platform, options: KubeletArgs, stopped: AbortSignal): Promise<void> {
  const log = platform.log.child({ node: options.nodeName });
  const timeoutMs = Math.min(options.leaseRenewIntervalMs, REQUEST_TIMEOUT_MS_MAX);
  const call = (method: string, path: string, body: unknown): Promise<Attempt> => callApiserver(platform, options, { method, path, body, timeoutMs });

  for (let attempt = 0; !stopped.aborted; attempt++) {
    const outcome = await call('POST', NODES_PATH, nodeObject(options.nodeName));
    if (stopped.aborted) return;
    // 409 AlreadyExists: registered before (an earlier boot, or an answer lost on the way).
    const registered = outcome.status === 201 || outcome.status === 409;
    if (registered) {
      log.info('kubelet.register', { ok: true, status: outcome.status, attempt });
      break;
    }
    const retryInMs = fullJitterDelayMs(attempt, REGISTER_BACKOFF, platform.random);
    log.warn('kubelet.register', { ok: false, status: outcome.status, error: outcome.error, attempt, retryInMs });
    if (!(await sleep(platform, retryInMs, stopped))) return;
  }

  while (!stopped.aborted) {
    const startedAtMs = platform.clock.now();
    const lease = nodeLeaseObject({ nodeName: options.nodeName, renewTimeMs: startedAtMs });
    const outcome = await call('PUT', leasePath(options.nodeName), lease);
    if (stopped.aborted) return;
    const fields = { ok: outcome.ok, status: outcome.status, error: outcome.error, renewTime: lease.spec.renewTime };
    if (outcome.ok) log.info('kubelet.lease_renew', fields);
    else log.warn('kubelet.lease_renew', fields);
    // Ticks keep their cadence: a slow answer shortens the wait rather than shifting every later renewal.
    const nextInMs = Math.max(0, startedAtMs + options.leaseRenewIntervalMs - platform.clock.now());
    if (!(await sleep(platform, nextInMs, stopped))) return;
  }
}

async function callApiserver(platform: Platform, options: KubeletArgs, request: { method: string; path: string; body: unknown; timeoutMs: number }): Promise<Attempt> {
  try {
    const response = await httpRequest(platform, {
      host: options.apiserver.host,
      port: options.apiserver.port,
      method: request.method,
      path: request.path,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request.body),
      timeoutMs: request.timeoutMs,
      bodyBytesMax: RESPONSE_BODY_BYTES_MAX,
    });
    const ok = response.status >= 200 && response.status < 300;
    return { ok, status: response.status, error: ok ? undefined : statusReason(response.body) };
  } catch (error) {
    return { ok: false, status: undefined, error: error instanceof HttpError ? error.code : String(error) };
  }
}

/** The `reason` of a Kubernetes Status body, else the start of the body. */
function statusReason(body: Buffer): string {
  const text = body.toString('utf8');
  try {
    const parsed = JSON.parse(text) as { reason?: unknown };
    if (typeof parsed.reason === 'string') return parsed.reason;
  } catch {
    // not JSON: say what it was
  }
  return text.slice(0, 80).trim();
}

/** False when stopped while sleeping. */
async function sleep(platform: Platform, delayMs: number, stopped: AbortSignal): Promise<boolean> {
  try {
    await platform.clock.sleep(delayMs, stopped);
    return !stopped.aborted;
  } catch {
    return false;
  }
}
