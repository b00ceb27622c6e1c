// The client certificate, its key and the DU CA, read through the platform
// and reloaded when their files change: a timer polls each file's mtime and
// size, and on any change reads all three again. A new set is checked (the
// key matches the certificate, both parse) before it replaces the old one, so
// a rotation caught half-written — new certificate, old key — keeps the old
// pair until the key arrives too. Tunnels already open keep what they had;
// new tunnels take the current set. The CA is also parsed here, once per
// load, for the PKI's check of the DU's certificate (dial.ts).
import { X509Certificate, createPrivateKey } from 'node:crypto';
import type forge from 'node-forge';
import { parseCertificatePem } from '../pki/index.js';
import type { FileStat, Files, Log, Clock, TimerHandle } from '../platform/types.js';
import { errorCode } from '../platform/errors.js';
import { fileProblem } from './config.js';

export interface Credentials {
  caPem: string;
  /** caPem parsed for verifyPeerCertificate (src/runtime/pki), once per load. */
  caCertificate: forge.pki.Certificate;
  certPem: string;
  keyPem: string;
  /** Subject and serial of the certificate, for logs. */
  subject: string;
  serial: string;
  /** 1 for the set read at start, +1 for every reload. */
  generation: number;
}

export interface CredentialFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** Bound on each PEM file: a certificate chain or key is a few KiB. */
const PEM_BYTES_MAX = 256 * 1024;

type Signature = string;

export class CredentialStore {
  #current: Credentials;
  #lastSeen: Signature;
  #timer: TimerHandle | undefined;
  #clock: Clock | undefined;
  #polling = false;
  #reloads = 0;

  private constructor(
    private readonly files: Files,
    private readonly paths: CredentialFiles,
    private readonly log: Log,
    initial: Credentials,
    signature: Signature,
  ) {
    this.#current = initial;
    this.#lastSeen = signature;
  }

  /** Reads and checks the files; a problem is a ConfigError naming the tls.* key (exit 2). */
  static async open(files: Files, paths: CredentialFiles, log: Log, configFile: string): Promise<CredentialStore> {
    const signature = await statSignature(files, paths).catch((error: unknown) => {
      throw fileProblem(configFile, keyOfFailure(error), `cannot stat: ${errorCode(error) ?? String(error)}`);
    });
    const loaded = await readCredentials(files, paths, 1);
    if (typeof loaded === 'string') throw fileProblem(configFile, loaded.split(':', 1)[0] ?? 'tls', loaded);
    return new CredentialStore(files, paths, log, loaded, signature);
  }

  get current(): Credentials {
    return this.#current;
  }

  get reloads(): number {
    return this.#reloads;
  }

  /** Polls every intervalMs until stop(). */
  watch(clock: Clock, intervalMs: number): void {
    if (this.#timer !== undefined) return;
    this.#clock = clock;
    this.#timer = clock.setInterval(() => void this.poll(), intervalMs);
  }

  stop(): void {
    this.#clock?.clearTimer(this.#timer);
    this.#timer = undefined;
  }

  /** One poll: reload when any file's mtime or size changed since the last attempt. */
  async poll(): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    try {
      const signature = await statSignature(this.files, this.paths).catch(() => undefined);
      // A file missing for a moment (replaced by rename) is not a change yet.
      if (signature === undefined || signature === this.#lastSeen) return;
      this.#lastSeen = signature;
      const loaded = await readCredentials(this.files, this.paths, this.#current.generation + 1);
      if (typeof loaded === 'string') {
        this.log.warn('comms.cert_reload_failed', { problem: loaded, keeping: this.#current.serial });
        return;
      }
      this.#current = loaded;
      this.#reloads += 1;
      this.log.info('comms.cert_reloaded', { subject: loaded.subject, serial: loaded.serial, generation: loaded.generation });
    } finally {
      this.#polling = false;
    }
  }
}

async function statSignature(files: Files, paths: CredentialFiles): Promise<Signature> {
  const parts: string[] = [];
  for (const [key, path] of entriesOf(paths)) {
    let stat: FileStat;
    try {
      stat = await files.stat(path);
    } catch (error) {
      throw Object.assign(new Error(String(error)), { code: errorCode(error), key });
    }
    parts.push(`${stat.mtimeMs}/${stat.size}`);
  }
  return parts.join(' ');
}

function keyOfFailure(error: unknown): string {
  const key = (error as { key?: unknown }).key;
  return typeof key === 'string' ? `tls.${key}` : 'tls';
}

function entriesOf(paths: CredentialFiles): [keyof CredentialFiles, string][] {
  return [['caFile', paths.caFile], ['certFile', paths.certFile], ['keyFile', paths.keyFile]];
}

/** Reads and checks the three files; returns "tls.<key>: problem" when they are not usable. */
async function readCredentials(files: Files, paths: CredentialFiles, generation: number): Promise<Credentials | string> {
  const texts: Partial<Record<keyof CredentialFiles, string>> = {};
  for (const [key, path] of entriesOf(paths)) {
    let data: Buffer;
    try {
      data = await files.readFile(path);
    } catch (error) {
      return `tls.${key}: cannot read ${path}: ${errorCode(error) ?? String(error)}`;
    }
    if (data.length > PEM_BYTES_MAX) return `tls.${key}: ${path} is larger than ${PEM_BYTES_MAX} bytes`;
    texts[key] = data.toString('utf8');
  }
  const { caFile: caPem = '', certFile: certPem = '', keyFile: keyPem = '' } = texts;
  let caCertificate: forge.pki.Certificate;
  try {
    new X509Certificate(caPem);
    caCertificate = parseCertificatePem(caPem);
  } catch (error) {
    return `tls.caFile: ${paths.caFile} is not a PEM certificate: ${String(error)}`;
  }
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certPem);
  } catch (error) {
    return `tls.certFile: ${paths.certFile} is not a PEM certificate: ${String(error)}`;
  }
  try {
    if (!certificate.checkPrivateKey(createPrivateKey(keyPem))) {
      return `tls.keyFile: ${paths.keyFile} does not match the certificate in ${paths.certFile}`;
    }
  } catch (error) {
    return `tls.keyFile: ${paths.keyFile} is not a usable private key: ${String(error)}`;
  }
  return { caPem, caCertificate, certPem, keyPem, subject: certificate.subject.replace(/\n/g, ','), serial: certificate.serialNumber, generation };
}
