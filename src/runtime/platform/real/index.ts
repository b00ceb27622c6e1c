// The platform of a real Linux host. The bundled services (dist/*.mjs) build
// one at startup and hand it to their main; nothing else in src/runtime
// touches the host (see eslint.config.js, the determinism guard).
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Platform } from '../types.js';
import { createNodeTls } from '../node-tls.js';
import { createRealClock } from './clock.js';
import { createRealRandom } from './random.js';
import { createRealStreams } from './streams.js';
import { createRealDatagrams } from './datagrams.js';
import { createRealFiles } from './files.js';
import { createRealAddresses } from './addresses.js';
import { createRealProcesses } from './processes.js';
import { createRealLog } from './log.js';

export interface RealPlatformOptions {
  /** Defaults to os.hostname(). */
  hostName?: string;
  /**
   * Where service modules (`<module>.mjs`) live. Defaults to the directory
   * of the running bundle, which is dist/ once built.
   */
  distDir?: string;
  /** Where JSON log lines go; defaults to process.stderr. */
  logStream?: NodeJS.WritableStream;
}

export function createRealPlatform(options: RealPlatformOptions = {}): Platform {
  const hostName = options.hostName ?? os.hostname();
  const clock = createRealClock();
  const log = createRealLog({ hostName, clock, stream: options.logStream ?? process.stderr });
  const distDir = options.distDir ?? path.dirname(fileURLToPath(import.meta.url));
  return {
    hostName,
    clock,
    random: createRealRandom(),
    streams: createRealStreams(log),
    tls: createNodeTls(clock),
    datagrams: createRealDatagrams(),
    addresses: createRealAddresses(),
    processes: createRealProcesses({ distDir, clock, log }),
    files: createRealFiles(),
    log,
  };
}

export { HostCommandError } from './host-command.js';
