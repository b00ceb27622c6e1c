// npm run check-history -- <file> [--timeout-ms N] [--json]
//
// Checks that a recorded history of put/get/delete/cas operations is
// linearizable (format: sim/etcd/README.md). Exit codes: 0 linearizable;
// 1 not linearizable (a minimal offending sub-history is printed); 2 usage
// error, unreadable or malformed file (the message names the file, the
// operation's index and the field); 3 unknown (the search hit its bound);
// 4 the checker itself failed (a bug: an invariant tripped).
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import {
  checkHistory,
  HistoryError,
  parseHistoryText,
  renderCheckResult,
  type CheckResult,
  type History,
} from '../sim/etcd/linearizability/index.js';

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Wall clock for --timeout-ms; injected so tests can drive it. */
  nowMs(): number;
}

export const EXIT_LINEARIZABLE = 0;
export const EXIT_NOT_LINEARIZABLE = 1;
export const EXIT_USAGE = 2;
export const EXIT_UNKNOWN = 3;
export const EXIT_INTERNAL = 4;
export const TIMEOUT_MS_DEFAULT = 10_000;

const USAGE = `usage: npm run check-history -- <history.json> [--timeout-ms N] [--json]
  --timeout-ms N  give up and answer "unknown" (exit 3) after N ms of search (default ${TIMEOUT_MS_DEFAULT});
                  shrinking a violation to a minimal sub-history gets the same bound again
  --json          print one JSON object on stdout (the human summary goes to stderr)`;

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        'timeout-ms': { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    io.err(`${(error as Error).message}\n${USAGE}`);
    return EXIT_USAGE;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(USAGE);
    return EXIT_LINEARIZABLE;
  }
  if (positionals.length !== 1) {
    io.err(`expected one history file, got ${positionals.length === 0 ? 'none' : positionals.join(' ')}\n${USAGE}`);
    return EXIT_USAGE;
  }
  const file = positionals[0] as string;
  const timeoutText = values['timeout-ms'] ?? String(TIMEOUT_MS_DEFAULT);
  const timeoutMs = Number(timeoutText);
  if (!/^\d+$/.test(timeoutText) || !Number.isSafeInteger(timeoutMs)) {
    io.err(`--timeout-ms must be a non-negative integer, got "${timeoutText}"\n${USAGE}`);
    return EXIT_USAGE;
  }

  let history: History;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    return malformed(io, values.json, file, `cannot read ${file}: ${(error as Error).message}`, 'ERR_HISTORY_READ');
  }
  const startedMs = io.nowMs();
  let result: CheckResult;
  try {
    history = parseHistoryText(text, file);
    result = checkHistory(history.operations, { timeoutMs, nowMs: () => io.nowMs() });
  } catch (error) {
    if (error instanceof HistoryError) return malformed(io, values.json, file, error.message, error.code, error);
    throw error;
  }
  const wallMs = io.nowMs() - startedMs;

  const summary = `${file}: ${renderCheckResult(result)}`;
  if (values.json) {
    io.err(summary);
    io.out(JSON.stringify(jsonOf(file, history, result, wallMs)));
  } else {
    io.out(summary);
  }
  if (result.verdict === 'linearizable') return EXIT_LINEARIZABLE;
  return result.verdict === 'not-linearizable' ? EXIT_NOT_LINEARIZABLE : EXIT_UNKNOWN;
}

function malformed(io: CliIo, json: boolean, file: string, message: string, code: string, error?: HistoryError): number {
  io.err(message);
  if (json) io.out(JSON.stringify({ file, error: { code, message, opIndex: error?.opIndex, field: error?.field } }));
  return EXIT_USAGE;
}

function jsonOf(file: string, history: History, result: CheckResult, wallMs: number): Record<string, unknown> {
  const common = {
    file,
    description: history.description,
    verdict: result.verdict,
    operations: result.operations,
    keys: result.keys,
    dropped: result.dropped,
    steps: result.steps,
    wallMs: Math.round(wallMs),
  };
  switch (result.verdict) {
    case 'linearizable':
      return common;
    case 'unknown':
      return { ...common, reason: result.reason, undecidedKeys: result.undecidedKeys };
    case 'not-linearizable':
      return {
        ...common,
        key: result.key,
        minimal: result.minimal,
        offending: result.offending.map(({ index, operation }) => ({ index, ...operation })),
      };
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const io: CliIo = {
    out: (text) => process.stdout.write(text + '\n'),
    err: (text) => process.stderr.write(text + '\n'),
    nowMs: () => performance.now(),
  };
  main(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`check-history failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = EXIT_INTERNAL;
    },
  );
}
