// Why a tunnel failed, as a small closed set of reasons (the `reason` label
// of comms_tunnel_failures_total and of the comms.tunnel_failed log event).
// Pure: a phase and an error code in, a reason out.
import { errorCode } from '../platform/errors.js';

export type FailureReason =
  /** The DU refused our certificate or this tunnel: a TLS alert, or an end/reset before it confirmed us. */
  | 'auth-refused'
  /**
   * Through the proxy only: an end/reset (not a TLS alert) before the DU confirmed us. The DU refusing
   * our certificate and the proxy dying (restart, crash) look the same at the TCP level, so the dial is
   * retried once (bounded by limits.dialAttemptsMax); a second one is auth-refused. Counted per attempt.
   */
  | 'ambiguous-reset'
  /** We refused the DU: its certificate is not from our CA, outside its window (platform clock), or not for du.serverName. */
  | 'server-untrusted'
  /** The HTTP proxy refused the CONNECT (407, 403, other non-2xx, a garbled answer). */
  | 'proxy-refused'
  /** The DU (or the proxy) could not be reached, or the path broke: refused, unreachable, timed out. */
  | 'network'
  /** The DU side reset or failed an established, confirmed tunnel. */
  | 'remote-reset'
  /**
   * The DU accepted us (a ticket came) and then ended the tunnel without a byte: a refusal after the
   * handshake (haproxy's for an SNI it does not route) or a backend that answered nothing. Reset, never
   * passed on as an empty answer.
   */
  | 'empty-close'
  /** The local client reset its connection before the tunnel completed. */
  | 'local-reset'
  /** No bytes either way for limits.idleTimeoutMs. */
  | 'idle-timeout'
  /** limits.tunnelsMax tunnels were already open. */
  | 'limit'
  /** A certificate, key or CA could not be used. */
  | 'credentials'
  /** comms is stopping. */
  | 'stopped';

export const FAILURE_REASONS: readonly FailureReason[] = [
  'auth-refused', 'ambiguous-reset', 'server-untrusted', 'proxy-refused', 'network', 'remote-reset', 'empty-close', 'local-reset', 'idle-timeout', 'limit', 'credentials', 'stopped',
];

/** A tunnel failure with a stable code, e.g. ERR_TUNNEL_AUTH_REFUSED. */
export class TunnelError extends Error {
  readonly code: string;
  constructor(
    readonly reason: FailureReason,
    message: string,
    /** The code of the underlying error, when there was one. */
    readonly underlyingCode?: string,
  ) {
    const code = `ERR_TUNNEL_${reason.toUpperCase().replace(/-/g, '_')}`;
    super(`${code}: ${message}`);
    this.name = 'TunnelError';
    this.code = code;
  }
}

/** Errors that mean "the path is broken", wherever they happen. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

/** Node's / OpenSSL's codes for a refused DU certificate (dial.ts's own check gives server-untrusted directly). */
const SERVER_UNTRUSTED_PATTERN = /^(ERR_TLS_CERT_ALTNAME_INVALID|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|CERT_|ERR_TLS_CERT)/;

/** A bare end-of-stream ('EOF') or a reset: what a refusing DU and a dying proxy have in common. */
const RESET_OR_EOF_CODES = new Set(['EOF', 'ECONNRESET', 'ECONNABORTED']);

/** Where the tunnel was when the error came. */
export type FailurePhase =
  /** Reaching the DU: TCP connect or the proxy's CONNECT. */
  | 'dial'
  /** The TLS handshake, before secureConnect. */
  | 'handshake'
  /** After secureConnect, before the DU confirmed us (TLS 1.3: it may still refuse our certificate). */
  | 'unconfirmed'
  /** After the DU confirmed us (a session ticket or a byte). */
  | 'relaying';

/** Classifies an error from the DU side of a tunnel (undefined error: a bare end-of-stream). */
export function classifyRemoteFailure(phase: FailurePhase, error: unknown, path: { viaProxy?: boolean } = {}): FailureReason {
  const code = error === undefined ? 'EOF' : (errorCode(error) ?? '');
  if (phase === 'dial') {
    if (code.startsWith('ERR_PROXY_')) return code === 'ERR_PROXY_UPSTREAM' || code === 'ERR_PROXY_CLOSED' ? 'network' : 'proxy-refused';
    return 'network';
  }
  if (SERVER_UNTRUSTED_PATTERN.test(code)) return 'server-untrusted';
  // The DU said no in TLS: certificate_required, bad_certificate, unknown_ca,
  // access_denied, handshake_failure… (OpenSSL reports a received alert as ERR_SSL_…_ALERT_…).
  if (/^ERR_SSL_.*ALERT/.test(code)) return 'auth-refused';
  if (NETWORK_CODES.has(code)) return 'network';
  // An end or reset in the handshake, or after it but before the DU confirmed
  // us: the TLS 1.3 shape of "your certificate is refused" (haproxy with
  // `verify required` resets; Node's server closes after its alert), or an
  // unknown SNI closed without a byte. Through a proxy, an end or reset is
  // also what a proxy restart looks like: ambiguous (service.ts retries it once).
  if (phase === 'handshake' || phase === 'unconfirmed') {
    return path.viaProxy === true && RESET_OR_EOF_CODES.has(code) ? 'ambiguous-reset' : 'auth-refused';
  }
  return 'remote-reset';
}

export function describeError(error: unknown): string {
  if (error === undefined) return 'end of stream';
  return error instanceof Error ? error.message : String(error);
}
