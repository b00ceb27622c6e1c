// Validity windows from the platform clock. node-forge's X.509 API takes and
// gives `Date` objects; runtime code may not read the wall clock (the
// determinism guard bans the `Date` global), so the only Date ever built here
// is made from a platform-clock value: deterministic in the simulation.
import { PkiError } from './errors.js';

export const HOUR_MS = 60 * 60 * 1000;
export const DAY_MS = 24 * HOUR_MS;

/** notBefore is set this far before now, so a peer whose clock is a little behind does not see "not yet valid". */
export const DEFAULT_BACKDATE_MS = HOUR_MS;

/** Validity of a certificate, in ms since the Unix epoch (X.509 keeps whole seconds). */
export interface CertificateWindow {
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
}

export interface ValidityOptions {
  /** From `platform.clock.now()`. */
  nowMs: number;
  lifetimeMs: number;
  backdateMs?: number;
}

/** [now - backdate, now + lifetime], truncated to whole seconds as X.509 stores them. */
export function validityWindow(options: ValidityOptions): CertificateWindow {
  const backdateMs = options.backdateMs ?? DEFAULT_BACKDATE_MS;
  if (!Number.isSafeInteger(options.nowMs) || options.nowMs < 0) {
    throw new PkiError('ERR_PKI_INVALID_ARGUMENT', `nowMs must be a non-negative integer, got ${options.nowMs}`);
  }
  if (!Number.isSafeInteger(options.lifetimeMs) || options.lifetimeMs < 1000) {
    throw new PkiError('ERR_PKI_INVALID_ARGUMENT', `lifetimeMs must be an integer >= 1000, got ${options.lifetimeMs}`);
  }
  if (!Number.isSafeInteger(backdateMs) || backdateMs < 0) {
    throw new PkiError('ERR_PKI_INVALID_ARGUMENT', `backdateMs must be a non-negative integer, got ${backdateMs}`);
  }
  const notBeforeMs = wholeSeconds(Math.max(0, options.nowMs - backdateMs));
  const notAfterMs = wholeSeconds(options.nowMs + options.lifetimeMs);
  return { notBeforeMs, notAfterMs };
}

/** A Date for forge, from a platform-clock value (never from the wall clock). */
export function dateAt(epochMs: number): Date {
  // eslint-disable-next-line no-restricted-globals -- built from a platform-clock value; reads no wall clock
  return new Date(epochMs);
}

export function windowOf(certificate: { validity: { notBefore: Date; notAfter: Date } }): CertificateWindow {
  return { notBeforeMs: certificate.validity.notBefore.getTime(), notAfterMs: certificate.validity.notAfter.getTime() };
}

export function setWindow(certificate: { validity: { notBefore: Date; notAfter: Date } }, window: CertificateWindow): void {
  certificate.validity.notBefore = dateAt(window.notBeforeMs);
  certificate.validity.notAfter = dateAt(window.notAfterMs);
}

function wholeSeconds(epochMs: number): number {
  return Math.floor(epochMs / 1000) * 1000;
}
