// Structured events as JSON lines. On real hosts the lines go to stderr and
// from there to journald; the simulation records the same events in its trace.
import type { Clock, Log, LogFields, LogLevel } from '../types.js';

export interface RealLogOptions {
  hostName: string;
  clock: Clock;
  stream: NodeJS.WritableStream;
}

/** Keys every line carries; event fields cannot overwrite them. */
const reservedKeys = new Set(['t', 'level', 'host', 'event']);

export function createRealLog(options: RealLogOptions): Log {
  return createLogWithFields(options, {});
}

function createLogWithFields(options: RealLogOptions, baseFields: LogFields): Log {
  function write(level: LogLevel, event: string, fields: LogFields | undefined): void {
    const line: Record<string, unknown> = {
      t: new Date(options.clock.now()).toISOString(),
      level,
      host: options.hostName,
      event,
    };
    copyFields(line, baseFields);
    if (fields !== undefined) copyFields(line, fields);
    // A failing log stream (EPIPE on a closed stderr) must not take the service down.
    try {
      options.stream.write(`${JSON.stringify(line)}\n`);
    } catch {
      // Nothing sensible to do: the log is the place errors would go.
    }
  }

  return {
    debug: (event, fields) => write('debug', event, fields),
    info: (event, fields) => write('info', event, fields),
    warn: (event, fields) => write('warn', event, fields),
    error: (event, fields) => write('error', event, fields),
    child: (fields) => createLogWithFields(options, { ...baseFields, ...fields }),
  };
}

function copyFields(line: Record<string, unknown>, fields: LogFields): void {
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined || reservedKeys.has(key)) continue;
    line[key] = value;
  }
}
