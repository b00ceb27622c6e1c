// The VRRPv2 authentication key: keepalived keeps `auth_pass` in an 8-byte
// field, zero-padded, and truncates longer passwords (with a configuration
// warning, but it runs). The simple password travels in that field as is,
// and it is the HMAC key for AH.
import type { VrrpAuthType } from './vrrp-message.js';

export const AUTH_KEY_BYTES = 8;

/** The 8-byte key for `password` (UTF-8 if a string); all zeros when there is none. */
export function authKey(password: Buffer | string | undefined): Buffer {
  const key = Buffer.alloc(AUTH_KEY_BYTES);
  if (password === undefined) return key;
  const bytes = typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
  bytes.copy(key, 0, 0, Math.min(bytes.length, AUTH_KEY_BYTES));
  return key;
}

/**
 * The authentication keepalived actually uses for a configuration: it
 * ignores `authentication` with VRRPv3, and when the password is missing or
 * starts with a zero byte (it tests only the first byte).
 */
export function effectiveAuthType(version: 2 | 3, authType: VrrpAuthType, password: Buffer | string | undefined): VrrpAuthType {
  if (version === 3 || authType === 'none') return 'none';
  return authKey(password)[0] === 0 ? 'none' : authType;
}
