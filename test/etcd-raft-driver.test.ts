// Raft on the simulated network: three members, each a host with its WAL on
// its own disk and the peer transport on port 2380, driven by the member's
// Raft driver. A leader is elected, commands commit and apply everywhere in
// order, a leader crash elects another, and the crashed member comes back
// from its disk and catches up.
import { describe, expect, it } from 'vitest';
import { World } from '../sim/network/world.js';
import { PeerTransport } from '../sim/etcd/member/peer-transport.js';
import { RaftDriver } from '../sim/etcd/member/raft-driver.js';
import { WalRaftStorage } from '../sim/etcd/member/wal.js';

const MEMBERS = new Map([
  ['m1', '198.18.0.11'],
  ['m2', '198.18.0.12'],
  ['m3', '198.18.0.13'],
]);

interface Member {
  driver: RaftDriver | undefined;
  applied: string[];
}

function cluster(seed: number): { world: World; members: Map<string, Member> } {
  const world = new World({ seed });
  const lan = world.segment('lan', { latencyMs: 0.5, jitterMs: 0.5 });
  const members = new Map<string, Member>();
  for (const [name, ip] of MEMBERS) {
    const host = world.host(name);
    world.attach(host, lan, `${ip}/24`);
    const member: Member = { driver: undefined, applied: [] };
    members.set(name, member);
    host.onBoot(async (platform) => {
      // A boot rebuilds the state machine from the committed log.
      member.applied = [];
      member.driver = undefined;
      const transport = await PeerTransport.start(platform, {
        self: name,
        peers: new Map([...MEMBERS].filter(([peer]) => peer !== name)),
        listenHost: '0.0.0.0',
        onMessage: (message) => member.driver?.receive(message),
        log: platform.log,
      });
      member.driver = await RaftDriver.start({
        config: { id: name, members: [...MEMBERS.keys()] },
        random: platform.random,
        clock: platform.clock,
        storage: new WalRaftStorage(platform.files, '/var/lib/etcd'),
        send: (message) => transport.send(message),
        apply: (_index, command) => {
          member.applied.push(command);
          return member.applied.length;
        },
        log: platform.log,
      });
    });
  }
  return { world, members };
}

function leaderOf(members: Map<string, Member>): string | undefined {
  return [...members].find(([, member]) => member.driver?.leadership.isLeader === true)?.[0];
}

describe('the Raft driver on the simulated network', () => {
  it('elects a leader, commits on every member in order, survives the leader crash, and the crashed member catches up from its disk', async () => {
    const { world, members } = cluster(3);
    await world.run({ untilMs: 5_000 });
    const first = leaderOf(members);
    expect(first).toBeDefined();

    const answers: unknown[] = [];
    world.engine.schedule(0, () => {
      for (const command of ['a', 'b', 'c']) void members.get(first!)!.driver!.propose(command).then((answer) => answers.push(answer));
    });
    await world.run({ untilMs: 6_000 });
    expect(answers).toEqual([
      { ok: true, response: 1 },
      { ok: true, response: 2 },
      { ok: true, response: 3 },
    ]);
    for (const member of members.values()) expect(member.applied).toEqual(['a', 'b', 'c']);

    world.getHost(first!).crash();
    await world.run({ untilMs: 12_000 });
    const second = leaderOf(new Map([...members].filter(([name]) => name !== first)));
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
    world.engine.schedule(0, () => void members.get(second!)!.driver!.propose('d'));
    await world.run({ untilMs: 13_000 });

    world.getHost(first!).restart();
    await world.run({ untilMs: 20_000 });
    for (const member of members.values()) expect(member.applied).toEqual(['a', 'b', 'c', 'd']);
    // The rejoining member did not depose the healthy leader (pre-vote, check-quorum).
    expect(leaderOf(members)).toBe(second);
  });

  it('refuses a proposal on a follower with the leader as a hint', async () => {
    const { world, members } = cluster(4);
    await world.run({ untilMs: 5_000 });
    const leader = leaderOf(members)!;
    const follower = [...members.keys()].find((name) => name !== leader)!;
    let answer: unknown;
    world.engine.schedule(0, () => void members.get(follower)!.driver!.propose('x').then((result) => (answer = result)));
    await world.run({ untilMs: 5_100 });
    expect(answer).toEqual({ ok: false, code: 'ERR_RAFT_NOT_LEADER', leaderHint: leader });
  });
});
