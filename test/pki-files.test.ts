// Keys and certificates on disk through the platform's Files: keys 0600,
// certificates 0644, written atomically; enrollment, renewal (the old
// certificate stays valid) and recovery of a switch a crash interrupted.
import { describe, expect, it } from 'vitest';
import { SimDisk } from '../sim/network/disk.js';
import { SIM_EPOCH_MS } from '../sim/network/engine.js';
import { Rng } from '../sim/network/rng.js';
import type { Files } from '../src/runtime/platform/types.js';
import {
  createHostCsr,
  createRootCa,
  enrollHostCertificate,
  loadCa,
  loadHostIdentity,
  loadRevocationList,
  recoverHostIdentity,
  renewHostCertificate,
  saveCa,
  saveRevocationList,
  seededKeySource,
  signHostCsr,
  verifyPeerCertificate,
  RevocationList,
  DAY_MS,
  type CertificateAuthority,
  type CsrSigner,
} from '../src/runtime/pki/index.js';

/** The async Files seam over a SimDisk, outside any world. */
function filesOn(disk: SimDisk): Files {
  const run = <T>(action: () => T): Promise<T> => new Promise((resolve) => resolve(action()));
  return {
    readFile: (path) => run(() => disk.readFile(path)),
    writeFile: (path, data, options) => run(() => disk.writeFile(path, data, options)),
    appendFile: (path, data) => run(() => disk.appendFile(path, data)),
    rename: (from, to) => run(() => disk.rename(from, to)),
    unlink: (path) => run(() => disk.unlink(path)),
    mkdir: (path, options) => run(() => disk.mkdir(path, options)),
    readdir: (path) => run(() => disk.readdir(path)),
    stat: (path) => run(() => disk.stat(path)),
    chmod: (path, mode) => run(() => disk.chmod(path, mode)),
    fsync: (path) => run(() => disk.fsync(path)),
    fsyncDir: (path) => run(() => disk.fsyncDir(path)),
  };
}

function newDisk(): SimDisk {
  const disk = new SimDisk(() => SIM_EPOCH_MS);
  disk.mkdir('/etc/pf9', { recursive: true });
  disk.fsyncDir('/etc');
  disk.fsyncDir('/');
  return disk;
}

const PATHS = { keyPath: '/etc/pf9/host.key', certPath: '/etc/pf9/host.crt' };

async function newCa(seed: number): Promise<CertificateAuthority> {
  return createRootCa({ keySource: seededKeySource(Rng.fromSeed(seed).fork('ca-keys')), random: Rng.fromSeed(seed), nowMs: SIM_EPOCH_MS });
}

function signerFor(ca: CertificateAuthority, nowMs: () => number): CsrSigner {
  const random = Rng.fromSeed(99);
  return (csrPem) => Promise.resolve(signHostCsr(ca, csrPem, { random, nowMs: nowMs(), lifetimeMs: 3 * DAY_MS, expectedHostId: 'h1' }));
}

describe('PKI files', () => {
  it('saves the CA key 0600 and certificate 0644, durably, and loads them back', async () => {
    const disk = newDisk();
    const files = filesOn(disk);
    const ca = await newCa(1);
    await saveCa(files, { certPath: '/etc/pf9/ca.crt', keyPath: '/etc/pf9/ca.key' }, ca);
    disk.crash();
    expect(disk.stat('/etc/pf9/ca.key').mode & 0o777).toBe(0o600);
    expect(disk.stat('/etc/pf9/ca.crt').mode & 0o777).toBe(0o644);
    const loaded = await loadCa(files, { certPath: '/etc/pf9/ca.crt', keyPath: '/etc/pf9/ca.key' });
    expect(loaded.certPem).toBe(ca.certPem);
    expect(disk.readdir('/etc/pf9').sort()).toEqual(['ca.crt', 'ca.key']);
  });

  it('enrolls a host: key 0600, certificate 0644, and they belong together', async () => {
    const disk = newDisk();
    const files = filesOn(disk);
    const ca = await newCa(2);
    const keySource = seededKeySource(Rng.fromSeed(2).fork('host-keys'));
    const issued = await enrollHostCertificate({ hostId: 'h1', keySource, sign: signerFor(ca, () => SIM_EPOCH_MS), files, paths: PATHS });
    disk.crash();
    expect(disk.stat(PATHS.keyPath).mode & 0o777).toBe(0o600);
    expect(disk.stat(PATHS.certPath).mode & 0o777).toBe(0o644);
    const identity = await loadHostIdentity(files, PATHS);
    expect(identity.certPem).toBe(issued.certPem);
    expect(disk.readdir('/etc/pf9').sort()).toEqual(['host.crt', 'host.key']);
  });

  it('renews with a new key; the old certificate stays valid until it expires', async () => {
    const disk = newDisk();
    const files = filesOn(disk);
    const ca = await newCa(3);
    const keySource = seededKeySource(Rng.fromSeed(3).fork('host-keys'));
    let nowMs = SIM_EPOCH_MS;
    const sign = signerFor(ca, () => nowMs);
    const old = await enrollHostCertificate({ hostId: 'h1', keySource, sign, files, paths: PATHS });
    const oldKey = disk.readFile(PATHS.keyPath).toString();
    nowMs = SIM_EPOCH_MS + 2 * DAY_MS;
    const renewed = await renewHostCertificate({ hostId: 'h1', keySource, sign, files, paths: PATHS });
    expect(renewed.serialHex).not.toBe(old.serialHex);
    expect(disk.readFile(PATHS.keyPath).toString()).not.toBe(oldKey);
    expect(renewed.notBeforeMs).toBeGreaterThan(old.notBeforeMs);
    const check = { caCertificate: ca.certificate, nowMs, purpose: 'clientAuth' as const };
    expect(verifyPeerCertificate(old.certPem, check).hostId).toBe('h1');
    expect(verifyPeerCertificate(renewed.certPem, check).hostId).toBe('h1');
    expect((await loadHostIdentity(files, PATHS)).certPem).toBe(renewed.certPem);
  });

  it('recovers a switch a crash interrupted: completes it once the certificate is staged', async () => {
    const disk = newDisk();
    const files = filesOn(disk);
    const ca = await newCa(4);
    const keySource = seededKeySource(Rng.fromSeed(4).fork('host-keys'));
    await enrollHostCertificate({ hostId: 'h1', keySource, sign: signerFor(ca, () => SIM_EPOCH_MS), files, paths: PATHS });
    // Stage a renewal by hand, as if the process died after renaming the key only.
    const key = await keySource.generateRsaKey();
    const next = await signerFor(ca, () => SIM_EPOCH_MS)(createHostCsr('h1', key));
    await files.writeFile(`${PATHS.certPath}.next`, next.certPem, { mode: 0o644 });
    await files.writeFile(PATHS.keyPath, key.privateKeyPem, { mode: 0o600 });
    await expect(loadHostIdentity(files, PATHS)).rejects.toMatchObject({ code: 'ERR_PKI_KEY_MISMATCH' });
    expect(await recoverHostIdentity(files, PATHS)).toBe('completed');
    expect((await loadHostIdentity(files, PATHS)).certPem).toBe(next.certPem);
    expect(await recoverHostIdentity(files, PATHS)).toBe('clean');
  });

  it('discards a staged key without a certificate; the old pair is kept', async () => {
    const disk = newDisk();
    const files = filesOn(disk);
    const ca = await newCa(5);
    const keySource = seededKeySource(Rng.fromSeed(5).fork('host-keys'));
    const old = await enrollHostCertificate({ hostId: 'h1', keySource, sign: signerFor(ca, () => SIM_EPOCH_MS), files, paths: PATHS });
    await files.writeFile(`${PATHS.keyPath}.next`, (await keySource.generateRsaKey()).privateKeyPem, { mode: 0o600 });
    expect(await recoverHostIdentity(files, PATHS)).toBe('discarded');
    expect((await loadHostIdentity(files, PATHS)).certPem).toBe(old.certPem);
  });

  it('stores the revocation list atomically; a missing file is an empty list', async () => {
    const disk = newDisk();
    const files = filesOn(disk);
    expect((await loadRevocationList(files, '/etc/pf9/revoked.json')).size).toBe(0);
    const list = RevocationList.empty().revoke({ serialHex: '4a01', reason: 'superseded', revokedAtMs: SIM_EPOCH_MS });
    await saveRevocationList(files, '/etc/pf9/revoked.json', list);
    disk.crash();
    expect((await loadRevocationList(files, '/etc/pf9/revoked.json')).isRevoked('4A01')).toBe(true);
    disk.writeFile('/etc/pf9/revoked.json', 'not json');
    await expect(loadRevocationList(files, '/etc/pf9/revoked.json')).rejects.toMatchObject({ code: 'ERR_PKI_MALFORMED' });
  });
});
