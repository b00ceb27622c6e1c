// Short commands run to completion (keepalived's track and notify scripts).
// The output is discarded: a chatty script must not fill memory.
import { spawn } from 'node:child_process';
import type { ExecOptions, ExecResult } from '../types.js';

export function execCommand(command: string, args: readonly string[], options: ExecOptions): Promise<ExecResult> {
  return new Promise<ExecResult>((resolve) => {
    let settled = false;
    let timedOut = false;
    const settle = (result: ExecResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const child = spawn(command, [...args], { stdio: 'ignore', detached: true });
    const timer = setTimeout(() => {
      timedOut = true;
      // The whole process group: a script's own children die with it.
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, options.timeoutMs);
    child.once('error', (error) => settle({ exitCode: undefined, timedOut: false, startError: `${command}: ${error.message}` }));
    child.once('exit', (code) => settle({ exitCode: timedOut ? undefined : (code ?? undefined), timedOut }));
  });
}
