// The check a TLS peer's certificate must pass, judged on the platform clock.
//
// OpenSSL (Node's tls) judges validity against the real wall clock, which in
// the simulation is not the virtual one. So our peers do not take OpenSSL's
// verdict as final: this check repeats the chain, purpose and name tests and
// judges time on `platform.clock`, and also applies the revocation list,
// which OpenSSL knows nothing about. See README.md, "Time".
import type forge from 'node-forge';
import { PkiError } from './errors.js';
import { hostIdFromDnsName, isValidHostId } from './host-id.js';
import { parseCertificateDer, parseCertificatePem } from './pem.js';
import type { RevocationList } from './revocation.js';
import { normalizeSerialHex } from './serial.js';
import { windowOf, type CertificateWindow } from './time.js';

export type PeerPurpose = 'clientAuth' | 'serverAuth';

export interface PeerCheckOptions {
  /** The DU root CA certificate (no key needed). */
  caCertificate: forge.pki.Certificate;
  /** `platform.clock.now()`. */
  nowMs: number;
  purpose: PeerPurpose;
  revocations?: RevocationList;
  /** serverAuth: the DNS name or IP the client dialled; it must be one of the certificate's SANs. */
  expectedName?: string;
}

export interface PeerIdentity extends CertificateWindow {
  readonly serialHex: string;
  readonly commonName: string;
  /** clientAuth: the host the certificate names (CN, agreeing with the SAN). */
  readonly hostId?: string;
}

/** TLS error codes that only mean "OpenSSL's clock disagrees": the verdict this check replaces. */
export const OPENSSL_TIME_ERRORS: ReadonlySet<string> = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

/**
 * Checks a peer certificate (DER as from `getPeerCertificate(true).raw`, or
 * PEM) against the CA at `nowMs`: issued and signed by the CA, both within
 * their windows, not a CA itself, the right extended key usage, not revoked,
 * and for servers the expected name. Throws a PkiError naming the failure.
 */
export function verifyPeerCertificate(certificate: Buffer | string, options: PeerCheckOptions): PeerIdentity {
  const leaf = typeof certificate === 'string' ? parseCertificatePem(certificate) : parseCertificateDer(certificate);
  checkIssuedBy(options.caCertificate, leaf);
  checkWindow('the CA certificate', windowOf(options.caCertificate), options.nowMs);
  const window = windowOf(leaf);
  checkWindow('the certificate', window, options.nowMs);
  const constraints = leaf.getExtension('basicConstraints') as { cA?: boolean } | null;
  if (constraints?.cA === true) throw new PkiError('ERR_PKI_WRONG_PURPOSE', 'a CA certificate is not a peer certificate');
  const usage = leaf.getExtension('extKeyUsage') as Record<string, unknown> | null;
  if (usage?.[options.purpose] !== true) throw new PkiError('ERR_PKI_WRONG_PURPOSE', `the certificate lacks extKeyUsage ${options.purpose}`);
  const serialHex = normalizeSerialHex(leaf.serialNumber);
  const revoked = options.revocations?.lookup(serialHex);
  if (revoked !== undefined) throw new PkiError('ERR_PKI_REVOKED', `serial ${serialHex} revoked (${revoked.reason}) at ${revoked.revokedAtMs}`);
  const commonName = String((leaf.subject.getField('CN') as { value?: unknown } | null)?.value ?? '');
  const altNames = (leaf.getExtension('subjectAltName') as { altNames?: { type: number; value?: string; ip?: string }[] } | null)?.altNames ?? [];
  const identity = { serialHex, commonName, ...window };
  if (options.purpose === 'clientAuth') {
    const dnsNames = altNames.filter((name) => name.type === 2).map((name) => name.value);
    if (!isValidHostId(commonName) || dnsNames.length !== 1 || hostIdFromDnsName(dnsNames[0] ?? '') !== commonName) {
      throw new PkiError('ERR_PKI_NAME_MISMATCH', `host certificate CN '${commonName}' and SAN ${JSON.stringify(dnsNames)} do not name one host`);
    }
    return { ...identity, hostId: commonName };
  }
  if (options.expectedName !== undefined) {
    const expected = options.expectedName.toLowerCase();
    const matches = altNames.some((name) => (name.type === 2 && name.value?.toLowerCase() === expected) || (name.type === 7 && name.ip === expected));
    if (!matches) throw new PkiError('ERR_PKI_NAME_MISMATCH', `the server certificate does not name '${options.expectedName}'`);
  }
  return identity;
}

function checkIssuedBy(ca: forge.pki.Certificate, leaf: forge.pki.Certificate): void {
  let verified: boolean;
  try {
    verified = ca.issued(leaf) && ca.verify(leaf);
  } catch {
    // forge throws when the issuer name differs; a bad signature returns false.
    verified = false;
  }
  if (!verified) throw new PkiError('ERR_PKI_UNTRUSTED', 'the certificate was not issued by the DU CA');
}

function checkWindow(what: string, window: CertificateWindow, nowMs: number): void {
  if (nowMs < window.notBeforeMs) throw new PkiError('ERR_PKI_NOT_YET_VALID', `${what} is valid from ${window.notBeforeMs}, now is ${nowMs}`);
  if (nowMs > window.notAfterMs) throw new PkiError('ERR_PKI_EXPIRED', `${what} expired at ${window.notAfterMs}, now is ${nowMs}`);
}
