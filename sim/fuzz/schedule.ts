// Fault schedules for fuzzing: what a run may break (a topology), the
// fast-check arbitrary that draws a swarm mix and then episodes from it, and
// the lowering of episodes to the plain Fault list that scheduleFaults applies,
// a report prints and a replay feeds back in.
//
// An episode is one fault with its own end: a partition and its heal, a crash
// and the boot, a degraded link and its restore. Episodes are what fast-check
// generates and shrinks (dropping an episode drops its end with it); the
// lowered schedule is what ran.
//
// Swarm testing (Groce et al., "Swarm Testing", ISSTA 2012): each run first
// draws which fault kinds it uses and how often, so that some runs are all
// crashes, some all partitions, and a rare mix is not drowned by the others.
import fc from 'fast-check';
import type { Fault, FaultKind } from '../network/faults.js';
import type { LinkProfile } from '../network/link.js';

/** What a fuzz run may break, and when. Names are host names of the scenario's world. */
export interface FuzzTopology {
  /** Hosts that partitions may split into any two sets. */
  hosts: readonly string[];
  /** Hosts that may lose power and boot again. */
  crashable: readonly string[];
  /** Hosts whose links may lose, delay, duplicate and reorder frames. */
  degradable: readonly string[];
  /** Services that may be stopped, then started again, or restarted. */
  processes: readonly { host: string; process: string }[];
  /** Hosts whose NAT table may be flushed. */
  nats: readonly string[];
  /** Episodes start at or after this (the world has booted). */
  faultsFromMs: number;
  /** Every episode has ended by now: partitions healed, hosts booted, links restored, services running. */
  quietAtMs: number;
  /** Episodes per run, at most. */
  episodesMax: number;
}

export type Episode =
  | { kind: 'partition'; sideA: string[]; sideB: string[]; atMs: number; forMs: number }
  | { kind: 'partition-one-way'; from: string[]; to: string[]; atMs: number; forMs: number }
  | { kind: 'crash'; host: string; atMs: number; forMs: number }
  | { kind: 'degrade'; host: string; link: Partial<LinkProfile>; atMs: number; forMs: number }
  | { kind: 'stop-process'; host: string; process: string; atMs: number; forMs: number }
  | { kind: 'restart-process'; host: string; process: string; atMs: number }
  | { kind: 'nat-reset'; host: string; atMs: number };

export type EpisodeKind = Episode['kind'];

/** The fault kinds each episode kind applies when it runs its course. */
export const FAULTS_OF_EPISODE: Readonly<Record<EpisodeKind, readonly FaultKind[]>> = {
  partition: ['partition', 'heal'],
  'partition-one-way': ['partition-one-way', 'heal'],
  crash: ['crash', 'restart'],
  degrade: ['degrade', 'restore'],
  'stop-process': ['stop-process', 'restart-process'],
  'restart-process': ['restart-process'],
  'nat-reset': ['nat-reset'],
};

/** A run's swarm mix: the episode kinds it draws from, each with a relative rate. */
export interface SwarmMix {
  kinds: { kind: EpisodeKind; weight: number }[];
  episodesMax: number;
}

export interface FuzzCase {
  mix: SwarmMix;
  episodes: Episode[];
}

/**
 * After a host boots, its services need a moment to start before a process
 * fault on them means anything; and a restart needs a moment to finish.
 * Episodes on one host are kept this far apart.
 */
const SETTLE_GAP_MS = 2_000;
const WEIGHT_MAX = 4;
/** An episode lasts at least this, and a "blip" at most BLIP_MS_MAX. */
const BLIP_MS_MIN = 100;
const BLIP_MS_MAX = 3_000;

/** The episode kinds a topology supports. */
export function episodeKinds(topology: FuzzTopology): EpisodeKind[] {
  const kinds: EpisodeKind[] = [];
  if (topology.hosts.length >= 2) kinds.push('partition', 'partition-one-way');
  if (topology.crashable.length > 0) kinds.push('crash');
  if (topology.degradable.length > 0) kinds.push('degrade');
  if (topology.processes.length > 0) kinds.push('stop-process', 'restart-process');
  if (topology.nats.length > 0) kinds.push('nat-reset');
  return kinds;
}

/** Every fault kind a campaign over this topology must see fire. */
export function expectedFaultKinds(topology: FuzzTopology): FaultKind[] {
  const kinds = new Set<FaultKind>();
  for (const episode of episodeKinds(topology)) for (const fault of FAULTS_OF_EPISODE[episode]) kinds.add(fault);
  return [...kinds].sort();
}

/** A swarm mix, then up to its episodesMax episodes drawn with its rates. */
export function fuzzCaseArb(topology: FuzzTopology): fc.Arbitrary<FuzzCase> {
  const kinds = episodeKinds(topology);
  if (kinds.length === 0) throw new Error('fuzzCaseArb: the topology supports no fault at all');
  if (!(topology.quietAtMs - topology.faultsFromMs >= BLIP_MS_MIN)) {
    throw new Error(`fuzzCaseArb: faults from ${topology.faultsFromMs} ms to the quiet point at ${topology.quietAtMs} ms leave no room for a ${BLIP_MS_MIN} ms episode`);
  }
  const mixArb: fc.Arbitrary<SwarmMix> = fc.record({
    kinds: fc
      .subarray(kinds, { minLength: 1 })
      .chain((chosen) => fc.tuple(...chosen.map((kind) => fc.integer({ min: 1, max: WEIGHT_MAX }).map((weight) => ({ kind, weight }))))),
    episodesMax: fc.integer({ min: 1, max: topology.episodesMax }),
  });
  return mixArb.chain((mix) =>
    fc.record({
      mix: fc.constant(mix),
      episodes: fc.array(fc.oneof(...mix.kinds.map(({ kind, weight }) => ({ arbitrary: episodeArb(topology, kind), weight }))), {
        minLength: 1,
        maxLength: mix.episodesMax,
      }),
    }),
  );
}

function episodeArb(topology: FuzzTopology, kind: EpisodeKind): fc.Arbitrary<Episode> {
  const atMs = fc.integer({ min: topology.faultsFromMs, max: topology.quietAtMs - 1 });
  // Short blips and long outages both matter: a blip races timers, an outage outlasts them.
  const windowMs = topology.quietAtMs - topology.faultsFromMs;
  const blipMsMax = Math.min(BLIP_MS_MAX, windowMs);
  const forMs = fc.oneof(fc.integer({ min: BLIP_MS_MIN, max: blipMsMax }), fc.integer({ min: blipMsMax, max: windowMs }));
  const sides = sidesArb(topology.hosts);
  switch (kind) {
    case 'partition':
      return fc.record({ kind: fc.constant(kind), sideA: sides.map(([a]) => a), sideB: sides.map(([, b]) => b), atMs, forMs });
    case 'partition-one-way':
      return fc.record({ kind: fc.constant(kind), from: sides.map(([a]) => a), to: sides.map(([, b]) => b), atMs, forMs });
    case 'crash':
      return fc.record({ kind: fc.constant(kind), host: fc.constantFrom(...topology.crashable), atMs, forMs });
    case 'degrade':
      return fc.record({ kind: fc.constant(kind), host: fc.constantFrom(...topology.degradable), link: degradedLinkArb, atMs, forMs });
    case 'stop-process':
      return fc.record({ kind: fc.constant(kind), service: fc.constantFrom(...topology.processes), atMs, forMs }).map(({ service, ...rest }) => ({ ...rest, ...service }));
    case 'restart-process':
      return fc.record({ kind: fc.constant(kind), service: fc.constantFrom(...topology.processes), atMs }).map(({ service, ...rest }) => ({ ...rest, ...service }));
    case 'nat-reset':
      return fc.record({ kind: fc.constant(kind), host: fc.constantFrom(...topology.nats), atMs });
  }
}

/**
 * Two disjoint, non-empty sets of hosts; the rest stay on neither side (they
 * hear both). Drawn as one mark per host, so shrinking moves hosts off a
 * side one at a time.
 */
function sidesArb(hosts: readonly string[]): fc.Arbitrary<[string[], string[]]> {
  return fc.array(fc.constantFrom('-', 'A', 'B'), { minLength: hosts.length, maxLength: hosts.length }).map((marks) => {
    const sideA = hosts.filter((_, index) => marks[index] === 'A');
    const sideB = hosts.filter((_, index) => marks[index] === 'B');
    // An empty side takes a host from neither side, or else one from the other side (there are two hosts at least).
    const fill = (empty: string[], other: string[]): void => {
      if (empty.length > 0) return;
      const spare = hosts.find((host) => !other.includes(host));
      empty.push(spare ?? (other.pop() as string));
    };
    fill(sideA, sideB);
    fill(sideB, sideA);
    return [sideA, sideB];
  });
}

/** Some of: loss (up to a black hole), delay with jitter, duplication, reordering. Never nothing. */
const degradedLinkArb: fc.Arbitrary<Partial<LinkProfile>> = fc
  .record(
    {
      lossRate: fc.oneof(fc.constantFrom(0.05, 0.2, 0.5, 1), fc.double({ min: 0.01, max: 0.6, noNaN: true }).map(round3)),
      latencyMs: fc.integer({ min: 1, max: 300 }),
      jitterMs: fc.integer({ min: 0, max: 50 }),
      duplicateRate: fc.double({ min: 0, max: 0.2, noNaN: true }).map(round3),
      reorderRate: fc.double({ min: 0, max: 0.2, noNaN: true }).map(round3),
    },
    { requiredKeys: [] },
  )
  .map((link) => (Object.keys(link).length === 0 ? { lossRate: 0.2 } : link));

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/** An episode's busy span on one host: from its start to its end plus the settle gap. */
interface Claim {
  host: string;
  /** A process name, or '*' for the whole host (a crash). */
  what: string;
  fromMs: number;
  toMs: number;
}

/**
 * The episodes as a plain fault schedule, in time order. Ends are clipped to
 * the quiet point. An episode that would collide with an earlier one on the
 * same host (a crash of a host already down, a stop of a service a crash
 * already took, two degradations of one link) is left out, so that every
 * fault in the schedule does what it says when it fires.
 */
export function lowerEpisodes(episodes: readonly Episode[], topology: FuzzTopology): Fault[] {
  const faults: { fault: Fault; order: number }[] = [];
  const claims: Claim[] = [];
  const endOf = (atMs: number, forMs: number): number => Math.min(atMs + forMs, topology.quietAtMs);
  const add = (fault: Fault): void => {
    faults.push({ fault, order: faults.length });
  };
  const claim = (wanted: Claim): boolean => {
    const clash = claims.some(
      (held) => held.host === wanted.host && (held.what === '*' || wanted.what === '*' || held.what === wanted.what) && held.fromMs < wanted.toMs && wanted.fromMs < held.toMs,
    );
    if (!clash) claims.push(wanted);
    return !clash;
  };
  const ordered = episodes.map((episode, index) => ({ episode, index })).sort((a, b) => a.episode.atMs - b.episode.atMs || a.index - b.index);
  for (const { episode, index } of ordered) {
    const { atMs } = episode;
    switch (episode.kind) {
      case 'partition':
      case 'partition-one-way': {
        const [one, other] = episode.kind === 'partition' ? [episode.sideA, episode.sideB] : [episode.from, episode.to];
        const otherSide = other.filter((host) => !one.includes(host));
        if (otherSide.length === 0) break;
        const id = `cut${index}`;
        add(episode.kind === 'partition' ? { atMs, kind: 'partition', sideA: [...one], sideB: otherSide, id } : { atMs, kind: 'partition-one-way', from: [...one], to: otherSide, id });
        add({ atMs: endOf(atMs, episode.forMs), kind: 'heal', id });
        break;
      }
      case 'crash': {
        const untilMs = endOf(atMs, episode.forMs);
        if (!claim({ host: episode.host, what: '*', fromMs: atMs - SETTLE_GAP_MS, toMs: untilMs + SETTLE_GAP_MS })) break;
        add({ atMs, kind: 'crash', host: episode.host });
        add({ atMs: untilMs, kind: 'restart', host: episode.host });
        break;
      }
      case 'degrade': {
        const untilMs = endOf(atMs, episode.forMs);
        if (!claim({ host: episode.host, what: '#links', fromMs: atMs, toMs: untilMs + 1 })) break;
        add({ atMs, kind: 'degrade', host: episode.host, link: { ...episode.link } });
        add({ atMs: untilMs, kind: 'restore', host: episode.host });
        break;
      }
      case 'stop-process': {
        const untilMs = endOf(atMs, episode.forMs);
        if (!claim({ host: episode.host, what: episode.process, fromMs: atMs, toMs: untilMs + SETTLE_GAP_MS })) break;
        add({ atMs, kind: 'stop-process', host: episode.host, process: episode.process });
        add({ atMs: untilMs, kind: 'restart-process', host: episode.host, process: episode.process });
        break;
      }
      case 'restart-process':
        if (!claim({ host: episode.host, what: episode.process, fromMs: atMs, toMs: atMs + SETTLE_GAP_MS })) break;
        add({ atMs, kind: 'restart-process', host: episode.host, process: episode.process });
        break;
      case 'nat-reset':
        add({ atMs, kind: 'nat-reset', host: episode.host });
        break;
    }
  }
  return faults.sort((a, b) => a.fault.atMs - b.fault.atMs || a.order - b.order).map(({ fault }) => fault);
}
