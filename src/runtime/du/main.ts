// The DU gateway as a service: `du-gateway --config <file.json>`. The same
// main runs as a simulated process and on a real host; a bad configuration
// is a ConfigError (ERR_CONFIG_*), which the real entry turns into exit 2.
import type { ServiceMain } from '../platform/types.js';
import { configArgument, readJsonConfig } from '../config/load.js';
import { loadDuGatewayConfig } from './config.js';
import { startDuGateway } from './gateway.js';

export { loadDuGatewayConfig } from './config.js';

export const duGatewayMain: ServiceMain = async (platform, args) => {
  const file = configArgument(args, 'du-gateway');
  const config = loadDuGatewayConfig(await readJsonConfig(platform.files, file), file);
  const gateway = await startDuGateway(platform, config);
  return { stop: () => gateway.stop() };
};
