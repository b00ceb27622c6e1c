// The apiserver stand-in's command line:
//   [--etcd <host:port>]   back the API with this etcd member (the product: 127.0.0.1:2379);
//                          without it, only /healthz (always ok) and /version
//   [--listen <host:port>] default 0.0.0.0:443
import { parseArgs } from 'node:util';

export interface HostPort {
  host: string;
  port: number;
}

export interface ApiserverArgs {
  etcd: HostPort | undefined;
  listen: HostPort;
}

export class ApiserverArgsError extends Error {
  readonly code = 'ERR_APISERVER_ARGS';
  constructor(message: string) {
    super(`ERR_APISERVER_ARGS: ${message}`);
    this.name = 'ApiserverArgsError';
  }
}

export function parseApiserverArgs(args: readonly string[], defaultListen: HostPort): ApiserverArgs {
  let values;
  try {
    ({ values } = parseArgs({ args: [...args], options: { etcd: { type: 'string' }, listen: { type: 'string' } }, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new ApiserverArgsError((error as Error).message);
  }
  return {
    etcd: values.etcd === undefined ? undefined : parseHostPort('--etcd', values.etcd),
    listen: values.listen === undefined ? defaultListen : parseHostPort('--listen', values.listen),
  };
}

const HOST_PORT = /^([A-Za-z0-9][A-Za-z0-9.-]{0,252}):(\d{1,5})$/;
const PORT_MAX = 65535;

export function parseHostPort(flag: string, text: string): HostPort {
  const match = HOST_PORT.exec(text);
  const port = Number(match?.[2]);
  if (match === null || port < 1 || port > PORT_MAX) throw new ApiserverArgsError(`${flag} wants host:port (port 1-${PORT_MAX}), got ${JSON.stringify(text.slice(0, 80))}`);
  return { host: match[1] as string, port };
}
