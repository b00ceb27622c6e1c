// Errors raised through the seam carry the same `code`s as Node's own system
// errors, so runtime code branches on `err.code` and behaves the same on the
// simulated and the real platform.

export type PlatformErrorCode =
  | 'ECONNREFUSED'
  | 'ECONNRESET'
  | 'ETIMEDOUT'
  | 'EHOSTUNREACH'
  | 'ENETUNREACH'
  | 'EADDRINUSE'
  | 'EADDRNOTAVAIL'
  | 'EPIPE'
  | 'ENOENT'
  | 'EEXIST'
  | 'EISDIR'
  | 'ENOTDIR'
  | 'ENOTEMPTY'
  | 'EINVAL'
  | 'ENOSPC'
  | 'EBADF'
  | 'ABORT_ERR'
  | 'ERR_PLATFORM_UNSUPPORTED'
  | 'ERR_PROCESS_UNKNOWN_MODULE'
  | 'ERR_PROCESS_RUNNING'
  | 'ERR_PROCESS_NOT_FOUND';

export interface PlatformErrorDetails {
  syscall?: string;
  address?: string;
  port?: number;
  path?: string;
}

export class PlatformError extends Error {
  readonly code: PlatformErrorCode;
  readonly syscall?: string;
  readonly address?: string;
  readonly port?: number;
  readonly path?: string;

  constructor(code: PlatformErrorCode, message: string, details: PlatformErrorDetails = {}) {
    super(`${code}: ${message}`);
    this.name = 'PlatformError';
    this.code = code;
    if (details.syscall !== undefined) this.syscall = details.syscall;
    if (details.address !== undefined) this.address = details.address;
    if (details.port !== undefined) this.port = details.port;
    if (details.path !== undefined) this.path = details.path;
  }
}

/** The `code` of any error-like value, or undefined. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}
