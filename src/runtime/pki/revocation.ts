// Revocation: the DU's list of revoked certificate serials, each with a
// reason and a time, which the gateway checks on every new connection.
//
// A JSON document, not an X.509 CRL: node-forge cannot build CRLs, and the
// only reader is our own gateway, which lives next to the CA on the DU. The
// file is stored, not signed: whoever can write it can also read the CA key
// beside it, so a signature would add nothing. (An X.509 CRL for haproxy's
// `crl-file` can be produced from this list with `openssl ca -gencrl` if the
// interop test needs one.)
import type { Files } from '../platform/types.js';
import { errorCode } from '../platform/errors.js';
import { writeFileAtomic } from '../platform/files-atomic.js';
import { PkiError } from './errors.js';
import { normalizeSerialHex } from './serial.js';
import { CERTIFICATE_FILE_MODE } from './store.js';

/** RFC 5280 CRLReason names (those that apply to a leaf). */
export const REVOCATION_REASONS = ['unspecified', 'keyCompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation'] as const;
export type RevocationReason = (typeof REVOCATION_REASONS)[number];

export interface RevocationEntry {
  /** Lowercase hex, no leading zero bytes. */
  readonly serialHex: string;
  readonly reason: RevocationReason;
  /** `platform.clock.now()` when revoked. */
  readonly revokedAtMs: number;
  readonly hostId?: string;
}

/** Bound on the list: beyond it revocation is being misused (expired entries can be pruned). */
export const REVOCATION_ENTRIES_MAX = 100_000;
const FORMAT = 'pf9lab-revocation-list/v1';

/** An immutable list: `revoke` returns a new one. */
export class RevocationList {
  readonly #bySerial: ReadonlyMap<string, RevocationEntry>;

  private constructor(bySerial: ReadonlyMap<string, RevocationEntry>) {
    this.#bySerial = bySerial;
  }

  static empty(): RevocationList {
    return new RevocationList(new Map());
  }

  static of(entries: readonly RevocationEntry[]): RevocationList {
    let list = RevocationList.empty();
    for (const entry of entries) list = list.revoke(entry);
    return list;
  }

  get size(): number {
    return this.#bySerial.size;
  }

  /** Revoking a serial twice keeps the first entry: the earliest time is the one that counts. */
  revoke(entry: RevocationEntry): RevocationList {
    const serialHex = checkedSerial(entry.serialHex);
    if (!REVOCATION_REASONS.includes(entry.reason)) throw new PkiError('ERR_PKI_INVALID_ARGUMENT', `unknown revocation reason '${String(entry.reason)}'`);
    if (!Number.isSafeInteger(entry.revokedAtMs) || entry.revokedAtMs < 0) {
      throw new PkiError('ERR_PKI_INVALID_ARGUMENT', `revokedAtMs must be a non-negative integer, got ${entry.revokedAtMs}`);
    }
    if (this.#bySerial.has(serialHex)) return this;
    if (this.#bySerial.size >= REVOCATION_ENTRIES_MAX) {
      throw new PkiError('ERR_PKI_INVALID_ARGUMENT', `the revocation list is full (${REVOCATION_ENTRIES_MAX} entries)`);
    }
    const next = new Map(this.#bySerial);
    next.set(serialHex, { ...entry, serialHex });
    return new RevocationList(next);
  }

  /** The entry revoking `serialHex`, or undefined. */
  lookup(serialHex: string): RevocationEntry | undefined {
    return this.#bySerial.get(normalizeSerialHex(serialHex));
  }

  isRevoked(serialHex: string): boolean {
    return this.lookup(serialHex) !== undefined;
  }

  entries(): RevocationEntry[] {
    return [...this.#bySerial.values()].sort((a, b) => a.revokedAtMs - b.revokedAtMs || (a.serialHex < b.serialHex ? -1 : 1));
  }

  toJson(): string {
    return `${JSON.stringify({ format: FORMAT, entries: this.entries() }, null, 2)}\n`;
  }

  static fromJson(text: string): RevocationList {
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch (error) {
      throw new PkiError('ERR_PKI_MALFORMED', `revocation list is not JSON: ${(error as Error).message}`);
    }
    const { format, entries } = (document ?? {}) as { format?: unknown; entries?: unknown };
    if (format !== FORMAT || !Array.isArray(entries)) {
      throw new PkiError('ERR_PKI_MALFORMED', `revocation list must be {"format":"${FORMAT}","entries":[…]}`);
    }
    try {
      return RevocationList.of(entries.map((entry, index) => entryFromJson(entry, index)));
    } catch (error) {
      if (error instanceof PkiError && error.code === 'ERR_PKI_INVALID_ARGUMENT') throw new PkiError('ERR_PKI_MALFORMED', error.message);
      throw error;
    }
  }
}

function entryFromJson(value: unknown, index: number): RevocationEntry {
  const entry = (value ?? {}) as Record<string, unknown>;
  const { serialHex, reason, revokedAtMs, hostId } = entry;
  if (typeof serialHex !== 'string' || typeof reason !== 'string' || typeof revokedAtMs !== 'number' || (hostId !== undefined && typeof hostId !== 'string')) {
    throw new PkiError('ERR_PKI_MALFORMED', `revocation entry ${index}: needs serialHex, reason (strings) and revokedAtMs (number)`);
  }
  return { serialHex, reason: reason as RevocationReason, revokedAtMs, ...(hostId === undefined ? {} : { hostId }) };
}

function checkedSerial(serialHex: string): string {
  if (!/^[0-9a-fA-F]{2,64}$/.test(serialHex) || serialHex.length % 2 !== 0) {
    throw new PkiError('ERR_PKI_INVALID_ARGUMENT', `not a hex serial: '${serialHex}'`);
  }
  return normalizeSerialHex(serialHex);
}

export async function saveRevocationList(files: Files, path: string, list: RevocationList): Promise<void> {
  await writeFileAtomic(files, path, list.toJson(), { mode: CERTIFICATE_FILE_MODE });
}

/** A missing file is an empty list (nothing revoked yet); a malformed one is an error, never "nothing revoked". */
export async function loadRevocationList(files: Files, path: string): Promise<RevocationList> {
  let text: string;
  try {
    text = (await files.readFile(path)).toString('utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return RevocationList.empty();
    throw error;
  }
  return RevocationList.fromJson(text);
}
