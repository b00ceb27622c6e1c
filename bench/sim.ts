// The simulation engine's cost per event, against a bare fake-timers loop.
//
// (a) datagrams: 1,000 hosts on 10 segments joined by a router; each sends a
//     UDP datagram every 100 ms to a fixed peer on another segment.
// (b) the streams scenario, seed 1.
// Baseline: a bare @sinonjs/fake-timers loop (createClock, callbacks that only
// re-arm themselves) with as many pending timers as the datagram world keeps,
// run for the same number of events. After a discarded warm-up, runs are
// interleaved and repeated; the median of each is reported with its spread
// (this machine's run-to-run variance is large: up to 2x between processes).
import FakeTimers from '@sinonjs/fake-timers';
import { World } from '../sim/network/world.js';
import { streams } from '../scenarios/streams.js';

const HOSTS = 1000;
const SEGMENTS = 10;
const SEND_INTERVAL_MS = 100;
const DATAGRAM_VIRTUAL_MS = 10_000;
/** Target from the foundation issue: the engine costs at most 2x the bare loop per event. */
const COST_RATIO_MAX = 2;

interface Measure {
  events: number;
  wallMs: number;
  virtualMs: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function bareLoop(pendingTimers: number, events: number): Measure {
  const clock = FakeTimers.createClock(0);
  let fired = 0;
  let state = 12345;
  const nextDelayMs = (): number => {
    state = (state * 1103515245 + 12345) >>> 0;
    return 1 + (state % (2 * SEND_INTERVAL_MS));
  };
  const callback = (): void => {
    fired++;
    clock.setTimeout(callback, nextDelayMs());
  };
  for (let i = 0; i < pendingTimers; i++) clock.setTimeout(callback, nextDelayMs());
  const startMs = performance.now();
  while (fired < events) clock.next();
  return { events: fired, wallMs: performance.now() - startMs, virtualMs: clock.now };
}

export async function datagramWorld(): Promise<Measure & { datagrams: number; delivered: number; pendingTimers: number }> {
  const world = new World({ seed: 1, trace: { recentEventsMax: 0 } });
  const router = world.router('router');
  const perSegment = HOSTS / SEGMENTS;
  let delivered = 0;
  let sent = 0;
  for (let s = 0; s < SEGMENTS; s++) {
    const segment = world.segment(`s${s}`, { latencyMs: 0.5, jitterMs: 0.3 });
    world.attach(router, segment, `198.18.${s}.1/24`);
    for (let i = 0; i < perSegment; i++) {
      const host = world.host(`h${s}-${i}`);
      world.attach(host, segment, `198.18.${s}.${10 + i}/24`, { gateway: `198.18.${s}.1` });
      const peer = `198.18.${(s + 1 + (i % (SEGMENTS - 1))) % SEGMENTS}.${10 + ((i * 7) % perSegment)}`;
      host.onBoot(async (platform) => {
        const socket = await platform.datagrams.udp({ port: 7000 });
        socket.on('message', () => {
          delivered++;
        });
        const payload = Buffer.alloc(64);
        platform.clock.setTimeout(() => {
          platform.clock.setInterval(() => {
            sent++;
            socket.send(payload, 7000, peer);
          }, SEND_INTERVAL_MS);
        }, platform.random.int(SEND_INTERVAL_MS));
      });
    }
  }
  // Boot and resolve ARP before measuring.
  await world.run({ untilMs: 1_000 });
  const eventsBefore = world.engine.eventsRun;
  const sentBefore = sent;
  const pendingTimers = world.engine.pendingTimers;
  const startMs = performance.now();
  await world.run({ untilMs: 1_000 + DATAGRAM_VIRTUAL_MS });
  return {
    events: world.engine.eventsRun - eventsBefore,
    wallMs: performance.now() - startMs,
    virtualMs: DATAGRAM_VIRTUAL_MS,
    datagrams: sent - sentBefore,
    delivered,
    pendingTimers,
  };
}

function spread(runs: Measure[]): { min: number; max: number } {
  const rates = runs.map((run) => Math.round(run.events / (run.wallMs / 1000)));
  return { min: Math.min(...rates), max: Math.max(...rates) };
}

function rates(measure: Measure, baselineEventsPerSec: number) {
  const eventsPerSec = measure.events / (measure.wallMs / 1000);
  return {
    events: measure.events,
    wallMs: Math.round(measure.wallMs),
    virtualMs: measure.virtualMs,
    eventsPerWallSecond: Math.round(eventsPerSec),
    virtualToWallRatio: Number((measure.virtualMs / measure.wallMs).toFixed(2)),
    costPerEventVsBareLoop: Number((baselineEventsPerSec / eventsPerSec).toFixed(2)),
  };
}

export async function benchSim(repeat: number) {
  const datagramRuns: Awaited<ReturnType<typeof datagramWorld>>[] = [];
  const streamRuns: Measure[] = [];
  const baselineRuns: Measure[] = [];
  // Warm-up, discarded: the first runs in a process measure the JIT as much as the engine.
  bareLoop(2000, 200_000);
  await datagramWorld();
  await streams.run({ seed: 1 });
  for (let i = 0; i < repeat; i++) {
    const datagrams = await datagramWorld();
    datagramRuns.push(datagrams);
    baselineRuns.push(bareLoop(datagrams.pendingTimers, datagrams.events));
    const startMs = performance.now();
    const run = await streams.run({ seed: 1 });
    const wallMs = performance.now() - startMs;
    if (!run.invariants.every((check) => check.passed)) throw new Error('streams scenario failed during the benchmark');
    streamRuns.push({ events: run.world.engine.eventsRun, wallMs, virtualMs: run.world.engine.elapsedMs() });
    baselineRuns.push(bareLoop(datagrams.pendingTimers, datagrams.events));
  }
  const baselineEventsPerSec = median(baselineRuns.map((run) => run.events / (run.wallMs / 1000)));
  const pick = <T extends Measure>(runs: T[]): T => {
    const eventsPerSec = median(runs.map((run) => run.events / (run.wallMs / 1000)));
    return runs.find((run) => run.events / (run.wallMs / 1000) === eventsPerSec) as T;
  };
  const datagrams = pick(datagramRuns);
  const streamsRun = pick(streamRuns);
  const datagramRates = rates(datagrams, baselineEventsPerSec);
  const streamRates = rates(streamsRun, baselineEventsPerSec);
  return {
    suite: 'sim',
    node: process.version,
    repeat,
    baseline: {
      what: 'bare @sinonjs/fake-timers loop: createClock(), callbacks that only re-arm themselves',
      pendingTimers: datagrams.pendingTimers,
      eventsPerWallSecond: Math.round(baselineEventsPerSec),
      eventsPerWallSecondSpread: spread(baselineRuns),
    },
    datagrams: {
      what: `${HOSTS} hosts on ${SEGMENTS} segments and a router, a UDP datagram every ${SEND_INTERVAL_MS} ms each, ${DATAGRAM_VIRTUAL_MS} ms virtual`,
      datagramsSent: datagrams.datagrams,
      ...datagramRates,
      eventsPerWallSecondSpread: spread(datagramRuns),
    },
    streams: {
      what: 'the streams scenario, seed 1: TCP bulk through NAT and proxy; its per-event cost includes Node stream machinery, settle rounds and the workload (payload generation, sha256)',
      ...streamRates,
      eventsPerWallSecondSpread: spread(streamRuns),
    },
    target: {
      costPerEventVsBareLoopMax: COST_RATIO_MAX,
      datagramsMet: datagramRates.costPerEventVsBareLoop <= COST_RATIO_MAX,
    },
  };
}
