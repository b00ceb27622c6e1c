// Structured logs of simulated processes go into the trace (kind log.<level>)
// and into a bounded per-host buffer that reports show.
import type { Log, LogFields, LogLevel } from '../../src/runtime/platform/types.js';
import type { TraceValue } from './trace.js';
import type { SimHost } from './host.js';
import type { Owner } from './engine.js';

export interface LogRecord {
  atMs: number;
  host: string;
  level: LogLevel;
  event: string;
  fields: Record<string, TraceValue>;
}

export class SimLog implements Log {
  constructor(
    private readonly host: SimHost,
    private readonly owner: Owner,
    private readonly base: LogFields = {},
  ) {}

  debug(event: string, fields?: LogFields): void {
    this.write('debug', event, fields);
  }

  info(event: string, fields?: LogFields): void {
    this.write('info', event, fields);
  }

  warn(event: string, fields?: LogFields): void {
    this.write('warn', event, fields);
  }

  error(event: string, fields?: LogFields): void {
    this.write('error', event, fields);
  }

  child(fields: LogFields): Log {
    return new SimLog(this.host, this.owner, { ...this.base, ...fields });
  }

  private write(level: LogLevel, event: string, fields: LogFields | undefined): void {
    // A dead process says nothing.
    if (!this.owner.alive) return;
    const flat: Record<string, TraceValue> = {};
    for (const source of [this.base, fields ?? {}]) {
      for (const key in source) {
        const value = source[key];
        if (value !== undefined) flat[key] = value === null ? 'null' : value;
      }
    }
    this.host.world.engine.record(this.host.name, `log.${level}`, { event, ...flat });
    this.host.remember({ atMs: this.host.world.engine.elapsedMs(), host: this.host.name, level, event, fields: flat });
  }
}
