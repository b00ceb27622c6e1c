// The registry of named scenarios, in the order `npm run scenario -- list` shows them.
import type { Scenario } from '../sim/scenario.js';
import { apiserverDown } from './apiserver-down.js';
import { certRejects } from './cert-rejects.js';
import { etcdCrash } from './etcd-crash.js';
import { etcdPartition } from './etcd-partition.js';
import { failover } from './failover.js';
import { natProxy } from './nat-proxy.js';
import { preempt } from './preempt.js';
import { splitBrain } from './split-brain.js';
import { streams } from './streams.js';
import { vipMinority } from './vip-minority.js';

export const scenarios: ReadonlyMap<string, Scenario> = new Map(
  [failover, preempt, splitBrain, apiserverDown, streams, etcdPartition, etcdCrash, vipMinority, natProxy, certRejects].map((scenario) => [scenario.name, scenario]),
);
