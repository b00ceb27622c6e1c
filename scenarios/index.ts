// The registry of named scenarios, in the order `npm run scenario -- list` shows them.
import type { Scenario } from '../sim/scenario.js';
import { streams } from './streams.js';

export const scenarios: ReadonlyMap<string, Scenario> = new Map([streams].map((scenario) => [scenario.name, scenario]));
