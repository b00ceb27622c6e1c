// The async `Files` seam over a host's SimDisk. Operations take effect at the
// instant they are called; fsync and fsyncDir take fsyncLatencyMs of virtual
// time and persist only at its end, so a crash in between loses the write.
import type { FileStat, Files } from '../../src/runtime/platform/types.js';
import type { Engine, Owner } from './engine.js';
import type { SimDisk } from './disk.js';
import { never } from './never.js';

export class SimFiles implements Files {
  constructor(
    private readonly disk: () => SimDisk,
    private readonly engine: Engine,
    private readonly owner: Owner,
    private readonly fsyncLatencyMs: number,
  ) {}

  readFile(path: string): Promise<Buffer> {
    return this.now(() => this.disk().readFile(path));
  }

  writeFile(path: string, data: Buffer | string, options?: { mode?: number }): Promise<void> {
    return this.now(() => this.disk().writeFile(path, data, options));
  }

  appendFile(path: string, data: Buffer | string): Promise<void> {
    return this.now(() => this.disk().appendFile(path, data));
  }

  rename(fromPath: string, toPath: string): Promise<void> {
    return this.now(() => this.disk().rename(fromPath, toPath));
  }

  unlink(path: string): Promise<void> {
    return this.now(() => this.disk().unlink(path));
  }

  mkdir(path: string, options?: { recursive?: boolean; mode?: number }): Promise<void> {
    return this.now(() => this.disk().mkdir(path, options));
  }

  readdir(path: string): Promise<string[]> {
    return this.now(() => this.disk().readdir(path));
  }

  stat(path: string): Promise<FileStat> {
    return this.now(() => this.disk().stat(path));
  }

  chmod(path: string, mode: number): Promise<void> {
    return this.now(() => this.disk().chmod(path, mode));
  }

  fsync(path: string): Promise<void> {
    return this.later(() => this.disk().fsync(path));
  }

  fsyncDir(path: string): Promise<void> {
    return this.later(() => this.disk().fsyncDir(path));
  }

  private now<T>(operation: () => T): Promise<T> {
    if (!this.owner.alive) return never();
    try {
      return Promise.resolve(operation());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private later(operation: () => void): Promise<void> {
    if (!this.owner.alive) return never();
    return new Promise<void>((resolve, reject) => {
      this.engine.schedule(
        this.fsyncLatencyMs,
        () => {
          try {
            operation();
            resolve();
          } catch (error) {
            reject(error);
          }
        },
        this.owner,
      );
    });
  }
}
