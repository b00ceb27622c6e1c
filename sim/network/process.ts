// Simulated processes. A process is a registered service main running inside
// the simulation process, with its own platform view. Everything it opens
// (sockets, listeners, timers) is tracked, so that:
// - when it exits or crashes on its own, the kernel closes what it held, as
//   an OS does (its TCP peers see FIN or RST);
// - when its host crashes, it and everything it held vanish without a packet.
import type { ExecOptions, ExecResult, Platform, ProcessSpec, ProcessStatus, Processes, Service } from '../../src/runtime/platform/types.js';
import { PlatformError, errorCode } from '../../src/runtime/platform/errors.js';
import type { Owner } from './engine.js';
import type { SimHost } from './host.js';

export interface Releasable {
  /** The process is gone: close like the kernel closes a dead process's descriptors. */
  release(): void;
}

/** The owner of one incarnation of one process (or of a host's own scenario code). */
export class ProcessContext implements Owner {
  alive = true;
  private readonly held = new Set<Releasable>();

  constructor(
    readonly host: SimHost,
    readonly label: string,
    private readonly onFailure: (error: unknown) => void,
  ) {}

  track(resource: Releasable): void {
    if (!this.alive) throw new PlatformError('EBADF', `${this.label} is no longer running`);
    this.held.add(resource);
  }

  untrack(resource: Releasable): void {
    this.held.delete(resource);
  }

  fail(error: unknown): void {
    this.onFailure(error);
  }

  /** Normal exit or process crash: the kernel releases what the process held. */
  exit(): void {
    if (!this.alive) return;
    this.alive = false;
    const held = [...this.held];
    this.held.clear();
    for (const resource of held) resource.release();
  }

  /** Host crash: nothing is released, nothing is sent. */
  vanish(): void {
    this.alive = false;
    this.held.clear();
  }
}

interface SimProcess {
  readonly spec: ProcessSpec;
  readonly context: ProcessContext;
  status: ProcessStatus;
  service: Service | undefined;
  /** While it is stopping: settles once it has stopped (a restart in the meantime waits for it, as systemd's does). */
  stopped?: Promise<void>;
}

const STOP_TIMEOUT_MS_DEFAULT = 5_000;

export class SimProcesses implements Processes {
  private readonly processes = new Map<string, SimProcess>();
  private readonly watchers = new Set<{ listener: (status: ProcessStatus) => void; owner: Owner }>();
  /** Commands running under exec(): they die with the host like processes do. */
  private readonly commands = new Set<ProcessContext>();
  private commandsStarted = 0;

  constructor(
    private readonly host: SimHost,
    private readonly platformFor: (context: ProcessContext) => Platform,
  ) {}

  async start(spec: ProcessSpec): Promise<void> {
    const main = this.host.world.modules.get(spec.module);
    if (main === undefined) {
      throw new PlatformError('ERR_PROCESS_UNKNOWN_MODULE', `no service module "${spec.module}" is registered`);
    }
    const existing = this.processes.get(spec.name);
    if (existing !== undefined && (existing.status.state === 'running' || existing.status.state === 'stopping')) {
      throw new PlatformError('ERR_PROCESS_RUNNING', `process "${spec.name}" is already running on ${this.host.name}`);
    }
    const engine = this.host.world.engine;
    const process: SimProcess = {
      spec,
      context: new ProcessContext(this.host, `${this.host.name}/${spec.name}`, (error) => this.crash(process, error)),
      status: { name: spec.name, module: spec.module, state: 'running', startedAtMs: engine.now() },
      service: undefined,
    };
    this.processes.set(spec.name, process);
    engine.record(this.host.name, 'proc.start', { name: spec.name, module: spec.module });
    try {
      const service = await main(this.platformFor(process.context), spec.args ?? []);
      if (!process.context.alive) return;
      process.service = service;
      service.done?.then(
        () => this.end(process, 'exited', 0, undefined),
        (error: unknown) => this.crash(process, error),
      );
    } catch (error) {
      this.crash(process, error);
      throw error;
    }
  }

  async stop(name: string, options: { timeoutMs?: number } = {}): Promise<void> {
    const process = this.processes.get(name);
    if (process === undefined) throw new PlatformError('ERR_PROCESS_NOT_FOUND', `no process "${name}" on ${this.host.name}`);
    if (process.status.state === 'stopping') return process.stopped;
    if (process.status.state !== 'running') return;
    process.stopped = this.stopRunning(process, options);
    return process.stopped;
  }

  private async stopRunning(process: SimProcess, options: { timeoutMs?: number }): Promise<void> {
    this.setState(process, { ...process.status, state: 'stopping' });
    const engine = this.host.world.engine;
    const timeoutMs = options.timeoutMs ?? STOP_TIMEOUT_MS_DEFAULT;
    let killed = false;
    const stopped = process.service?.stop() ?? Promise.resolve();
    await new Promise<void>((resolve) => {
      const timer = engine.schedule(timeoutMs, () => {
        killed = true;
        resolve();
      }, this.host.kernel);
      stopped.then(
        () => {
          engine.cancel(timer);
          resolve();
        },
        () => {
          engine.cancel(timer);
          resolve();
        },
      );
    });
    this.end(process, 'stopped', killed ? 137 : 0, killed ? `killed after ${timeoutMs} ms` : undefined);
  }

  /** Stops a process (gracefully, if running) and starts it again with the same spec. */
  async restart(name: string, options: { timeoutMs?: number } = {}): Promise<void> {
    const process = this.processes.get(name);
    if (process === undefined) throw new PlatformError('ERR_PROCESS_NOT_FOUND', `no process "${name}" on ${this.host.name}`);
    if (process.status.state === 'running' || process.status.state === 'stopping') await this.stop(name, options);
    await this.start(process.spec);
  }

  status(name: string): ProcessStatus | undefined {
    const process = this.processes.get(name);
    return process === undefined ? undefined : { ...process.status };
  }

  list(): ProcessStatus[] {
    return [...this.processes.values()].map((process) => ({ ...process.status }));
  }

  watch(listener: (status: ProcessStatus) => void): () => void {
    return this.watchAs(this.host.kernel, listener);
  }

  /** Watches on behalf of `owner`: its listener runs as that owner's code and dies with it. */
  watchAs(owner: Owner, listener: (status: ProcessStatus) => void): () => void {
    const watcher = { listener, owner };
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }

  exec(command: string, args: readonly string[], options: ExecOptions): Promise<ExecResult> {
    const main = this.host.world.commands.get(command);
    if (main === undefined) return Promise.resolve({ exitCode: undefined, timedOut: false, startError: `${command}: no such file` });
    const engine = this.host.world.engine;
    const number = ++this.commandsStarted;
    return new Promise<ExecResult>((resolve) => {
      let finished = false;
      const abort = new AbortController();
      const finish = (result: ExecResult): void => {
        if (finished) return;
        finished = true;
        engine.cancel(timer);
        this.commands.delete(context);
        context.exit();
        engine.record(this.host.name, 'exec.end', { command, number, exitCode: result.exitCode ?? -1, timedOut: result.timedOut });
        resolve(result);
      };
      const context = new ProcessContext(this.host, `${this.host.name}/${command}#${number}`, () => finish({ exitCode: 1, timedOut: false }));
      this.commands.add(context);
      const timer = engine.schedule(options.timeoutMs, () => {
        abort.abort();
        finish({ exitCode: undefined, timedOut: true });
      }, this.host.kernel);
      main(this.platformFor(context), args, abort.signal).then(
        (exitCode) => finish({ exitCode, timedOut: false }),
        () => finish({ exitCode: 1, timedOut: false }),
      );
    });
  }

  /** Host crash: every process vanishes; a rebooted host starts with none. */
  vanishAll(): void {
    for (const context of this.commands) context.vanish();
    this.commands.clear();
    for (const process of this.processes.values()) process.context.vanish();
    this.processes.clear();
    this.watchers.clear();
  }

  private crash(process: SimProcess, error: unknown): void {
    if (!process.context.alive) return;
    const code = errorCode(error);
    const reason =
      error instanceof Error
        ? code !== undefined && error.message.startsWith(code)
          ? error.message
          : `${code ?? error.name}: ${error.message}`
        : String(error);
    this.host.world.engine.record(this.host.name, 'proc.crash', { name: process.spec.name, reason });
    this.end(process, 'failed', 1, reason);
  }

  private end(process: SimProcess, state: 'exited' | 'stopped' | 'failed', exitCode: number, reason: string | undefined): void {
    if (!process.context.alive) return;
    process.context.exit();
    this.host.world.engine.record(this.host.name, 'proc.end', { name: process.spec.name, state, exitCode });
    const status: ProcessStatus = { ...process.status, state, exitCode };
    if (reason !== undefined) status.reason = reason;
    this.setState(process, status);
  }

  private setState(process: SimProcess, status: ProcessStatus): void {
    process.status = status;
    if (status.state === 'running') return;
    for (const watcher of [...this.watchers]) {
      this.host.world.engine.schedule(0, () => watcher.listener({ ...status }), watcher.owner);
    }
  }
}
