// Runs a service main as a real process: builds the real platform, starts
// the service, stops it on SIGTERM or SIGINT. Exit codes: 0 stopped cleanly,
// 1 failed, 2 bad arguments or configuration.
import type { Service, ServiceMain } from '../types.js';
import { errorCode } from '../errors.js';
import { createRealPlatform } from './index.js';

/** Codes of errors that mean "fix your arguments or configuration" (exit 2), not "the service broke" (exit 1). */
const CONFIGURATION_ERROR_PREFIXES = ['ERR_CONFIG', 'ERR_PROXY_CONFIG', 'ERR_KEEPALIVED_CONF', 'ERR_APISERVER_ARGS', 'ERR_KUBELET_ARGS'];

export async function runService(name: string, main: ServiceMain, args: readonly string[] = process.argv.slice(2)): Promise<void> {
  const platform = createRealPlatform();
  let service: Service;
  try {
    service = await main(platform, args);
  } catch (error) {
    const code = errorCode(error) ?? '';
    process.stderr.write(`${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = CONFIGURATION_ERROR_PREFIXES.some((prefix) => code.startsWith(prefix)) ? 2 : 1;
    return;
  }
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    platform.log.info('service.stopping', { service: name, signal });
    service.stop().then(
      () => {
        process.exitCode = 0;
        process.exit();
      },
      (error: unknown) => {
        process.stderr.write(`${name}: stop failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  service.done?.then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${name}: ${String(error)}\n`);
      process.exit(1);
    },
  );
}
