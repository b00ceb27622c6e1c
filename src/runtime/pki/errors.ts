// Errors of the PKI with stable codes, so callers (the DU's onboarding
// endpoint, the gateway, comms) branch on `code` and log it as a reason.

export type PkiErrorCode =
  /** Not a PEM/DER structure of the expected kind (CSR, certificate, key, revocation list). */
  | 'ERR_PKI_MALFORMED'
  /** The CSR's self-signature does not verify with the public key it carries. */
  | 'ERR_PKI_CSR_BAD_SIGNATURE'
  /** The CSR's subject CN is not a valid host id. */
  | 'ERR_PKI_CSR_BAD_HOST_ID'
  /** The CSR's SAN does not name exactly the host its CN names. */
  | 'ERR_PKI_CSR_NAME_MISMATCH'
  /** The CSR is for another host than the one being onboarded. */
  | 'ERR_PKI_CSR_HOST_MISMATCH'
  /** Not an RSA key, or an RSA key below 2048 bits. */
  | 'ERR_PKI_WEAK_KEY'
  /** A private key that does not belong to the certificate it is paired with. */
  | 'ERR_PKI_KEY_MISMATCH'
  /** A certificate that the CA did not issue (issuer name or signature). */
  | 'ERR_PKI_UNTRUSTED'
  | 'ERR_PKI_EXPIRED'
  | 'ERR_PKI_NOT_YET_VALID'
  | 'ERR_PKI_REVOKED'
  /** Wrong extended key usage, a CA certificate where a leaf is expected, or a name that does not match. */
  | 'ERR_PKI_WRONG_PURPOSE'
  | 'ERR_PKI_NAME_MISMATCH'
  /** A caller's argument out of range (lifetime, fraction, names). */
  | 'ERR_PKI_INVALID_ARGUMENT';

export class PkiError extends Error {
  readonly code: PkiErrorCode;

  constructor(code: PkiErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'PkiError';
    this.code = code;
  }
}
