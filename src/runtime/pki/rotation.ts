// Rotation before expiry. A host renews when a fixed fraction of its
// certificate's lifetime is left; the new key and certificate replace the old
// ones on disk, and the old certificate stays valid (and unrevoked) until it
// expires, so connections opened with it are not cut.
import type forge from 'node-forge';
import type { Files } from '../platform/types.js';
import { errorCode } from '../platform/errors.js';
import { createHostCsr } from './csr.js';
import { PkiError } from './errors.js';
import type { HostCertificate } from './host-certificate.js';
import type { KeySource } from './key-source.js';
import { keyMatchesCertificate, parseCertificatePem, parsePrivateKeyPem } from './pem.js';
import { writeCertificateFile, writeKeyFile } from './store.js';
import type { CertificateWindow } from './time.js';

export const RENEW_BEFORE_FRACTION_DEFAULT = 1 / 3;

/** When to renew: `renewBeforeFraction` of the lifetime before notAfter. Pure. */
export function rotationDueAtMs(certificate: CertificateWindow, options: { renewBeforeFraction?: number } = {}): number {
  const fraction = options.renewBeforeFraction ?? RENEW_BEFORE_FRACTION_DEFAULT;
  if (!(fraction > 0 && fraction < 1)) throw new PkiError('ERR_PKI_INVALID_ARGUMENT', `renewBeforeFraction must be in (0, 1), got ${fraction}`);
  const lifetimeMs = certificate.notAfterMs - certificate.notBeforeMs;
  if (!(lifetimeMs > 0)) throw new PkiError('ERR_PKI_INVALID_ARGUMENT', `empty validity window [${certificate.notBeforeMs}, ${certificate.notAfterMs}]`);
  return certificate.notAfterMs - Math.floor(lifetimeMs * fraction);
}

export interface HostIdentityPaths {
  keyPath: string;
  certPath: string;
}

/** Sends a CSR to the DU's CA and returns the certificate it issued (in-process in tests, over the tunnel in production). */
export type CsrSigner = (csrPem: string) => Promise<HostCertificate>;

export interface EnrollOptions {
  hostId: string;
  keySource: KeySource;
  sign: CsrSigner;
  files: Files;
  paths: HostIdentityPaths;
}

/**
 * Onboarding and renewal are the same flow: a new key, a CSR, the CA signs,
 * the pair is stored. The returned certificate is checked against the key
 * and the host before anything is written.
 *
 * Two files cannot be replaced in one atomic step, so the pair is staged:
 * `<key>.next` then `<cert>.next` (each written atomically), then renamed
 * over the live paths, key first. `recoverHostIdentity` completes or
 * discards a switch a crash interrupted.
 */
export async function enrollHostCertificate(options: EnrollOptions): Promise<HostCertificate> {
  const key = await options.keySource.generateRsaKey();
  const issued = await options.sign(createHostCsr(options.hostId, key));
  const certificate = parseCertificatePem(issued.certPem);
  if (!keyMatchesCertificate(key.privateKey, certificate)) throw new PkiError('ERR_PKI_KEY_MISMATCH', 'the CA returned a certificate for another key');
  if (issued.hostId !== options.hostId) throw new PkiError('ERR_PKI_NAME_MISMATCH', `the CA returned a certificate for '${issued.hostId}'`);
  const { files, paths } = options;
  await writeKeyFile(files, nextPath(paths.keyPath), key.privateKeyPem);
  await writeCertificateFile(files, nextPath(paths.certPath), issued.certPem);
  await switchToNext(files, paths);
  return issued;
}

/** Renewal: the same flow as onboarding. The old certificate is neither revoked nor touched at the CA. */
export const renewHostCertificate = enrollHostCertificate;

/**
 * After a crash: if a staged certificate exists, its key was made durable
 * before it, so the switch is completed; a staged key alone is discarded (the
 * old pair is intact). Call before loading the identity.
 */
export async function recoverHostIdentity(files: Files, paths: HostIdentityPaths): Promise<'completed' | 'discarded' | 'clean'> {
  if (await exists(files, nextPath(paths.certPath))) {
    await switchToNext(files, paths);
    return 'completed';
  }
  if (await exists(files, nextPath(paths.keyPath))) {
    await files.unlink(nextPath(paths.keyPath));
    await files.fsyncDir(dirOf(paths.keyPath));
    return 'discarded';
  }
  return 'clean';
}

/** Loads the host's key and certificate and checks they belong together. */
export async function loadHostIdentity(files: Files, paths: HostIdentityPaths): Promise<{ keyPem: string; certPem: string; certificate: forge.pki.Certificate }> {
  const keyPem = (await files.readFile(paths.keyPath)).toString('utf8');
  const certPem = (await files.readFile(paths.certPath)).toString('utf8');
  const certificate = parseCertificatePem(certPem);
  if (!keyMatchesCertificate(parsePrivateKeyPem(keyPem), certificate)) {
    throw new PkiError('ERR_PKI_KEY_MISMATCH', `${paths.keyPath} does not belong to ${paths.certPath}`);
  }
  return { keyPem, certPem, certificate };
}

async function switchToNext(files: Files, paths: HostIdentityPaths): Promise<void> {
  if (await exists(files, nextPath(paths.keyPath))) await files.rename(nextPath(paths.keyPath), paths.keyPath);
  await files.rename(nextPath(paths.certPath), paths.certPath);
  await files.fsyncDir(dirOf(paths.keyPath));
  if (dirOf(paths.certPath) !== dirOf(paths.keyPath)) await files.fsyncDir(dirOf(paths.certPath));
}

function nextPath(path: string): string {
  return `${path}.next`;
}

function dirOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? '/' : path.slice(0, slash);
}

async function exists(files: Files, path: string): Promise<boolean> {
  try {
    await files.stat(path);
    return true;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false;
    throw error;
  }
}
