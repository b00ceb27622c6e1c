// The PKI behind comms and the DU gateway: see README.md.
export { PkiError, type PkiErrorCode } from './errors.js';
export { hostDnsName, hostIdFromDnsName, isValidHostId } from './host-id.js';
export { nodeCryptoKeySource, rsaKeyPairFromPem, RSA_BITS, type KeySource, type RsaKeyPair } from './key-source.js';
export { seededKeySource, deriveRsaKey } from './seeded-key-source.js';
export { createRootCa, caFromPem, loadCa, saveCa, CA_LIFETIME_MS_DEFAULT, type CertificateAuthority, type CaPaths } from './ca.js';
export { createHostCsr, checkHostCsr, type CheckedCsr } from './csr.js';
export { signHostCsr, HOST_CERT_LIFETIME_MS_DEFAULT, type HostCertificate, type IssuedCertificate } from './host-certificate.js';
export { issueGatewayCertificate, GATEWAY_CERT_LIFETIME_MS_DEFAULT, type GatewayCertificate } from './gateway-certificate.js';
export { RevocationList, loadRevocationList, saveRevocationList, REVOCATION_REASONS, type RevocationEntry, type RevocationReason } from './revocation.js';
export { verifyPeerCertificate, OPENSSL_TIME_ERRORS, type PeerIdentity, type PeerPurpose } from './peer-check.js';
export {
  rotationDueAtMs,
  enrollHostCertificate,
  renewHostCertificate,
  recoverHostIdentity,
  loadHostIdentity,
  RENEW_BEFORE_FRACTION_DEFAULT,
  type HostIdentityPaths,
  type CsrSigner,
} from './rotation.js';
export { KEY_FILE_MODE, CERTIFICATE_FILE_MODE, writeKeyFile, writeCertificateFile } from './store.js';
export { validityWindow, DAY_MS, HOUR_MS, type CertificateWindow } from './time.js';
export { newSerialHex, normalizeSerialHex } from './serial.js';
export { parseCertificatePem } from './pem.js';
