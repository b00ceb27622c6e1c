// The revocation list: serials of client certificates the DU no longer
// accepts, in a JSON file the PKI writes:
//
//   { "revoked": [ { "serial": "4a3b…", "reason": "host decommissioned", "atMs": 1700000000000 } ] }
//
// The gateway re-reads the file every `revocationReloadMs` (a timer, not a
// file watch: the platform has no watch, and a timer works the same on every
// file system) and re-parses it only when its bytes changed. A file that
// cannot be read or parsed after start keeps the previous list (logged):
// failing open would accept revoked hosts, failing closed would cut every host
// off for a typo. At start an unreadable file is a configuration error.
import type { Files } from '../platform/types.js';
import { parseJsonDocument } from '../config/json-document.js';
import { readConfigText } from '../config/load.js';
import { ShapeChecker } from '../config/shape.js';

export interface RevokedEntry {
  /** Normalised: upper-case hex, no separators, no leading zeros. */
  serial: string;
  reason: string;
  atMs: number;
}

export interface RevocationList {
  readonly size: number;
  /** The entry for a certificate serial (any hex spelling), or undefined. */
  lookup(serial: string): RevokedEntry | undefined;
}

const REVOKED_ENTRIES_MAX = 100_000;

export const emptyRevocationList: RevocationList = { size: 0, lookup: () => undefined };

/** "4a:3B:00" and "004A3B00" are the same serial: "4A3B00". */
export function normalizeSerial(serial: string): string {
  const hex = serial.replace(/[:\s]/g, '').toUpperCase().replace(/^0+(?=.)/, '');
  return hex;
}

/** Parses the file's text; every problem is a ConfigError naming the key and line. */
export function parseRevocationList(text: string, file: string): RevocationList {
  const document = parseJsonDocument(text, file);
  const check = new ShapeChecker(document, file);
  const root = check.object('', document.value, { required: ['revoked'], optional: [] });
  const entries = check.array('revoked', root['revoked']);
  if (entries.length > REVOKED_ENTRIES_MAX) check.fail('revoked', `more than ${REVOKED_ENTRIES_MAX} entries`);
  const bySerial = new Map<string, RevokedEntry>();
  entries.forEach((value, index) => {
    const path = `revoked[${index}]`;
    const entry = check.object(path, value, { required: ['serial'], optional: ['reason', 'atMs'] });
    const raw = check.string(`${path}.serial`, entry['serial']);
    if (!/^[0-9a-fA-F:]+$/.test(raw) || raw.replace(/:/g, '') === '') check.fail(`${path}.serial`, 'must be a hex serial number');
    const serial = normalizeSerial(raw);
    bySerial.set(serial, {
      serial,
      reason: entry['reason'] === undefined ? '' : check.string(`${path}.reason`, entry['reason']),
      atMs: entry['atMs'] === undefined ? 0 : check.integer(`${path}.atMs`, entry['atMs']),
    });
  });
  return {
    size: bySerial.size,
    lookup: (candidate) => bySerial.get(normalizeSerial(candidate)),
  };
}

export async function readRevocationList(files: Files, file: string): Promise<{ list: RevocationList; text: string }> {
  const text = await readConfigText(files, file);
  return { list: parseRevocationList(text, file), text };
}
