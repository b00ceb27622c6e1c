// A simulated host: interfaces, a kernel (IP stack, sockets, ARP, NAT), a
// disk, processes, and the boot functions that bring it up again after a
// crash.
import type { Platform } from '../../src/runtime/platform/types.js';
import type { Owner } from './engine.js';
import type { Rng } from './rng.js';
import { SimDisk } from './disk.js';
import { IpStack } from './stack/ip-stack.js';
import type { Nic } from './nic.js';
import type { NeighborSettings } from './stack/neighbors.js';
import { DEFAULT_NEIGHBOR_SETTINGS } from './stack/neighbors.js';
import type { TcpSettings } from './stack/tcp-core.js';
import { DEFAULT_TCP_SETTINGS } from './stack/tcp-core.js';
import { ProcessContext, SimProcesses } from './process.js';
import { createSimPlatform } from './platform.js';
import type { LogRecord } from './sim-log.js';
import { TopologyError, type World } from './world.js';

export interface HostOptions {
  /** Routers forward packets between their interfaces. */
  forwarding?: boolean;
  tcp?: Partial<TcpSettings>;
  neighbor?: Partial<NeighborSettings>;
  diskCapacityBytes?: number;
  fsyncLatencyMs?: number;
  logRecordsMax?: number;
  /**
   * A process's timers fire up to this many ms late, uniformly at random: the
   * scheduling noise of a real kernel. Two daemons with identical timers then
   * drift apart as real ones do (keepalived's AH dual-master window ends that
   * way). 0, the default, fires timers exactly.
   */
  schedulerJitterMs?: number;
}

export type BootFunction = (platform: Platform) => void | Promise<void>;

/** The kernel of one boot: when the host crashes, its timers never fire again. */
class Kernel implements Owner {
  alive = true;
  constructor(readonly label: string) {}
  fail(error: unknown): never {
    // A kernel callback that throws is a bug in the simulator itself.
    throw error;
  }
}

export class SimHost {
  readonly nics: Nic[] = [];
  readonly stack: IpStack;
  readonly rng: Rng;
  readonly kernelRng: Rng;
  readonly tcpSettings: TcpSettings;
  readonly neighborSettings: NeighborSettings;
  readonly fsyncLatencyMs: number;
  readonly schedulerJitterMs: number;
  /** Draws each timer's lateness; separate from kernelRng so jitter never shifts other draws. */
  readonly schedulerRng: Rng;
  readonly disk: SimDisk;
  up = true;
  boots = 1;
  kernel: Kernel;
  processes: SimProcesses;
  private readonly bootFunctions: BootFunction[] = [];
  private hostContext: ProcessContext;
  private hostPlatform: Platform;
  private readonly logRecords: LogRecord[] = [];
  private readonly logRecordsMax: number;
  private incarnations = 0;

  constructor(
    readonly world: World,
    readonly name: string,
    options: HostOptions = {},
  ) {
    this.rng = world.engine.rng.fork(`host/${name}`);
    this.kernelRng = this.rng.fork('kernel');
    this.tcpSettings = { ...DEFAULT_TCP_SETTINGS, ...options.tcp };
    this.neighborSettings = { ...DEFAULT_NEIGHBOR_SETTINGS, ...options.neighbor };
    this.fsyncLatencyMs = options.fsyncLatencyMs ?? 2;
    this.schedulerJitterMs = options.schedulerJitterMs ?? 0;
    this.schedulerRng = this.rng.fork('scheduler');
    this.logRecordsMax = options.logRecordsMax ?? 500;
    this.disk = new SimDisk(() => world.engine.now(), { capacityBytes: options.diskCapacityBytes ?? 64 * 1024 * 1024 });
    this.stack = new IpStack(this);
    this.stack.forwarding = options.forwarding ?? false;
    this.kernel = new Kernel(`${name}/kernel`);
    this.processes = new SimProcesses(this, (context) => this.platformFor(context));
    this.hostContext = this.newHostContext();
    this.hostPlatform = this.platformFor(this.hostContext);
  }

  /** The platform of the host's own scenario code (not a service): dies with the host. */
  get platform(): Platform {
    return this.hostPlatform;
  }

  /** Runs now (if up) and again after every restart. */
  onBoot(boot: BootFunction): void {
    this.bootFunctions.push(boot);
    if (this.up) this.runBoot(boot);
  }

  nic(name: string): Nic {
    const nic = this.nics.find((candidate) => candidate.name === name);
    if (nic === undefined) throw new TopologyError(`host ${this.name} has no interface ${name}`);
    return nic;
  }

  /** Power loss: processes and kernel state vanish, unsynced disk writes are lost, nothing is sent. */
  crash(): void {
    if (!this.up) return;
    this.up = false;
    this.world.engine.record(this.name, 'host.crash', { boots: this.boots });
    this.kernel.alive = false;
    this.processes.vanishAll();
    this.hostContext.vanish();
    this.stack.reset();
    for (const nic of this.nics) nic.neighbors.reset();
    this.disk.crash();
  }

  /** Boots again: configured addresses only, fresh kernel, boot functions rerun. */
  restart(): void {
    if (this.up) return;
    this.up = true;
    this.boots++;
    this.world.engine.record(this.name, 'host.restart', { boots: this.boots });
    this.kernel = new Kernel(`${this.name}/kernel#${this.boots}`);
    for (const nic of this.nics) nic.reset();
    this.processes = new SimProcesses(this, (context) => this.platformFor(context));
    this.hostContext = this.newHostContext();
    this.hostPlatform = this.platformFor(this.hostContext);
    for (const boot of this.bootFunctions) this.runBoot(boot);
  }

  remember(record: LogRecord): void {
    if (this.logRecords.length >= this.logRecordsMax) this.logRecords.shift();
    this.logRecords.push(record);
  }

  logs(): readonly LogRecord[] {
    return this.logRecords;
  }

  private platformFor(context: ProcessContext): Platform {
    return createSimPlatform(this, context, this.rng.fork(`${context.label}#${++this.incarnations}`));
  }

  private newHostContext(): ProcessContext {
    return new ProcessContext(this, `${this.name}/host`, (error) => {
      // Scenario code running as the host itself failed: that is a failure of the run.
      this.world.recordFailure(this.name, error);
    });
  }

  private runBoot(boot: BootFunction): void {
    const platform = this.hostPlatform;
    this.world.engine.schedule(
      0,
      () => {
        void Promise.resolve(boot(platform)).catch((error: unknown) => this.world.recordFailure(this.name, error));
      },
      this.hostContext,
    );
  }
}
