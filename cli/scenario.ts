// npm run scenario -- list
// npm run scenario <name> -- [--seed N] [--json] [--reports DIR]
//
// Exit codes: 0 every invariant holds; 1 an invariant failed (the replay
// command is printed); 2 usage error (an unknown name lists the known ones).
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import type { Scenario } from '../sim/scenario.js';
import { scenarios } from '../scenarios/index.js';
import { renderSummary, replayCommand, resultOf, runScenario, writeReport } from './scenario-runner.js';

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

const USAGE = `usage:
  npm run scenario -- list
  npm run scenario <name> -- [--seed N] [--json] [--reports DIR]`;

export async function main(argv: readonly string[], registry: ReadonlyMap<string, Scenario>, io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        seed: { type: 'string' },
        json: { type: 'boolean', default: false },
        reports: { type: 'string', default: 'reports' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    io.err(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  if (positionals.length !== 1) {
    io.err(`expected one scenario name or "list", got ${positionals.length === 0 ? 'none' : positionals.join(' ')}\n${USAGE}`);
    return 2;
  }
  const name = positionals[0] as string;
  if (name === 'list') {
    for (const scenario of registry.values()) io.out(`${scenario.name.padEnd(16)} ${scenario.summary}`);
    return 0;
  }
  const scenario = registry.get(name);
  if (scenario === undefined) {
    io.err(`unknown scenario "${name}"; known scenarios: ${[...registry.keys()].join(', ')}`);
    return 2;
  }
  const seedText = values.seed ?? '1';
  const seed = Number(seedText);
  if (!/^\d+$/.test(seedText) || !Number.isSafeInteger(seed)) {
    io.err(`--seed must be a non-negative integer, got "${seedText}"\n${USAGE}`);
    return 2;
  }

  let report;
  try {
    report = await runScenario(scenario, seed);
  } catch (error) {
    io.err(`scenario ${name} seed ${seed} aborted: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    io.err(`replay: ${replayCommand(name, seed)}`);
    return 1;
  }
  const reportPath = await writeReport(report, values.reports);
  const summary = `${renderSummary(report)}\n  report: ${reportPath}`;
  if (values.json) io.err(summary);
  else io.out(summary);
  if (!report.passed) io.err(`replay: ${report.replay}`);
  if (values.json) io.out(JSON.stringify(resultOf(report)));
  return report.passed ? 0 : 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const io: CliIo = { out: (text) => process.stdout.write(text + '\n'), err: (text) => process.stderr.write(text + '\n') };
  main(process.argv.slice(2), scenarios, io).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`scenario runner failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
