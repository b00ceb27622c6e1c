// Services as child processes: `node <distDir>/<module>.mjs …args`, one per
// name. hostagent supervises through watch(); systemd units are a deployment
// choice on top of this, not a different seam.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Clock, Log, Processes, ProcessSpec, ProcessState, ProcessStatus } from '../types.js';
import { PlatformError, errorCode } from '../errors.js';
import { execCommand } from './exec.js';

export interface RealProcessesOptions {
  /** Directory holding the bundled service entry points (`<module>.mjs`). */
  distDir: string;
  clock: Clock;
  log: Log;
}

const stopTimeoutMsDefault = 5_000;
/** A module is a file name in distDir, never a path out of it. */
const moduleNamePattern = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

interface Entry {
  status: ProcessStatus;
  child: ChildProcess;
  /** Resolves once the child has exited and `status` is final. */
  exited: Promise<void>;
}

export function createRealProcesses(options: RealProcessesOptions): Processes {
  const entries = new Map<string, Entry>();
  /** Names between start() being called and the child spawning. */
  const starting = new Set<string>();
  const watchers = new Set<(status: ProcessStatus) => void>();
  const log = options.log.child({ component: 'processes' });

  function isActive(name: string): boolean {
    const state = entries.get(name)?.status.state;
    return starting.has(name) || state === 'running' || state === 'stopping';
  }

  function transition(entry: Entry, state: ProcessState, fields: Partial<ProcessStatus> = {}): void {
    entry.status = { ...entry.status, ...fields, state };
    const snapshot = { ...entry.status };
    log.info('process.state', {
      name: snapshot.name, state, exitCode: snapshot.exitCode, reason: snapshot.reason,
    });
    for (const watcher of watchers) {
      // One broken watcher must not keep the others from hearing about it.
      try {
        watcher({ ...snapshot });
      } catch (error) {
        log.error('process.watcher_failed', { name: snapshot.name, message: String(error) });
      }
    }
  }

  async function start(spec: ProcessSpec): Promise<void> {
    if (isActive(spec.name)) {
      throw new PlatformError('ERR_PROCESS_RUNNING', `process ${spec.name} is already running`);
    }
    starting.add(spec.name);
    try {
      const modulePath = await resolveModule(options.distDir, spec.module);
      const child = spawn(process.execPath, [modulePath, ...(spec.args ?? [])], {
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      // Listen before anything else can run, so no exit goes unseen.
      const exitInfo = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
        child.once('exit', (code, signal) => resolve([code, signal]));
      });
      await spawned(child);
      const entry: Entry = {
        status: { name: spec.name, module: spec.module, state: 'running', startedAtMs: options.clock.now() },
        child,
        exited: Promise.resolve(),
      };
      entry.exited = exitInfo.then(([code, signal]) => finish(entry, code, signal));
      entries.set(spec.name, entry);
      log.info('process.started', { name: spec.name, module: spec.module, pid: child.pid });
    } finally {
      starting.delete(spec.name);
    }
  }

  function finish(entry: Entry, code: number | null, signal: NodeJS.Signals | null): void {
    const exitCode = code ?? undefined;
    if (entry.status.state === 'stopping') {
      transition(entry, 'stopped', { exitCode });
    } else if (code === 0) {
      transition(entry, 'exited', { exitCode: 0 });
    } else {
      transition(entry, 'failed', { exitCode, reason: signal !== null ? `killed by ${signal}` : `exit code ${code}` });
    }
  }

  async function stop(name: string, stopOptions?: { timeoutMs?: number }): Promise<void> {
    const entry = entries.get(name);
    if (entry === undefined) throw new PlatformError('ERR_PROCESS_NOT_FOUND', `no process named ${name}`);
    if (entry.status.state === 'running') {
      transition(entry, 'stopping');
      entry.child.kill('SIGTERM');
    }
    if (entry.status.state !== 'stopping') return;
    const timeoutMs = stopOptions?.timeoutMs ?? stopTimeoutMsDefault;
    const killTimer = options.clock.setTimeout(() => {
      log.warn('process.kill', { name, reason: `no exit within ${timeoutMs} ms of SIGTERM` });
      entry.child.kill('SIGKILL');
    }, timeoutMs);
    try {
      await entry.exited;
    } finally {
      options.clock.clearTimer(killTimer);
    }
  }

  return {
    start,
    stop,
    exec: execCommand,
    status: (name) => {
      const status = entries.get(name)?.status;
      return status === undefined ? undefined : { ...status };
    },
    list: () => [...entries.values()].map((entry) => ({ ...entry.status })),
    watch(listener) {
      watchers.add(listener);
      return () => {
        watchers.delete(listener);
      };
    },
  };
}

async function resolveModule(distDir: string, module: string): Promise<string> {
  if (!moduleNamePattern.test(module) || module.includes('..')) {
    throw new PlatformError('ERR_PROCESS_UNKNOWN_MODULE', `not a module name: ${JSON.stringify(module)}`);
  }
  const modulePath = path.join(distDir, `${module}.mjs`);
  try {
    await fs.access(modulePath);
  } catch (error) {
    throw new PlatformError('ERR_PROCESS_UNKNOWN_MODULE', `no module ${module} (${errorCode(error) ?? String(error)})`, {
      path: modulePath,
    });
  }
  return modulePath;
}

function spawned(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => {
      child.removeListener('spawn', onSpawn);
      reject(error);
    };
    const onSpawn = (): void => {
      child.removeListener('error', onError);
      // Later errors (kill failing on an exited child) are not fatal; exit reports the outcome.
      child.on('error', () => undefined);
      resolve();
    };
    child.once('error', onError);
    child.once('spawn', onSpawn);
  });
}
