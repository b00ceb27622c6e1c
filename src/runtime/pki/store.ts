// Key and certificate files through the platform's Files, each replaced
// atomically (writeFileAtomic): a private key is 0600 from its first byte on
// disk, a certificate 0644.
import type { Files } from '../platform/types.js';
import { writeFileAtomic } from '../platform/files-atomic.js';

export const KEY_FILE_MODE = 0o600;
export const CERTIFICATE_FILE_MODE = 0o644;

export async function writeKeyFile(files: Files, path: string, keyPem: string): Promise<void> {
  await writeFileAtomic(files, path, keyPem, { mode: KEY_FILE_MODE });
}

export async function writeCertificateFile(files: Files, path: string, certPem: string): Promise<void> {
  await writeFileAtomic(files, path, certPem, { mode: CERTIFICATE_FILE_MODE });
}
