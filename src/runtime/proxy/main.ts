// The proxy as a service: `http-proxy --config <file.json>`. The same main
// runs as a simulated process and as dist/http-proxy.mjs on a real host.
import type { ServiceMain } from '../platform/types.js';
import type { JsonDocument } from '../config/json-document.js';
import { configArgument, readJsonConfig } from '../config/load.js';
import { ShapeChecker } from '../config/shape.js';
import { ProxyConfigError, resolveProxyConfig, type ProxyConfig } from './proxy-config.js';
import { startProxy } from './proxy-service.js';

const NUMBER_KEYS = ['idleTimeoutMs', 'connectTimeoutMs', 'maxConnections', 'headTimeoutMs', 'headBytesMax'] as const;

/** Turns a parsed configuration file into a checked ProxyConfig; every problem names its key and line. */
export function loadProxyConfig(document: JsonDocument, file: string): ProxyConfig {
  const check = new ShapeChecker(document, file);
  const root = check.object('', document.value, { required: ['listen'], optional: ['users', 'allowedPorts', ...NUMBER_KEYS] });
  const listen = check.object('listen', root['listen'], { required: ['host', 'port'], optional: [] });
  const config: ProxyConfig = {
    listen: { host: check.string('listen.host', listen['host']), port: check.integer('listen.port', listen['port']) },
  };
  if (root['users'] !== undefined) {
    config.users = check.array('users', root['users']).map((entry, index) => {
      const user = check.object(`users[${index}]`, entry, { required: ['username', 'password'], optional: [] });
      return {
        username: check.string(`users[${index}].username`, user['username']),
        password: check.string(`users[${index}].password`, user['password']),
      };
    });
  }
  if (root['allowedPorts'] !== undefined) {
    config.allowedPorts = check.array('allowedPorts', root['allowedPorts']).map((port, index) => check.integer(`allowedPorts[${index}]`, port));
  }
  for (const key of NUMBER_KEYS) {
    if (root[key] !== undefined) config[key] = check.integer(key, root[key]);
  }
  try {
    resolveProxyConfig(config);
  } catch (error) {
    if (error instanceof ProxyConfigError) check.fail(error.field, error.message.replace(/^ERR_PROXY_CONFIG: [^:]+: /, ''));
    throw error;
  }
  return config;
}

export const proxyMain: ServiceMain = async (platform, args) => {
  const file = configArgument(args, 'http-proxy');
  const config = loadProxyConfig(await readJsonConfig(platform.files, file), file);
  const service = await startProxy(platform, config);
  return { stop: () => service.stop() };
};
