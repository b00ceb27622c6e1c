// comms as a service: `comms --config <file.json>`. The same main runs as a
// simulated process and, bundled, on a real host; a configuration problem is
// a ConfigError (ERR_CONFIG_*) naming the file, line, column and key, which
// the real entry turns into exit code 2.
import type { ServiceMain } from '../platform/types.js';
import { configArgument, readJsonConfig } from '../config/load.js';
import { loadCommsConfig } from './config.js';
import { startComms } from './service.js';

export const commsMain: ServiceMain = async (platform, args) => {
  const file = configArgument(args, 'comms');
  const config = loadCommsConfig(await readJsonConfig(platform.files, file), file);
  return startComms(platform, config, file);
};
