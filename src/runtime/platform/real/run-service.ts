// Runs a service main as a real process: builds the real platform, starts
// the service, stops it on SIGTERM or SIGINT. Exit codes: 0 stopped cleanly,
// 1 failed, 2 bad arguments or configuration.
import type { Service, ServiceMain } from '../types.js';
import { errorCode } from '../errors.js';
import { createRealPlatform } from './index.js';

export async function runService(name: string, main: ServiceMain, args: readonly string[] = process.argv.slice(2)): Promise<void> {
  const platform = createRealPlatform();
  let service: Service;
  try {
    service = await main(platform, args);
  } catch (error) {
    const code = errorCode(error) ?? '';
    process.stderr.write(`${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = code.startsWith('ERR_CONFIG') || code.startsWith('ERR_PROXY_CONFIG') ? 2 : 1;
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
