// The platform clock of one simulated process: virtual time, and timers that
// die with the process.
import type { Clock, TimerHandle } from '../../src/runtime/platform/types.js';
import { PlatformError } from '../../src/runtime/platform/errors.js';
import type { Engine, Owner, SimTimer } from './engine.js';

class SimTimerHandle implements TimerHandle {
  current: SimTimer | undefined;
  cleared = false;
  constructor(readonly timerId: number) {}
}

let nextTimerId = 1;

export class SimClock implements Clock {
  constructor(
    private readonly engine: Engine,
    private readonly owner: Owner,
    /** Extra lateness of each timer (see HostOptions.schedulerJitterMs). */
    private readonly latenessMs: () => number = () => 0,
  ) {}

  now(): number {
    return this.engine.now();
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const handle = new SimTimerHandle(nextTimerId++);
    handle.current = this.engine.schedule(Math.max(0, delayMs) + this.latenessMs(), callback, this.owner);
    return handle;
  }

  setInterval(callback: () => void, intervalMs: number): TimerHandle {
    if (!(intervalMs >= 1)) throw new PlatformError('EINVAL', `interval must be >= 1 ms, got ${intervalMs}`);
    const handle = new SimTimerHandle(nextTimerId++);
    const tick = (): void => {
      // Re-arm first, so a callback that clears the interval wins.
      handle.current = this.engine.schedule(intervalMs + this.latenessMs(), tick, this.owner);
      callback();
    };
    handle.current = this.engine.schedule(intervalMs + this.latenessMs(), tick, this.owner);
    return handle;
  }

  clearTimer(handle: TimerHandle | undefined): void {
    if (!(handle instanceof SimTimerHandle) || handle.cleared) return;
    handle.cleared = true;
    this.engine.cancel(handle.current);
  }

  sleep(delayMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const aborted = (): PlatformError => new PlatformError('ABORT_ERR', 'sleep aborted');
      if (signal?.aborted) {
        reject(aborted());
        return;
      }
      const handle = this.setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, delayMs);
      const onAbort = (): void => {
        this.clearTimer(handle);
        reject(aborted());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
