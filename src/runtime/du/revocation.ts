// The revocation list the gateway enforces: the PKI's own file format and
// parser (src/runtime/pki/revocation.ts, `RevocationList.fromJson`), the file
// the DU's CA side writes with `saveRevocationList`:
//
//   { "format": "pf9lab-revocation-list/v1",
//     "entries": [ { "serialHex": "4a3b…", "reason": "keyCompromise", "revokedAtMs": 1767225600000, "hostId": "…" } ] }
//
// The gateway re-reads the file every `revocationReloadMs` (a timer, not a
// file watch: the platform has no watch, and a timer works the same on every
// file system) and re-parses it only when its bytes changed. A file that
// cannot be read or parsed after start keeps the previous list (logged):
// failing open would accept revoked hosts, failing closed would cut every host
// off for a typo. At start an unreadable or malformed file is a configuration
// error (ERR_CONFIG_*): unlike the PKI's `loadRevocationList`, a missing file
// is not "nothing revoked" here, since the file was named in the gateway's
// configuration (a wrong path must not silently disable revocation).
import type { Files } from '../platform/types.js';
import { ConfigError } from '../config/config-error.js';
import { readConfigText } from '../config/load.js';
import { PkiError, RevocationList } from '../pki/index.js';

/** Reads and parses the revocation file; every problem is a ConfigError naming the file. */
export async function readRevocationFile(files: Files, file: string): Promise<{ list: RevocationList; text: string }> {
  const text = await readConfigText(files, file);
  try {
    return { list: RevocationList.fromJson(text), text };
  } catch (error) {
    if (error instanceof PkiError) throw new ConfigError('ERR_CONFIG_INVALID', file, error.message);
    throw error;
  }
}
