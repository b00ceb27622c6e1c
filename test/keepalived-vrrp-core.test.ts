// The VRRP state machine on its own: timing formulas against worked RFC
// values, and each rule of RFC 3768/5798 and keepalived's choices, driven
// with explicit times.
import { describe, expect, it } from 'vitest';
import { masterDownIntervalMs, masterStartupWaitMs, skewTimeMs } from '../src/runtime/keepalived/vrrp/timing.js';
import { ScriptVerdict, effectivePriority, evaluateTracking } from '../src/runtime/keepalived/vrrp/tracking.js';
import { VrrpInstance, type VrrpAction, type VrrpInstanceSettings } from '../src/runtime/keepalived/vrrp/instance.js';

function settings(overrides: Partial<VrrpInstanceSettings> = {}): VrrpInstanceSettings {
  return {
    name: 'VI',
    vrid: 51,
    version: 2,
    basePriority: 100,
    advertIntervalMs: 1000,
    initialState: 'BACKUP',
    preempt: true,
    preemptDelayMs: 0,
    primaryIp: '198.18.0.12',
    authAh: false,
    garp: { delayMs: 5000, repeat: 5, refreshMs: 0, refreshRepeat: 1 },
    ...overrides,
  };
}

const kinds = (actions: readonly VrrpAction[]): string[] => actions.map((action) => (action.kind === 'transition' ? `→${action.to}` : action.kind));
const adverts = (actions: readonly VrrpAction[]) => actions.filter((action) => action.kind === 'send-advert');

describe('timing', () => {
  it('matches the worked values: priority 100, advert 1 s ⇒ Master_Down_Interval 3.609 s', () => {
    expect(skewTimeMs(2, 100, 1000)).toBeCloseTo(609.375, 6);
    expect(masterDownIntervalMs(2, 100, 1000)).toBeCloseTo(3609.375, 6);
    expect(masterDownIntervalMs(2, 254, 1000)).toBeCloseTo(3007.8125, 6);
    expect(masterDownIntervalMs(2, 1, 1000)).toBeCloseTo(3996.09375, 6);
  });

  it('scales v3 skew by the master advert interval (RFC 5798 §6.1)', () => {
    // Priority 100, interval 100 cs: skew = (156 × 100 cs)/256 = 60.9375 cs.
    expect(skewTimeMs(3, 100, 1000)).toBeCloseTo(609.375, 6);
    expect(skewTimeMs(3, 100, 500)).toBeCloseTo(304.6875, 6);
    expect(masterDownIntervalMs(3, 200, 200)).toBeCloseTo(600 + (56 * 200) / 256, 6);
  });

  it('lets a state MASTER non-owner wait one interval plus the smallest skew', () => {
    expect(masterStartupWaitMs(2, 1000)).toBeCloseTo(1003.90625, 6);
  });
});

describe('tracking', () => {
  it('counts like keepalived: first result decides, then fall failures or rise successes in a row', () => {
    const verdict = new ScriptVerdict(2, 3);
    expect(verdict.healthy).toBeUndefined();
    expect(verdict.record(true)).toBe(true);
    expect(verdict.healthy).toBe(true);
    expect(verdict.record(false)).toBe(false);
    expect(verdict.record(false)).toBe(false);
    expect(verdict.record(false)).toBe(true);
    expect(verdict.healthy).toBe(false);
    expect(verdict.record(true)).toBe(false);
    expect(verdict.record(true)).toBe(true);
    expect(verdict.healthy).toBe(true);
    const failingFirst = new ScriptVerdict(2, 6);
    failingFirst.record(false);
    expect(failingFirst.healthy).toBe(false);
  });

  it('interrupted failure runs do not add up', () => {
    const verdict = new ScriptVerdict(2, 6);
    verdict.record(true);
    for (let i = 0; i < 5; i++) verdict.record(false);
    verdict.record(true);
    for (let i = 0; i < 5; i++) verdict.record(false);
    expect(verdict.healthy).toBe(true);
    verdict.record(false);
    expect(verdict.healthy).toBe(false);
  });

  it('adds weights, faults on weight 0, clamps non-owners to 1..254', () => {
    expect(evaluateTracking([{ name: 'a', weight: 10, healthy: true }, { name: 'b', weight: -30, healthy: false }])).toEqual({ priorityDelta: -20, faultReason: undefined });
    expect(evaluateTracking([{ name: 'a', weight: 10, healthy: false }, { name: 'b', weight: -30, healthy: true }]).priorityDelta).toBe(0);
    expect(evaluateTracking([{ name: 'chk', weight: 0, healthy: false }]).faultReason).toBe('chk failed');
    expect(evaluateTracking([{ name: 'chk', weight: 0, healthy: undefined }]).faultReason).toMatch(/not reported/);
    expect(effectivePriority(250, 50)).toBe(254);
    expect(effectivePriority(10, -50)).toBe(1);
    expect(effectivePriority(255, -50)).toBe(255);
  });
});

describe('VrrpInstance', () => {
  it('a state BACKUP instance waits the full Master_Down_Interval, then advertises, takes the VIPs and ARPs', () => {
    const vrrp = new VrrpInstance(settings());
    expect(kinds(vrrp.start(0))).toEqual(['→BACKUP']);
    expect(vrrp.nextDeadlineMs()).toBeCloseTo(3609.375, 6);
    expect(vrrp.poll(3609)).toEqual([]);
    const actions = vrrp.poll(3610);
    expect(kinds(actions)).toEqual(['send-advert', '→MASTER', 'add-vips', 'garp']);
    expect(vrrp.holdsVips).toBe(true);
    expect(vrrp.nextDeadlineMs()).toBe(4610);
    expect(kinds(vrrp.poll(4610))).toEqual(['send-advert']);
    // garp_master_delay: a second burst 5 s after taking over.
    expect(kinds(vrrp.poll(8610))).toEqual(['send-advert', 'garp']);
  });

  it('a state MASTER non-owner takes over after one interval plus skew; the owner at once', () => {
    const eager = new VrrpInstance(settings({ initialState: 'MASTER' }));
    eager.start(0);
    expect(eager.nextDeadlineMs()).toBeCloseTo(1003.90625, 6);
    const owner = new VrrpInstance(settings({ basePriority: 255 }));
    owner.start(0);
    expect(kinds(owner.poll(0))).toContain('→MASTER');
  });

  it('a backup that hears priority 0 takes over after Skew_Time only', () => {
    const vrrp = new VrrpInstance(settings());
    vrrp.start(0);
    vrrp.receive(1000, { source: '198.18.0.11', priority: 100, advertIntervalMs: 1000 });
    expect(vrrp.nextDeadlineMs()).toBeCloseTo(4609.375, 6);
    vrrp.receive(2000, { source: '198.18.0.11', priority: 0, advertIntervalMs: 1000 });
    expect(vrrp.nextDeadlineMs()).toBeCloseTo(2609.375, 6);
  });

  it('preempts a lower-priority master by ignoring it, unless nopreempt', () => {
    const preempting = new VrrpInstance(settings({ basePriority: 150 }));
    preempting.start(0);
    preempting.receive(1000, { source: '198.18.0.11', priority: 100, advertIntervalMs: 1000 });
    expect(preempting.nextDeadlineMs()).toBeCloseTo(masterDownIntervalMs(2, 150, 1000), 6);
    const patient = new VrrpInstance(settings({ basePriority: 150, preempt: false }));
    patient.start(0);
    patient.receive(1000, { source: '198.18.0.11', priority: 100, advertIntervalMs: 1000 });
    expect(patient.nextDeadlineMs()).toBeCloseTo(1000 + masterDownIntervalMs(2, 150, 1000), 6);
  });

  it('holds back preemption for preempt_delay, then ignores the lower master', () => {
    const vrrp = new VrrpInstance(settings({ basePriority: 150, preemptDelayMs: 5000 }));
    vrrp.start(0);
    vrrp.receive(1000, { source: '198.18.0.11', priority: 100, advertIntervalMs: 1000 });
    const mdi = masterDownIntervalMs(2, 150, 1000);
    expect(vrrp.nextDeadlineMs()).toBeCloseTo(1000 + mdi, 6);
    vrrp.receive(5000, { source: '198.18.0.11', priority: 100, advertIntervalMs: 1000 });
    expect(vrrp.nextDeadlineMs()).toBeCloseTo(5000 + mdi, 6);
    vrrp.receive(6000, { source: '198.18.0.11', priority: 100, advertIntervalMs: 1000 });
    expect(vrrp.nextDeadlineMs()).toBeCloseTo(5000 + mdi, 6);
  });

  it('a master answers a lower-priority advert at once and refreshes ARP caches, and yields to higher priority or a higher IP on a tie', () => {
    const vrrp = new VrrpInstance(settings({ basePriority: 255 }));
    vrrp.start(0);
    vrrp.poll(0);
    // keepalived's vrrp_state_master_rx: an advert, then garp_lower_prio_repeat (default: garp_master_repeat) gratuitous ARPs.
    expect(kinds(vrrp.receive(100, { source: '198.18.0.13', priority: 100, advertIntervalMs: 1000 }))).toEqual(['send-advert', 'garp']);

    const tie = new VrrpInstance(settings());
    tie.start(0);
    tie.poll(4000);
    expect(kinds(tie.receive(4100, { source: '198.18.0.11', priority: 100, advertIntervalMs: 1000 }))).toEqual(['send-advert', 'garp']);
    expect(kinds(tie.receive(4200, { source: '198.18.0.13', priority: 100, advertIntervalMs: 1000 }))).toEqual(['remove-vips', '→BACKUP']);
    expect(tie.holdsVips).toBe(false);
  });

  it('drops v2 adverts with another interval; v3 backups adopt the master interval', () => {
    const v2 = new VrrpInstance(settings());
    v2.start(0);
    expect(v2.receive(10, { source: '198.18.0.11', priority: 100, advertIntervalMs: 2000 })).toEqual([
      expect.objectContaining({ kind: 'drop', reason: 'interval-mismatch' }),
    ]);
    const v3 = new VrrpInstance(settings({ version: 3 }));
    v3.start(0);
    v3.receive(10, { source: '198.18.0.11', priority: 200, advertIntervalMs: 500 });
    expect(v3.masterDownIntervalMs).toBeCloseTo(masterDownIntervalMs(3, 100, 500), 6);
    expect(v3.nextDeadlineMs()).toBeCloseTo(10 + 1500 + (156 * 500) / 256, 6);
  });

  it('goes to FAULT on a failed weight-0 check: priority 0 advert, VIPs removed; recovers as BACKUP', () => {
    const vrrp = new VrrpInstance(settings());
    vrrp.start(0);
    vrrp.poll(4000);
    expect(vrrp.state).toBe('MASTER');
    const fault = vrrp.setTracking(5000, 0, 'chk_apiserver failed');
    expect(kinds(fault)).toEqual(['send-advert', 'remove-vips', '→FAULT']);
    expect(adverts(fault)[0]).toMatchObject({ priority: 0 });
    expect(vrrp.nextDeadlineMs()).toBeUndefined();
    expect(vrrp.receive(5100, { source: '198.18.0.11', priority: 100, advertIntervalMs: 1000 })).toEqual([]);
    expect(kinds(vrrp.setTracking(9000, 0, undefined))).toEqual(['→BACKUP']);
    expect(vrrp.nextDeadlineMs()).toBeCloseTo(9000 + 3609.375, 6);
  });

  it('starts in FAULT while tracking says so', () => {
    const vrrp = new VrrpInstance(settings());
    vrrp.setTracking(0, 0, 'chk has not reported yet');
    expect(kinds(vrrp.start(0))).toEqual(['→FAULT']);
  });

  it('adverts carry the effective priority; stop resigns with priority 0', () => {
    const vrrp = new VrrpInstance(settings());
    vrrp.setTracking(0, 20, undefined);
    vrrp.start(0);
    expect(adverts(vrrp.poll(4000))[0]).toMatchObject({ priority: 120 });
    const stop = vrrp.stop();
    expect(kinds(stop)).toEqual(['send-advert', 'remove-vips', '→STOP']);
    expect(adverts(stop)[0]).toMatchObject({ priority: 0 });
    expect(vrrp.stop()).toEqual([]);
  });

  it('keeps one AH sequence number per instance, for what it sends and what it accepts', () => {
    const vrrp = new VrrpInstance(settings({ authAh: true }));
    vrrp.start(0);
    vrrp.receive(1000, { source: '198.18.0.11', priority: 100, advertIntervalMs: 1000, ahSequence: 41 });
    expect(vrrp.receive(1100, { source: '198.18.0.13', priority: 100, advertIntervalMs: 1000, ahSequence: 41 })).toEqual([
      expect.objectContaining({ kind: 'drop', reason: 'ah-replay' }),
    ]);
    // Nothing accepted since 1000: the down timer runs out and our first advert continues from 41.
    expect(adverts(vrrp.poll(4610))[0]).toMatchObject({ ahSequence: 42 });
    // A master that hears a loser resyncs past its number before answering.
    expect(adverts(vrrp.receive(4700, { source: '198.18.0.11', priority: 50, advertIntervalMs: 1000, ahSequence: 90 }))[0]).toMatchObject({ ahSequence: 92 });
  });

  it('refuses adverts from its own address', () => {
    const vrrp = new VrrpInstance(settings());
    vrrp.start(0);
    expect(vrrp.receive(10, { source: '198.18.0.12', priority: 100, advertIntervalMs: 1000 })).toEqual([
      expect.objectContaining({ kind: 'drop', reason: 'own-address' }),
    ]);
  });
});
