// The CA signs a host's CSR into a client certificate (extKeyUsage
// clientAuth), with a fresh serial and a window from the platform clock.
import forge from 'node-forge';
import type { Random } from '../platform/types.js';
import type { CertificateAuthority } from './ca.js';
import { checkHostCsr } from './csr.js';
import { hostDnsName } from './host-id.js';
import { newSerialHex } from './serial.js';
import { DAY_MS, setWindow, validityWindow, windowOf, type CertificateWindow } from './time.js';

export const HOST_CERT_LIFETIME_MS_DEFAULT = 365 * DAY_MS;

export interface IssuedCertificate extends CertificateWindow {
  readonly certPem: string;
  readonly serialHex: string;
}

export interface HostCertificate extends IssuedCertificate {
  readonly hostId: string;
}

export interface SignHostCsrOptions {
  random: Random;
  /** `platform.clock.now()`. */
  nowMs: number;
  lifetimeMs?: number;
  /** The host being onboarded: a CSR naming another host is refused. */
  expectedHostId?: string;
}

/** Checks the CSR (see checkHostCsr: every refusal is a PkiError) and signs it. */
export function signHostCsr(ca: CertificateAuthority, csrPem: string, options: SignHostCsrOptions): HostCertificate {
  const checked = checkHostCsr(csrPem, options.expectedHostId === undefined ? {} : { expectedHostId: options.expectedHostId });
  const certificate = newLeaf(ca, checked.publicKey, options.random, options.nowMs, options.lifetimeMs ?? HOST_CERT_LIFETIME_MS_DEFAULT);
  certificate.setSubject([{ name: 'commonName', value: checked.hostId }]);
  certificate.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', clientAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 2, value: hostDnsName(checked.hostId) }] },
    ...identifiers(ca),
  ]);
  certificate.sign(ca.privateKey, forge.md.sha256.create());
  return { hostId: checked.hostId, ...issued(certificate) };
}

/** The parts every leaf shares: key, serial, window, issuer. */
export function newLeaf(
  ca: CertificateAuthority,
  publicKey: forge.pki.rsa.PublicKey,
  random: Random,
  nowMs: number,
  lifetimeMs: number,
): forge.pki.Certificate {
  const certificate = forge.pki.createCertificate();
  certificate.publicKey = publicKey;
  certificate.serialNumber = newSerialHex(random);
  setWindow(certificate, validityWindow({ nowMs, lifetimeMs }));
  certificate.setIssuer(ca.certificate.subject.attributes);
  return certificate;
}

export function identifiers(ca: CertificateAuthority): object[] {
  return [
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.certificate.generateSubjectKeyIdentifier().getBytes() },
  ];
}

export function issued(certificate: forge.pki.Certificate): IssuedCertificate {
  return { certPem: forge.pki.certificateToPem(certificate), serialHex: certificate.serialNumber, ...windowOf(certificate) };
}
