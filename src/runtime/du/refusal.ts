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
  | 'no-sni'
  | 'unknown-sni'
  | 'per-host-limit'
  | 'connection-limit'
  | 'handshake-timeout'
  | 'tls-error'
  | 'stopping';

export const refusalReasons: readonly RefusalReason[] = [
  'no-client-cert', 'bad-cert', 'cert-expired', 'cert-not-yet-valid', 'revoked', 'no-sni', 'unknown-sni',
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

/** The refusal for a handshake that failed (Node's 'tlsClientError'). */
export function refusalForHandshakeError(code: string | undefined): RefusalReason {
  if (code === 'ETIMEDOUT') return 'handshake-timeout';
  if (code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE') return 'no-client-cert';
  return 'tls-error';
}
