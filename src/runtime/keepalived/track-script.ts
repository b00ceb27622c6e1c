// Runs one vrrp_script every `interval`, with its timeout, and keeps its
// verdict. A run still going when the next is due is not doubled up.
import type { Log, Platform, TimerHandle } from '../platform/types.js';
import type { VrrpScriptConf } from './conf/types.js';
import { ScriptVerdict } from './vrrp/tracking.js';
import { splitCommandLine } from './command-line.js';

export class TrackScript {
  readonly verdict: ScriptVerdict;
  private timer: TimerHandle | undefined;
  private running = false;
  private stopped = false;
  private readonly command: string;
  private readonly args: string[];

  constructor(
    private readonly platform: Platform,
    private readonly log: Log,
    readonly conf: VrrpScriptConf,
    private readonly onVerdictChange: () => void,
  ) {
    this.verdict = new ScriptVerdict(conf.rise, conf.fall);
    const [command = '', ...args] = splitCommandLine(conf.script);
    this.command = command;
    this.args = args;
  }

  start(): void {
    this.runOnce();
    this.timer = this.platform.clock.setInterval(() => this.runOnce(), this.conf.intervalMs);
  }

  stop(): void {
    this.stopped = true;
    this.platform.clock.clearTimer(this.timer);
  }

  private runOnce(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    const timeoutMs = this.conf.timeoutMs > 0 ? this.conf.timeoutMs : this.conf.intervalMs;
    void this.platform.processes.exec(this.command, this.args, { timeoutMs }).then((result) => {
      this.running = false;
      if (this.stopped) return;
      const success = result.exitCode === 0;
      if (!success) {
        this.log.debug('vrrp.script_failed', {
          script: this.conf.name, exitCode: result.exitCode ?? -1, timedOut: result.timedOut, startError: result.startError ?? '',
        });
      }
      if (this.verdict.record(success)) {
        this.log.info('vrrp.script_verdict', { script: this.conf.name, healthy: this.verdict.healthy ?? false });
        this.onVerdictChange();
      }
    });
  }
}
