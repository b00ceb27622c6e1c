// The etcd member's write-ahead log on the simulated disk: what a save makes
// durable survives a crash, what it had not finished does not, a torn last
// line is dropped, and corruption elsewhere stops the member.
import { describe, expect, it } from 'vitest';
import { World } from '../sim/network/world.js';
import { WalRaftStorage, WalError } from '../sim/etcd/member/wal.js';
import type { RaftEntry } from '../sim/etcd/raft/types.js';
import type { Files } from '../src/runtime/platform/types.js';

const DIR = '/var/lib/etcd/member';

function entries(fromIndex: number, term: number, count: number): RaftEntry[] {
  return Array.from({ length: count }, (_, offset) => ({ index: fromIndex + offset, term, kind: 'command' as const, data: `put k${fromIndex + offset}` }));
}

async function inWorld<T>(body: (world: World) => Promise<T>): Promise<T> {
  const world = new World({ seed: 1 });
  world.host('m1');
  let result: T | undefined;
  world.engine.schedule(0, () => {
    void body(world).then((value) => (result = value));
  });
  await world.run({ untilMs: 10_000 });
  if (result === undefined) throw new Error('the body did not finish within the run');
  return result;
}

describe('WalRaftStorage', () => {
  it('loads nothing from a fresh disk, then what was saved, with a later entry replacing the tail from its index', async () => {
    const loaded = await inWorld(async (world) => {
      const wal = new WalRaftStorage(world.getHost('m1').platform.files, DIR);
      const before = await wal.load();
      await wal.save({ hardState: { term: 1, vote: 'm1', commitIndex: 0 }, entries: [{ index: 1, term: 1, kind: 'noop' }, ...entries(2, 1, 3)] });
      await wal.save({ hardState: { term: 2, vote: 'm2', commitIndex: 2 }, entries: entries(3, 2, 1) });
      await wal.save({ hardState: undefined, entries: [{ index: 4, term: 2, kind: 'command', data: new Uint8Array([0, 255, 7]) }] });
      return { before, after: await new WalRaftStorage(world.getHost('m1').platform.files, DIR).load() };
    });
    expect(loaded.before).toEqual({ hardState: { term: 0, vote: undefined, commitIndex: 0 }, entries: [] });
    expect(loaded.after.hardState).toEqual({ term: 2, vote: 'm2', commitIndex: 2 });
    expect(loaded.after.entries).toEqual([
      { index: 1, term: 1, kind: 'noop' },
      { index: 2, term: 1, kind: 'command', data: 'put k2' },
      { index: 3, term: 2, kind: 'command', data: 'put k3' },
      { index: 4, term: 2, kind: 'command', data: new Uint8Array([0, 255, 7]) },
    ]);
  });

  it('keeps what a finished save made durable across a crash, and loses a save the crash interrupted', async () => {
    const world = new World({ seed: 2 });
    const host = world.host('m1');
    let firstSaved = false;
    world.engine.schedule(0, () => {
      const wal = new WalRaftStorage(host.platform.files, DIR);
      void wal
        .save({ hardState: { term: 1, vote: 'm1', commitIndex: 1 }, entries: entries(1, 1, 2) })
        .then(() => {
          firstSaved = true;
          // Started, and cut short by the crash below before its fsync ends.
          void wal.save({ hardState: { term: 5, vote: 'm3', commitIndex: 2 }, entries: entries(3, 5, 1) }).catch(() => {});
          host.crash();
        });
    });
    await world.run({ untilMs: 1_000 });
    expect(firstSaved).toBe(true);
    host.restart();
    let loaded;
    world.engine.schedule(0, () => {
      void new WalRaftStorage(host.platform.files, DIR).load().then((state) => (loaded = state));
    });
    await world.run({ untilMs: 2_000 });
    expect(loaded).toEqual({ hardState: { term: 1, vote: 'm1', commitIndex: 1 }, entries: entries(1, 1, 2) });
  });

  it('drops a torn last line, and refuses a corrupt line before it, naming file and line', async () => {
    const results = await inWorld(async (world) => {
      const files = world.getHost('m1').platform.files;
      await files.mkdir(DIR, { recursive: true });
      await files.writeFile(`${DIR}/wal.jsonl`, '{"t":"hs","term":3,"vote":"m2","commit":0}\n{"t":"noop","i":1,"te');
      const torn = await new WalRaftStorage(files, DIR).load();
      await files.writeFile(`${DIR}/wal.jsonl`, '{"t":"hs","term":3,"vote":"m2","commit":0}\n{"t":"cmd","i":1,"term":-1,"s":"x"}\n');
      const corrupt = await new WalRaftStorage(files, DIR).load().catch((error: unknown) => error);
      return { torn, corrupt };
    });
    expect(results.torn).toEqual({ hardState: { term: 3, vote: 'm2', commitIndex: 0 }, entries: [] });
    expect(results.corrupt).toBeInstanceOf(WalError);
    expect((results.corrupt as WalError).message).toBe(`${DIR}/wal.jsonl:2: "term" must be a non-negative integer`);
  });

  it('does not trust a log file it finds to be durable: a process that died before its fsyncDir left the name in memory only', async () => {
    const world = new World({ seed: 5 });
    const host = world.host('m1');
    let afterCrash: unknown;
    world.engine.schedule(0, () => {
      void (async () => {
        // Incarnation 1 dies while its fsyncDir is in flight: the file's data is durable, its name is not.
        const files = host.platform.files;
        const dying: Files = { ...bindAll(files), fsyncDir: () => new Promise<void>(() => {}) };
        void new WalRaftStorage(dying, DIR).save({ hardState: { term: 1, vote: 'm2', commitIndex: 0 }, entries: [] });
        await host.platform.clock.sleep(100);
        // Incarnation 2, the host still up, finds the file and saves on top of it.
        const wal = new WalRaftStorage(files, DIR);
        await wal.load();
        await wal.save({ hardState: { term: 2, vote: 'm3', commitIndex: 1 }, entries: entries(1, 2, 1) });
        host.crash();
        host.restart();
        afterCrash = await new WalRaftStorage(host.platform.files, DIR).load();
      })();
    });
    await world.run({ untilMs: 5_000 });
    expect(afterCrash).toEqual({ hardState: { term: 2, vote: 'm3', commitIndex: 1 }, entries: entries(1, 2, 1) });
  });
});

/** Every method of a Files object, bound, so that one can be replaced. */
function bindAll(files: Files): Files {
  const methods = ['readFile', 'writeFile', 'appendFile', 'rename', 'unlink', 'mkdir', 'readdir', 'stat', 'chmod', 'fsync', 'fsyncDir'] as const;
  return Object.fromEntries(methods.map((name) => [name, (files[name] as (...args: unknown[]) => unknown).bind(files)])) as unknown as Files;
}
