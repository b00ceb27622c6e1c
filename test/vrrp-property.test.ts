// VRRP on the simulated LAN, as fast-check properties: random clusters of
// 2–4 masters running keepalived with the product's configuration (AH,
// health-checked apiserver) varied in priority (1..254, often equal), advert
// interval (1 or 2 s, the same on every master as v2 requires), preemption
// and boot times, under 0–3 random faults: host crash (and maybe reboot),
// a partition of the masters into two groups (and maybe heal), the
// apiserver stopped (six failed checks 10 s apart, then FAULT), keepalived
// stopped (STOP, priority-0 advert). Crashes and stops target a master by
// index or whoever holds the VIP when they fire.
//
// Each run lasts until the cluster has had the longest Master_Down_Interval (priority 1) + an advert
// + the AH dual-master allowance to settle after its last disturbance (a
// fault, a reboot, an instance entering or leaving FAULT, STOP or INIT),
// plus JUDGED_TAIL_MS during which the settled state must hold.
//
// A failure prints fast-check's seed and path, the shrunk case (which names
// the world seed) and the run's whole timeline: the faults as applied, who
// held the VIP when, every instance transition. Replay it with
//   VRRP_PROPERTY_SEED=<seed> VRRP_PROPERTY_PATH=<path> npx vitest run test/vrrp-property.test.ts -t '<words of the test name>'
// (the path belongs to one property, hence -t). VRRP_PROPERTY_RUNS=<n> runs
// more cases (fuzzing outside CI).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { failoverCaseArb, runCase, vrrpCaseArb, type VrrpCase } from './helpers/vrrp-property.js';
import { describeTimeline, settledAtMs, type StateChange, type VrrpTimeline } from '../sim/vrrp/timeline.js';
import { checkBestHolder, checkFailoverBound, checkOneHolderPerComponent, checkVipOnlyOnMaster } from '../sim/vrrp/timeline-oracles.js';
import { takeoverBoundMs } from '../sim/vrrp/oracle.js';

const NUM_RUNS = Number(process.env.VRRP_PROPERTY_RUNS ?? 60);

function assertParameters(): fc.Parameters<[VrrpCase]> {
  const seed = process.env.VRRP_PROPERTY_SEED;
  const path = process.env.VRRP_PROPERTY_PATH;
  return {
    numRuns: NUM_RUNS,
    ...(seed === undefined ? {} : { seed: Number(seed) }),
    ...(path === undefined ? {} : { path }),
  };
}

function expectNoViolations(property: string, violations: readonly string[], timeline: VrrpTimeline): void {
  if (violations.length > 0) throw new Error(`${property}:\n  ${violations.join('\n  ')}\n${describeTimeline(timeline)}`);
}

describe('VRRP on the simulated LAN under random faults', () => {
  it('after faults stop and Master_Down_Interval + an advert + the AH dual-master allowance pass, every group of connected masters with a healthy instance has exactly one VIP holder, and none has two', async () => {
    await fc.assert(
      fc.asyncProperty(vrrpCaseArb(), async (testCase) => {
        const { timeline } = await runCase(testCase);
        expectNoViolations('one holder per connected group', checkOneHolderPerComponent(timeline), timeline);
      }),
      assertParameters(),
    );
  });

  it('with preemption on, once faults stop and the cluster has settled, the holder in every group of connected masters is a live healthy master of the highest priority there', async () => {
    await fc.assert(
      fc.asyncProperty(vrrpCaseArb({ preempt: true }), async (testCase) => {
        const { timeline } = await runCase(testCase);
        expectNoViolations('the best master holds the VIP', checkBestHolder(timeline), timeline);
      }),
      assertParameters(),
    );
  });

  it('when the VIP holder crashes while other healthy masters can hear it, another master holds the VIP within takeoverBoundMs of the crash (best survivor priority)', async () => {
    let judged = 0;
    await fc.assert(
      fc.asyncProperty(failoverCaseArb(), async (testCase) => {
        const { timeline } = await runCase(testCase);
        const judgement = checkFailoverBound(timeline);
        judged += judgement.judged;
        expectNoViolations('takeover within the bound', judgement.violations, timeline);
      }),
      assertParameters(),
    );
    // Not vacuous: most runs crash a holder with survivors around and nothing else going on.
    expect(judged, 'holder crashes judged').toBeGreaterThanOrEqual(Math.ceil(NUM_RUNS / 4));
  });

  it('a host holds the VIP only while its keepalived instance is MASTER: never in FAULT, STOP, BACKUP or INIT, never while the host is down', async () => {
    await fc.assert(
      fc.asyncProperty(vrrpCaseArb(), async (testCase) => {
        const { timeline } = await runCase(testCase);
        expectNoViolations('the VIP only on a MASTER', checkVipOnlyOnMaster(timeline), timeline);
      }),
      assertParameters(),
    );
  });

  it('replays a generated case to the same timeline and trace, byte for byte', async () => {
    const [testCase] = fc.sample(vrrpCaseArb({ faultsMin: 3 }), { seed: 20_260_107, numRuns: 1 });
    const first = await runCase(testCase!);
    const again = await runCase(testCase!);
    expect(describeTimeline(again.timeline)).toBe(describeTimeline(first.timeline));
    expect(again.cluster.world.engine.trace.digest()).toBe(first.cluster.world.engine.trace.digest());
  });
});

// ------------------------------------------------------------------ the oracles can fail

const M1 = { name: 'm1', ip: '198.18.0.11', priority: 100 };
const M2 = { name: 'm2', ip: '198.18.0.12', priority: 100 };
const ADVERT_MS = 1_000;
/** Both masters up and BACKUP from the start; nothing disturbs them after 0 ms. */
function handMade(timeline: Partial<VrrpTimeline> & Pick<VrrpTimeline, 'vip'>): VrrpTimeline {
  const states: StateChange[] = [
    { atMs: 0, host: 'm1', state: 'BACKUP' },
    { atMs: 0, host: 'm2', state: 'BACKUP' },
  ];
  // Every holder is MASTER while it holds, unless the story says otherwise.
  for (const interval of timeline.vip) states.push({ atMs: interval.fromMs, host: interval.host, state: 'MASTER' });
  return {
    masters: [M1, M2],
    advertIntervalMs: ADVERT_MS,
    preempt: false,
    states: states.sort((a, b) => a.atMs - b.atMs),
    faults: [],
    quietAtMs: 0,
    endMs: 40_000,
    ...timeline,
  };
}

describe('the VRRP oracles catch what they claim to', () => {
  const settledMs = settledAtMs(handMade({ vip: [] }));

  it('one holder per group: two holders in one group after settling, or none, is caught; two holders on two sides of a partition, or two before settling, are not', () => {
    const twoHolders = handMade({ vip: [{ host: 'm1', fromMs: 4_000, toMs: undefined }, { host: 'm2', fromMs: 5_000, toMs: undefined }] });
    expect(checkOneHolderPerComponent(twoHolders)).toEqual([expect.stringContaining('has 2 holder(s): m1,m2')]);
    const partitioned = { ...twoHolders, faults: [{ atMs: 0, kind: 'partition' as const, sideA: ['m1'], sideB: ['m2'], id: 'cut' }] };
    expect(checkOneHolderPerComponent(partitioned)).toEqual([]);
    const nobody = handMade({ vip: [{ host: 'm1', fromMs: 4_000, toMs: settledMs + 1_000 }] });
    expect(checkOneHolderPerComponent(nobody)).toEqual([expect.stringContaining('has 0 holder(s)')]);
    const earlyDual = handMade({ vip: [{ host: 'm1', fromMs: 4_000, toMs: undefined }, { host: 'm2', fromMs: 5_000, toMs: 6_000 }] });
    expect(checkOneHolderPerComponent(earlyDual)).toEqual([]);
  });

  it('best holder: a lower-priority holder with preemption on is caught; an equal-priority holder with the lower address is not', () => {
    const lower = handMade({ preempt: true, masters: [{ ...M1, priority: 50 }, M2], vip: [{ host: 'm1', fromMs: 4_000, toMs: undefined }] });
    expect(checkBestHolder(lower)).toEqual([expect.stringContaining('m1 (priority 50, MASTER) holds the VIP')]);
    const tie = handMade({ preempt: true, vip: [{ host: 'm1', fromMs: 4_000, toMs: undefined }] });
    expect(checkBestHolder(tie)).toEqual([]);
  });

  it('failover bound: a takeover later than takeoverBoundMs after the holder crashed is caught; one within it is not', () => {
    const boundMs = takeoverBoundMs({ version: 2, advertIntervalMs: ADVERT_MS, survivorPriority: 100 });
    const story = (takeoverAfterMs: number): VrrpTimeline =>
      handMade({
        vip: [{ host: 'm1', fromMs: 4_000, toMs: 10_000 }, { host: 'm2', fromMs: 10_000 + takeoverAfterMs, toMs: undefined }],
        faults: [{ atMs: 10_000, kind: 'crash', host: 'm1' }],
        quietAtMs: 10_000,
      });
    const late = checkFailoverBound(story(boundMs + 1));
    expect(late.judged).toBe(1);
    expect(late.violations).toEqual([expect.stringContaining('m2 did at')]);
    expect(checkFailoverBound(story(3_700))).toEqual({ violations: [], judged: 1, skipped: 0 });
  });

  it('VIP only on a MASTER: a VIP kept into FAULT is caught; one removed in the same instant as the transition is not', () => {
    const vip = [{ host: 'm1', fromMs: 4_000, toMs: 30_000 }];
    const kept = handMade({ vip });
    kept.states.push({ atMs: 20_000, host: 'm1', state: 'FAULT' });
    expect(checkVipOnlyOnMaster(kept)).toEqual([expect.stringContaining('its instance was FAULT 20000–40000 ms')]);
    const released = handMade({ vip });
    released.states.push({ atMs: 30_000, host: 'm1', state: 'FAULT' });
    expect(checkVipOnlyOnMaster(released)).toEqual([]);
  });

  it('on a real run: a VIP added by hand on the backup after settling breaks "one holder per group" and "VIP only on a MASTER"', async () => {
    const testCase: VrrpCase = { seed: 1, advertIntervalS: 1, preempt: false, masters: [{ priority: 100, bootAtMs: 0 }, { priority: 100, bootAtMs: 1_000 }], faults: [] };
    const { timeline } = await runCase(testCase, {
      setUp: (cluster) => {
        const backup = cluster.masters[1]!;
        cluster.world.engine.schedule(27_000, () => {
          void backup.platform.addresses.add('eth0', cluster.vip, 24);
        });
      },
    });
    expect(timeline.vip.map((interval) => interval.host)).toEqual(['m1', 'm2']);
    expect(checkOneHolderPerComponent(timeline)).toEqual([expect.stringContaining('has 2 holder(s): m1,m2')]);
    expect(checkVipOnlyOnMaster(timeline)).toEqual([expect.stringContaining('m2 held the VIP 27000–end ms, but its instance was BACKUP')]);
  });

  it('on a real run: with preemption on, a lower-priority master that cannot hear the better one keeps the VIP, and "best holder" says so', async () => {
    const testCase: VrrpCase = { seed: 1, advertIntervalS: 1, preempt: true, masters: [{ priority: 50, bootAtMs: 0 }, { priority: 200, bootAtMs: 0 }], faults: [] };
    const { timeline } = await runCase(testCase, { faults: [{ atMs: 0, kind: 'partition-one-way', from: ['m2'], to: ['m1'] }] });
    expect(checkBestHolder(timeline)[0]).toContain('m1 (priority 50, MASTER) holds the VIP');
  });

  it('on a real run: a survivor that hears the dead holder 8 s late takes over past the bound, and "failover bound" says so', async () => {
    // m2 boots once m1's adverts are on their way to it, so it starts as a backup.
    const testCase: VrrpCase = { seed: 1, advertIntervalS: 1, preempt: false, masters: [{ priority: 200, bootAtMs: 0 }, { priority: 100, bootAtMs: 10_000 }], faults: [] };
    const { timeline } = await runCase(testCase, {
      faults: [
        { atMs: 0, kind: 'degrade', host: 'm2', link: { latencyMs: 8_000 } },
        { atMs: 20_000, kind: 'crash', host: 'm1' },
      ],
    });
    const judgement = checkFailoverBound(timeline);
    expect(judgement.judged).toBe(1);
    expect(judgement.violations).toEqual([expect.stringContaining('m1 held the VIP and crashed at 20000 ms')]);
  });
});
