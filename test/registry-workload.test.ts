// The registry workload the tunnel scenarios pull through: blobs served by
// digest and checked by the puller, on the simulated network; a server that
// corrupts a blob is caught as corruption, one that goes away as a failure.
import { describe, expect, it } from 'vitest';
import { World } from '../sim/network/world.js';
import { makeImage, pullImage, serveRegistry, type PullRecord, type RegistryImage } from '../sim/workloads/registry.js';

function pullThrough(seed: number, tamper?: (image: RegistryImage) => RegistryImage, stopServerAtMs?: number): Promise<PullRecord | undefined> {
  const world = new World({ seed });
  const lan = world.segment('lan', { latencyMs: 1 });
  const registry = world.host('registry');
  const client = world.host('client');
  world.attach(registry, lan, '198.18.0.10/24');
  world.attach(client, lan, '198.18.0.20/24');
  const image = makeImage(registry.platform, 'pf9/pause', [1_000, 200_000, 50_000]);
  registry.onBoot(async (platform) => {
    await serveRegistry(platform, 5000, [tamper === undefined ? image : tamper(image)]);
  });
  let pulled: PullRecord | undefined;
  world.engine.schedule(100, () => {
    void pullImage(client.platform, { client: 'client', image: 'pf9/pause', host: '198.18.0.10', port: 5000, timeoutMs: 5_000, runStartMs: world.engine.startMs }).then((record) => (pulled = record));
  });
  if (stopServerAtMs !== undefined) world.engine.schedule(stopServerAtMs, () => registry.crash());
  return world.run({ untilMs: 30_000 }).then(() => pulled);
}

describe('the registry workload', () => {
  it('pulls every blob and verifies its digest', async () => {
    const pulled = await pullThrough(1);
    expect(pulled).toMatchObject({ state: 'ok', blobs: 3, bytes: 251_000 });
  });

  it('calls a complete blob with the wrong bytes corruption', async () => {
    const pulled = await pullThrough(2, (image) => ({ ...image, blobs: image.blobs.map((blob, index) => (index === 1 ? { ...blob, bytes: Buffer.concat([blob.bytes.subarray(1), Buffer.from([0])]) } : blob)) }));
    expect(pulled?.state).toBe('corrupt');
    expect(pulled?.detail).toMatch(/^blob 1: 200000 bytes with digest sha256:/);
  });

  it('calls a registry that vanishes mid-pull a failure, not corruption', async () => {
    const pulled = await pullThrough(3, undefined, 102);
    expect(pulled?.state).toBe('failed');
  });
});
