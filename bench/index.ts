// npm run bench -- <suite> [--repeat N]
// Prints one JSON object. Timings are compared as ratios against a baseline
// measured in the same process, because these machines are shared and noisy.
import { parseArgs } from 'node:util';
import { benchSim } from './sim.js';
import { benchFuzz } from './fuzz.js';
import { benchChecker } from './checker.js';
import { benchTunnel } from './tunnel.js';

const suites: Record<string, (repeat: number) => Promise<unknown>> = {
  sim: benchSim,
  fuzz: benchFuzz,
  checker: benchChecker,
  tunnel: benchTunnel,
};

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { repeat: { type: 'string', default: '3' } },
});
const name = positionals[0];
const suite = name === undefined ? undefined : suites[name];
const repeat = Number(values.repeat);
if (suite === undefined || !Number.isInteger(repeat) || repeat < 1) {
  process.stderr.write(`usage: npm run bench -- <suite> [--repeat N]\nsuites: ${Object.keys(suites).join(', ')}\n`);
  process.exit(2);
}
const result = await suite(repeat);
process.stdout.write(JSON.stringify(result, null, 2) + '\n');
