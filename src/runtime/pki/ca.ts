// The DU's root CA: a self-signed RSA-2048 / SHA-256 certificate that signs
// host and gateway certificates. Saved as two PEM files: the key (0600) and
// the certificate (0644, handed to every host at onboarding).
import forge from 'node-forge';
import type { Files, Random } from '../platform/types.js';
import { PkiError } from './errors.js';
import type { KeySource } from './key-source.js';
import { newSerialHex } from './serial.js';
import { DAY_MS, setWindow, validityWindow, windowOf, type CertificateWindow } from './time.js';
import { keyMatchesCertificate, parseCertificatePem, parsePrivateKeyPem } from './pem.js';
import { writeCertificateFile, writeKeyFile } from './store.js';

export const CA_LIFETIME_MS_DEFAULT = 10 * 365 * DAY_MS;

export interface CertificateAuthority {
  readonly certificate: forge.pki.Certificate;
  readonly privateKey: forge.pki.rsa.PrivateKey;
  readonly certPem: string;
  readonly keyPem: string;
  readonly window: CertificateWindow;
}

export interface CreateCaOptions {
  keySource: KeySource;
  random: Random;
  /** `platform.clock.now()`. */
  nowMs: number;
  commonName?: string;
  lifetimeMs?: number;
}

export async function createRootCa(options: CreateCaOptions): Promise<CertificateAuthority> {
  const key = await options.keySource.generateRsaKey();
  const certificate = forge.pki.createCertificate();
  certificate.publicKey = key.publicKey;
  certificate.serialNumber = newSerialHex(options.random);
  setWindow(certificate, validityWindow({ nowMs: options.nowMs, lifetimeMs: options.lifetimeMs ?? CA_LIFETIME_MS_DEFAULT }));
  const subject = [
    { name: 'commonName', value: options.commonName ?? 'pf9lab DU root CA' },
    { name: 'organizationName', value: 'pf9lab' },
  ];
  certificate.setSubject(subject);
  certificate.setIssuer(subject);
  certificate.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  certificate.sign(key.privateKey, forge.md.sha256.create());
  return caFrom(certificate, key.privateKey);
}

/** A CA from its PEM files' contents: the key must belong to the certificate, and the certificate must be a CA. */
export function caFromPem(certPem: string, keyPem: string): CertificateAuthority {
  const certificate = parseCertificatePem(certPem);
  const privateKey = parsePrivateKeyPem(keyPem);
  if (!keyMatchesCertificate(privateKey, certificate)) {
    throw new PkiError('ERR_PKI_KEY_MISMATCH', 'the CA key does not belong to the CA certificate');
  }
  const constraints = certificate.getExtension('basicConstraints') as { cA?: boolean } | null;
  if (constraints?.cA !== true) throw new PkiError('ERR_PKI_WRONG_PURPOSE', 'the CA certificate lacks basicConstraints cA=true');
  return caFrom(certificate, privateKey);
}

export interface CaPaths {
  certPath: string;
  keyPath: string;
}

export async function saveCa(files: Files, paths: CaPaths, ca: CertificateAuthority): Promise<void> {
  await writeKeyFile(files, paths.keyPath, ca.keyPem);
  await writeCertificateFile(files, paths.certPath, ca.certPem);
}

export async function loadCa(files: Files, paths: CaPaths): Promise<CertificateAuthority> {
  const [certPem, keyPem] = await Promise.all([files.readFile(paths.certPath), files.readFile(paths.keyPath)]);
  return caFromPem(certPem.toString('utf8'), keyPem.toString('utf8'));
}

function caFrom(certificate: forge.pki.Certificate, privateKey: forge.pki.rsa.PrivateKey): CertificateAuthority {
  return {
    certificate,
    privateKey,
    certPem: forge.pki.certificateToPem(certificate),
    keyPem: forge.pki.privateKeyToPem(privateKey),
    window: windowOf(certificate),
  };
}
