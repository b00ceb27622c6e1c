// Known bugs that tests plant on purpose, to prove that the fuzzer and the
// oracles catch them (a checker that never fails proves nothing). Nothing
// plants one outside tests and `npm run fuzz -- --plant <bug>`; the real
// entry points have no way to.
//
// A module-level set, so that it reaches code deep in a protocol core without
// threading a flag through every constructor; each worker thread has its own.

export const PLANTABLE_BUGS = {
  'vrrp-ignore-priority-0': 'a VRRP backup ignores priority-0 adverts: a resigning master is replaced after Master_Down_Interval, not Skew_Time',
  'etcd-read-without-quorum': 'an etcd member answers linearizable reads from its own state, without ReadIndex: a member cut off from the quorum serves stale reads',
  'etcd-ack-before-fsync': "an etcd member's write-ahead log does not fsync: a crash loses entries the member had acknowledged",
} as const;

export type PlantedBug = keyof typeof PLANTABLE_BUGS;

const planted = new Set<PlantedBug>();

export function isPlantableBug(name: string): name is PlantedBug {
  return Object.hasOwn(PLANTABLE_BUGS, name);
}

/** Replaces the set of planted bugs; [] removes them all. */
export function plantBugs(bugs: readonly PlantedBug[]): void {
  planted.clear();
  for (const bug of bugs) planted.add(bug);
}

export function plantedBugs(): PlantedBug[] {
  return [...planted];
}

export function isPlanted(bug: PlantedBug): boolean {
  return planted.size > 0 && planted.has(bug);
}
