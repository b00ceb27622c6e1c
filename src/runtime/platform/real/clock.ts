// The host's clock: wall time and Node's global timers. The simulation's
// clock is virtual; runtime code cannot tell them apart (DESIGN.md, "The
// platform seam").
import type { Clock, TimerHandle } from '../types.js';
import { PlatformError } from '../errors.js';

export function createRealClock(): Clock {
  // Timer handles are opaque ids so runtime code never holds a Node Timeout
  // (which the simulated clock could not accept back).
  const timers = new Map<number, NodeJS.Timeout>();
  let timerIdLast = 0;

  function register(timer: NodeJS.Timeout): TimerHandle {
    timerIdLast += 1;
    timers.set(timerIdLast, timer);
    return { timerId: timerIdLast };
  }

  return {
    now: () => Date.now(),

    setTimeout(callback, delayMs) {
      const handle: TimerHandle = register(
        setTimeout(() => {
          timers.delete(handle.timerId);
          callback();
        }, delayMs),
      );
      return handle;
    },

    setInterval(callback, intervalMs) {
      return register(setInterval(callback, intervalMs));
    },

    clearTimer(handle) {
      if (handle === undefined) return;
      const timer = timers.get(handle.timerId);
      if (timer === undefined) return;
      timers.delete(handle.timerId);
      // clearTimeout clears intervals too: Node shares one timer type.
      clearTimeout(timer);
    },

    sleep(delayMs, signal) {
      return new Promise<void>((resolve, reject) => {
        if (signal?.aborted === true) {
          reject(abortError());
          return;
        }
        const onAbort = (): void => {
          clearTimeout(timer);
          reject(abortError());
        };
        const timer = setTimeout(() => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        }, delayMs);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
  };
}

function abortError(): PlatformError {
  return new PlatformError('ABORT_ERR', 'sleep aborted');
}
