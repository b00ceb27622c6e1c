// The simulated etcd member's command line: etcd's own flag names for what
// the model needs, so a cluster builder reads like an etcd unit file.
//
//   --name m1 --data-dir /var/lib/etcd
//   --initial-cluster m1=198.18.0.11,m2=198.18.0.12,m3=198.18.0.13
//   [--heartbeat-interval 100] [--election-timeout 1000]
import { parseArgs } from 'node:util';

export const CLIENT_PORT = 2379;

export interface EtcdMemberFlags {
  name: string;
  dataDir: string;
  /** Every member's address, this one's included. */
  cluster: Map<string, string>;
  heartbeatIntervalMs: number;
  electionTimeoutMs: number;
}

export class EtcdFlagsError extends Error {
  readonly code = 'ERR_ETCD_FLAGS';
}

export function parseEtcdFlags(args: readonly string[]): EtcdMemberFlags {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        name: { type: 'string' },
        'data-dir': { type: 'string' },
        'initial-cluster': { type: 'string' },
        'heartbeat-interval': { type: 'string', default: '100' },
        'election-timeout': { type: 'string', default: '1000' },
      },
    }));
  } catch (error) {
    throw new EtcdFlagsError((error as Error).message);
  }
  const name = values.name;
  if (name === undefined || name === '') throw new EtcdFlagsError('--name is required');
  const dataDir = values['data-dir'] ?? `/var/lib/etcd/${name}.etcd`;
  const cluster = new Map<string, string>();
  for (const member of (values['initial-cluster'] ?? '').split(',').filter((part) => part !== '')) {
    const match = /^([\w.-]+)=(\d{1,3}(?:\.\d{1,3}){3})$/.exec(member);
    if (match === null) throw new EtcdFlagsError(`--initial-cluster: "${member}" is not name=IPv4`);
    if (cluster.has(match[1] as string)) throw new EtcdFlagsError(`--initial-cluster: ${match[1]} twice`);
    cluster.set(match[1] as string, match[2] as string);
  }
  if (!cluster.has(name)) throw new EtcdFlagsError(`--initial-cluster must name this member (${name})`);
  const milliseconds = (flag: string, text: string): number => {
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < 1) throw new EtcdFlagsError(`--${flag} must be a positive number of milliseconds, got "${text}"`);
    return value;
  };
  return {
    name,
    dataDir,
    cluster,
    heartbeatIntervalMs: milliseconds('heartbeat-interval', values['heartbeat-interval']),
    electionTimeoutMs: milliseconds('election-timeout', values['election-timeout']),
  };
}
