// Onboarding, host side and CA side: the host makes a key and a CSR naming
// itself (CN = host id, SAN = host-<id>.pf9lab); the CA checks the CSR before
// it signs anything. Every refusal has its own code.
import forge from 'node-forge';
import { PkiError } from './errors.js';
import { hostDnsName, isValidHostId } from './host-id.js';
import { RSA_BITS, type RsaKeyPair } from './key-source.js';
import { messageOf } from './pem.js';

const SAN_TYPE_DNS = 2;

export function createHostCsr(hostId: string, key: RsaKeyPair): string {
  if (!isValidHostId(hostId)) throw new PkiError('ERR_PKI_INVALID_ARGUMENT', `not a valid host id: '${hostId}'`);
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = key.publicKey;
  csr.setSubject([{ name: 'commonName', value: hostId }]);
  csr.setAttributes([
    { name: 'extensionRequest', extensions: [{ name: 'subjectAltName', altNames: [{ type: SAN_TYPE_DNS, value: hostDnsName(hostId) }] }] },
  ]);
  csr.sign(key.privateKey, forge.md.sha256.create());
  return forge.pki.certificationRequestToPem(csr);
}

/** What the CA takes from a CSR it accepted: the host and its public key, nothing else it asked for. */
export interface CheckedCsr {
  readonly hostId: string;
  readonly publicKey: forge.pki.rsa.PublicKey;
}

/**
 * Accepts a host CSR only when it parses, holds an RSA key of at least 2048
 * bits, its signature verifies, its CN is a valid host id, its SAN is exactly
 * that host's DNS name, and (when given) it is for `expectedHostId`.
 */
export function checkHostCsr(csrPem: string, options: { expectedHostId?: string } = {}): CheckedCsr {
  const csr = parseCsr(csrPem);
  const publicKey = csr.publicKey as forge.pki.rsa.PublicKey | null;
  if (publicKey === null || typeof publicKey.n?.bitLength !== 'function') {
    throw new PkiError('ERR_PKI_WEAK_KEY', 'the CSR does not carry an RSA public key');
  }
  if (publicKey.n.bitLength() < RSA_BITS) {
    throw new PkiError('ERR_PKI_WEAK_KEY', `the CSR's RSA key has ${publicKey.n.bitLength()} bits, below ${RSA_BITS}`);
  }
  if (!verifies(csr)) throw new PkiError('ERR_PKI_CSR_BAD_SIGNATURE', 'the CSR signature does not verify with its own public key');
  const commonNames = csr.subject.attributes.filter((attribute) => attribute.name === 'commonName');
  const hostId = commonNames.length === 1 ? commonNames[0]?.value : undefined;
  if (typeof hostId !== 'string' || !isValidHostId(hostId)) {
    throw new PkiError('ERR_PKI_CSR_BAD_HOST_ID', `the CSR subject CN is not one valid host id: ${JSON.stringify(commonNames.map((a) => a.value))}`);
  }
  const altNames = requestedAltNames(csr);
  const expectedDns = hostDnsName(hostId);
  const only = altNames.length === 1 ? altNames[0] : undefined;
  if (only === undefined || only.type !== SAN_TYPE_DNS || only.value !== expectedDns) {
    throw new PkiError(
      'ERR_PKI_CSR_NAME_MISMATCH',
      `the CSR SAN must be exactly DNS:${expectedDns} for CN '${hostId}', got ${JSON.stringify(altNames)}`,
    );
  }
  if (options.expectedHostId !== undefined && options.expectedHostId !== hostId) {
    throw new PkiError('ERR_PKI_CSR_HOST_MISMATCH', `the CSR is for host '${hostId}', onboarding host '${options.expectedHostId}'`);
  }
  return { hostId, publicKey };
}

function parseCsr(csrPem: string): forge.pki.CertificateSigningRequest {
  try {
    return forge.pki.certificationRequestFromPem(csrPem);
  } catch (error) {
    const message = messageOf(error);
    // forge parses only RSA keys; a CSR with an EC or Ed25519 key is well formed but not acceptable.
    if (/OID is not RSA/i.test(message)) throw new PkiError('ERR_PKI_WEAK_KEY', 'the CSR does not carry an RSA public key');
    throw new PkiError('ERR_PKI_MALFORMED', `not a CSR: ${message}`);
  }
}

function verifies(csr: forge.pki.CertificateSigningRequest): boolean {
  try {
    return csr.verify();
  } catch {
    return false;
  }
}

interface AltName {
  type: number;
  value?: string;
  ip?: string;
}

function requestedAltNames(csr: forge.pki.CertificateSigningRequest): AltName[] {
  const request = csr.getAttribute({ name: 'extensionRequest' }) as { extensions?: { name?: string; altNames?: AltName[] }[] } | null;
  const extensions = request?.extensions ?? [];
  return extensions.filter((extension) => extension.name === 'subjectAltName').flatMap((extension) => extension.altNames ?? []);
}
