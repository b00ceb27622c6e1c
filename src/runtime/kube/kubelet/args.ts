// The kubelet stand-in's command line:
//   --apiserver <host:port>  (the VIP's address on workers)
//   --node <name>
//   [--lease-renew-interval-ms 10000]
import { parseArgs } from 'node:util';
import { nameProblem } from '../apiserver/names.js';
import { parseHostPort, type HostPort } from '../apiserver/args.js';

export interface KubeletArgs {
  apiserver: HostPort;
  nodeName: string;
  leaseRenewIntervalMs: number;
}

/** The kubelet renews its lease every quarter of its 40 s duration. */
export const LEASE_RENEW_INTERVAL_MS_DEFAULT = 10_000;
const LEASE_RENEW_INTERVAL_MS_MIN = 100;
const LEASE_RENEW_INTERVAL_MS_MAX = 3_600_000;

export class KubeletArgsError extends Error {
  readonly code = 'ERR_KUBELET_ARGS';
  constructor(message: string) {
    super(`ERR_KUBELET_ARGS: ${message}`);
    this.name = 'KubeletArgsError';
  }
}

export function parseKubeletArgs(args: readonly string[]): KubeletArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: { apiserver: { type: 'string' }, node: { type: 'string' }, 'lease-renew-interval-ms': { type: 'string' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new KubeletArgsError((error as Error).message);
  }
  if (values.apiserver === undefined) throw new KubeletArgsError('--apiserver host:port is required');
  const nodeName = values.node ?? '';
  const problem = nameProblem(nodeName);
  if (problem !== undefined) throw new KubeletArgsError(`--node: ${problem}`);
  const intervalText = values['lease-renew-interval-ms'] ?? String(LEASE_RENEW_INTERVAL_MS_DEFAULT);
  const leaseRenewIntervalMs = Number(intervalText);
  if (!/^\d+$/.test(intervalText) || leaseRenewIntervalMs < LEASE_RENEW_INTERVAL_MS_MIN || leaseRenewIntervalMs > LEASE_RENEW_INTERVAL_MS_MAX) {
    throw new KubeletArgsError(`--lease-renew-interval-ms must be an integer in [${LEASE_RENEW_INTERVAL_MS_MIN}, ${LEASE_RENEW_INTERVAL_MS_MAX}], got ${JSON.stringify(intervalText)}`);
  }
  let apiserver: HostPort;
  try {
    apiserver = parseHostPort('--apiserver', values.apiserver);
  } catch (error) {
    throw new KubeletArgsError((error as Error).message.replace(/^ERR_APISERVER_ARGS: /, ''));
  }
  return { apiserver, nodeName, leaseRenewIntervalMs };
}
