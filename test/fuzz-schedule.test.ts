// Fuzz schedules: the swarm arbitrary draws only what a topology supports, and
// the lowering turns episodes into a schedule in which every fault does what
// it says (no crash of a host already down, no stop of a service a crash
// took), all ended by the quiet point.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { episodeKinds, expectedFaultKinds, fuzzCaseArb, lowerEpisodes, type Episode, type FuzzTopology } from '../sim/fuzz/schedule.js';
import { describeFault, type Fault } from '../sim/network/faults.js';
import { failoverFuzz } from '../scenarios/failover-fuzz.js';

const topology: FuzzTopology = {
  hosts: ['a', 'b', 'c', 'd'],
  crashable: ['a', 'b'],
  degradable: ['c'],
  processes: [
    { host: 'a', process: 'svc' },
    { host: 'b', process: 'svc' },
  ],
  nats: ['d'],
  faultsFromMs: 1_000,
  quietAtMs: 30_000,
  episodesMax: 6,
};

describe('lowerEpisodes', () => {
  it('gives each episode its end, clipped to the quiet point, in time order', () => {
    const episodes: Episode[] = [
      { kind: 'crash', host: 'a', atMs: 20_000, forMs: 50_000 },
      { kind: 'partition', sideA: ['a'], sideB: ['b', 'c'], atMs: 5_000, forMs: 1_000 },
      { kind: 'degrade', host: 'c', link: { lossRate: 0.5 }, atMs: 2_000, forMs: 4_000 },
      { kind: 'nat-reset', host: 'd', atMs: 7_000 },
    ];
    expect(lowerEpisodes(episodes, topology).map(describeFault)).toEqual([
      '2.000s degrade c {"lossRate":0.5}',
      '5.000s partition {a} | {b,c} (cut1)',
      '6.000s restore c',
      '6.000s heal cut1',
      '7.000s nat-reset d',
      '20.000s crash a',
      '30.000s restart a',
    ]);
  });

  it('leaves out an episode that collides with an earlier one on the same host', () => {
    const episodes: Episode[] = [
      { kind: 'crash', host: 'a', atMs: 5_000, forMs: 10_000 },
      // a is down: no second crash, no stop of its service, not even just after it boots.
      { kind: 'crash', host: 'a', atMs: 8_000, forMs: 1_000 },
      { kind: 'stop-process', host: 'a', process: 'svc', atMs: 9_000, forMs: 1_000 },
      { kind: 'restart-process', host: 'a', process: 'svc', atMs: 16_000 },
      // Another host, and the same host once settled, are fine.
      { kind: 'stop-process', host: 'b', process: 'svc', atMs: 9_000, forMs: 1_000 },
      { kind: 'restart-process', host: 'a', process: 'svc', atMs: 18_000 },
      // Two degradations of one link would restore each other.
      { kind: 'degrade', host: 'c', link: { latencyMs: 50 }, atMs: 1_000, forMs: 10_000 },
      { kind: 'degrade', host: 'c', link: { lossRate: 1 }, atMs: 2_000, forMs: 1_000 },
    ];
    expect(lowerEpisodes(episodes, topology).map(describeFault)).toEqual([
      '1.000s degrade c {"latencyMs":50}',
      '5.000s crash a',
      '9.000s stop-process b/svc',
      '10.000s restart-process b/svc',
      '11.000s restore c',
      '15.000s restart a',
      '18.000s restart-process a/svc',
    ]);
  });

  it('drops a partition whose second side is all on the first', () => {
    expect(lowerEpisodes([{ kind: 'partition-one-way', from: ['a', 'b'], to: ['b'], atMs: 3_000, forMs: 1_000 }], topology)).toEqual([]);
  });
});

describe('fuzzCaseArb', () => {
  it('offers the episode kinds the topology supports, and expects each of their faults to fire', () => {
    expect(episodeKinds(topology)).toEqual(['partition', 'partition-one-way', 'crash', 'degrade', 'stop-process', 'restart-process', 'nat-reset']);
    expect(episodeKinds({ ...topology, crashable: [], nats: [], degradable: [] })).toEqual(['partition', 'partition-one-way', 'stop-process', 'restart-process']);
    expect(expectedFaultKinds(failoverFuzz.topology)).toEqual(['crash', 'degrade', 'heal', 'partition', 'partition-one-way', 'restart', 'restart-process', 'restore', 'stop-process']);
  });

  it('draws schedules that are well formed: known hosts, disjoint sides, every fault inside the window, every opening closed', () => {
    fc.assert(
      fc.property(fuzzCaseArb(topology), (fuzzCase) => {
        const kinds = new Set(fuzzCase.mix.kinds.map(({ kind }) => kind));
        expect(fuzzCase.episodes.every((episode) => kinds.has(episode.kind))).toBe(true);
        expect(fuzzCase.episodes.length).toBeLessThanOrEqual(fuzzCase.mix.episodesMax);
        const faults = lowerEpisodes(fuzzCase.episodes, topology);
        for (const fault of faults) {
          expect(fault.atMs).toBeGreaterThanOrEqual(topology.faultsFromMs);
          expect(fault.atMs).toBeLessThanOrEqual(topology.quietAtMs);
          if (fault.kind === 'partition') expect(fault.sideA.some((host) => fault.sideB.includes(host))).toBe(false);
          if (fault.kind === 'partition-one-way') expect(fault.from.some((host) => fault.to.includes(host))).toBe(false);
        }
        expect(openAtQuiet(faults)).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
});

/** What a schedule leaves broken at its end: partitions not healed, hosts down, links degraded, services stopped. */
function openAtQuiet(faults: readonly Fault[]): string[] {
  const open = new Set<string>();
  for (const fault of faults) {
    switch (fault.kind) {
      case 'partition':
      case 'partition-one-way':
        open.add(`cut ${fault.id}`);
        break;
      case 'heal':
        open.delete(`cut ${fault.id}`);
        break;
      case 'crash':
        open.add(`down ${fault.host}`);
        break;
      case 'restart':
        open.delete(`down ${fault.host}`);
        break;
      case 'degrade':
        open.add(`degraded ${fault.host}`);
        break;
      case 'restore':
        open.delete(`degraded ${fault.host}`);
        break;
      case 'stop-process':
        open.add(`stopped ${fault.host}/${fault.process}`);
        break;
      case 'restart-process':
        open.delete(`stopped ${fault.host}/${fault.process}`);
        break;
      default:
        break;
    }
  }
  return [...open];
}
