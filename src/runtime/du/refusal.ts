// Why the gateway refused a client, and how it tells the client.
//
// Certificate problems end in a TCP reset, as haproxy's `verify required`
// does; routing problems (no or unknown SNI, limits) end in a plain close
// without a byte, as haproxy does for an SNI with no `use_backend` (DESIGN.md,
// "Measured on the real components"). Either way nothing reaches a backend.
import type { PkiErrorCode } from '../pki/index.js';

export type RefusalReason =
  | 'no-client-cert'
  | 'bad-cert'
  | 'cert-expired'
  | 'cert-not-yet-valid'
  | 'revoked'
  | 'bad-signature'
  | 'no-sni'
  | 'unknown-sni'
  | 'per-host-limit'
  | 'connection-limit'
  | 'handshake-timeout'
  | 'tls-error'
  | 'stopping';

export const refusalReasons: readonly RefusalReason[] = [
  'no-client-cert', 'bad-cert', 'cert-expired', 'cert-not-yet-valid', 'revoked', 'bad-signature', 'no-sni', 'unknown-sni',
  'per-host-limit', 'connection-limit', 'handshake-timeout', 'tls-error', 'stopping',
];

export type RefusalClose = 'reset' | 'close';

export function refusalClose(reason: RefusalReason): RefusalClose {
  switch (reason) {
    case 'no-sni':
    case 'unknown-sni':
      return 'close';
    default:
      return 'reset';
  }
}

/**
 * The refusal for a client certificate that `verifyPeerCertificate` (judged
 * on the platform clock) refused, from its PkiError code.
 */
export function refusalForPkiError(code: PkiErrorCode | undefined): RefusalReason {
  switch (code) {
    case 'ERR_PKI_EXPIRED':
      return 'cert-expired';
    case 'ERR_PKI_NOT_YET_VALID':
      return 'cert-not-yet-valid';
    case 'ERR_PKI_REVOKED':
      return 'revoked';
    default:
      // Untrusted, wrong purpose, not a host certificate (name mismatch), malformed.
      return 'bad-cert';
  }
}

/**
 * OpenSSL's codes (as Node names them) for a client's CertificateVerify that
 * does not verify with its certificate's public key: the client showed a
 * certificate whose private key it does not hold (a copied certificate).
 *
 * Which code comes out depends on which check of the RSA padding the garbage
 * fails first, and that depends on the handshake's random bytes: so these are
 * one refusal, and its logged detail names none of them (the simulation's
 * trace must not depend on TLS randomness). Measured, Node 20 (OpenSSL 3.0),
 * a certificate presented with a key of the same modulus but another private
 * exponent: TLS 1.3 (RSA-PSS), 3 000 handshakes: LAST_OCTET_INVALID 1 954,
 * FIRST_OCTET_INVALID 1 039, SALT_LENGTH_RECOVERY_FAILED 7; TLS 1.2 with
 * PKCS#1 v1.5 (RSA+SHA256), 1 000: INVALID_PADDING 994, BLOCK_TYPE_IS_NOT_01 6.
 * The client always saw alert 51 (decrypt_error). SALT_LENGTH_CHECK_FAILED and
 * BAD_SIGNATURE are the remaining outcomes of the same PSS and PKCS#1 checks
 * (a well-formed padding over the wrong hash).
 */
export const BAD_SIGNATURE_CODES: ReadonlySet<string> = new Set([
  // RSA-PSS, the only RSA CertificateVerify TLS 1.3 allows.
  'ERR_SSL_FIRST_OCTET_INVALID',
  'ERR_SSL_LAST_OCTET_INVALID',
  'ERR_SSL_SALT_LENGTH_RECOVERY_FAILED',
  'ERR_SSL_SALT_LENGTH_CHECK_FAILED',
  // PKCS#1 v1.5 (TLS 1.2 peers; the gateway itself requires TLS 1.3).
  'ERR_SSL_INVALID_PADDING',
  'ERR_SSL_BLOCK_TYPE_IS_NOT_01',
  // Both: the padding was well formed, the hash in it was not the transcript's.
  'ERR_SSL_BAD_SIGNATURE',
]);

/** The refusal for a handshake that failed (Node's 'tlsClientError'). */
export function refusalForHandshakeError(code: string | undefined): RefusalReason {
  if (code === 'ETIMEDOUT') return 'handshake-timeout';
  if (code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE') return 'no-client-cert';
  if (code !== undefined && BAD_SIGNATURE_CODES.has(code)) return 'bad-signature';
  return 'tls-error';
}
