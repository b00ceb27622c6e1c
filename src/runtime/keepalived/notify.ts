// notify_master / notify_backup / notify_fault / notify_stop and the generic
// `notify` script, run on each transition without waiting for them: a slow
// hook must not hold up VRRP.
import type { Log, Platform } from '../platform/types.js';
import type { VrrpInstanceConf } from './conf/types.js';
import type { VrrpState } from './vrrp/instance.js';
import { splitCommandLine } from './command-line.js';

const NOTIFY_TIMEOUT_MS = 10_000;

export function runNotify(platform: Platform, log: Log, conf: VrrpInstanceConf, state: VrrpState, priority: number): void {
  const commands: string[][] = [];
  const specific = { MASTER: conf.notify.master, BACKUP: conf.notify.backup, FAULT: conf.notify.fault, STOP: conf.notify.stop, INIT: undefined }[state];
  if (specific !== undefined) commands.push(splitCommandLine(specific));
  // The generic hook gets keepalived's four arguments: type, name, state, priority.
  if (conf.notify.any !== undefined) commands.push([...splitCommandLine(conf.notify.any), 'INSTANCE', conf.name, state, String(priority)]);
  for (const [command, ...args] of commands) {
    if (command === undefined) continue;
    void platform.processes.exec(command, args, { timeoutMs: NOTIFY_TIMEOUT_MS }).then(
      (result) => {
        if (result.exitCode !== 0) {
          log.warn('vrrp.notify_failed', { command, state, exitCode: result.exitCode ?? -1, timedOut: result.timedOut, startError: result.startError ?? '' });
        }
      },
      (error: unknown) => log.warn('vrrp.notify_failed', { command, state, message: String(error) }),
    );
  }
}
