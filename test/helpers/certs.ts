// Test certificates: a CA and leaf certificates signed by it, RSA-2048 /
// SHA-256 (RSA keeps TLS record sizes deterministic in the simulation; see
// DESIGN.md). Keys come from node:crypto (fast, native); node-forge builds the
// X.509 structures.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';

export interface CertificateAuthority {
  commonName: string;
  keyPem: string;
  certPem: string;
  /** For signing leaves. */
  readonly privateKey: forge.pki.rsa.PrivateKey;
  readonly certificate: forge.pki.Certificate;
}

export interface IssuedCertificate {
  commonName: string;
  keyPem: string;
  certPem: string;
}

export interface ValidityOptions {
  /** Defaults to one hour before now, so clock skew never makes a fresh certificate "not yet valid". */
  notBefore?: Date;
  /** Defaults to one year after now. */
  notAfter?: Date;
}

export interface CaOptions extends ValidityOptions {
  commonName?: string;
}

export interface LeafOptions extends ValidityOptions {
  commonName: string;
  /** DNS names and IP addresses; IPs are recognised and encoded as iPAddress. */
  subjectAltNames?: readonly string[];
  /** Sign with the leaf's own key instead of the CA's: a self-signed certificate no CA vouches for. */
  selfSigned?: boolean;
}

const hourMs = 60 * 60 * 1000;

export function createCertificateAuthority(options: CaOptions = {}): CertificateAuthority {
  const commonName = options.commonName ?? 'pf9lab test CA';
  const { privateKey, publicKey, keyPem } = generateRsaKey();
  const certificate = forge.pki.createCertificate();
  certificate.publicKey = publicKey;
  certificate.serialNumber = serialNumber();
  setValidity(certificate, options);
  const subject = [{ name: 'commonName', value: commonName }, { name: 'organizationName', value: 'pf9lab' }];
  certificate.setSubject(subject);
  certificate.setIssuer(subject);
  certificate.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  certificate.sign(privateKey, forge.md.sha256.create());
  return { commonName, keyPem, certPem: forge.pki.certificateToPem(certificate), privateKey, certificate };
}

/** A leaf certificate for a TLS server or client (both extended key usages), signed by `ca`. */
export function issueCertificate(ca: CertificateAuthority, options: LeafOptions): IssuedCertificate {
  const { privateKey, publicKey, keyPem } = generateRsaKey();
  const certificate = forge.pki.createCertificate();
  certificate.publicKey = publicKey;
  certificate.serialNumber = serialNumber();
  setValidity(certificate, options);
  certificate.setSubject([{ name: 'commonName', value: options.commonName }]);
  const selfSigned = options.selfSigned === true;
  certificate.setIssuer(selfSigned ? certificate.subject.attributes : ca.certificate.subject.attributes);
  const altNames = (options.subjectAltNames ?? []).map((name) => (isIP(name) === 0 ? { type: 2, value: name } : { type: 7, ip: name }));
  certificate.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
    ...(altNames.length > 0 ? [{ name: 'subjectAltName', altNames }] : []),
    { name: 'subjectKeyIdentifier' },
    ...(selfSigned ? [] : [{ name: 'authorityKeyIdentifier', keyIdentifier: ca.certificate.generateSubjectKeyIdentifier().getBytes() }]),
  ]);
  certificate.sign(selfSigned ? privateKey : ca.privateKey, forge.md.sha256.create());
  return { commonName: options.commonName, keyPem, certPem: forge.pki.certificateToPem(certificate) };
}

function generateRsaKey(): { privateKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey; keyPem: string } {
  const { privateKey: keyPem } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  const privateKey = forge.pki.privateKeyFromPem(keyPem);
  const publicKey = forge.pki.setRsaPublicKey(privateKey.n, privateKey.e);
  return { privateKey, publicKey, keyPem };
}

function setValidity(certificate: forge.pki.Certificate, options: ValidityOptions): void {
  const nowMs = Date.now();
  certificate.validity.notBefore = options.notBefore ?? new Date(nowMs - hourMs);
  certificate.validity.notAfter = options.notAfter ?? new Date(nowMs + 365 * 24 * hourMs);
}

/** A positive 64-bit serial (high bit clear: a positive DER integer; 0x40 set: no leading zero byte). */
function serialNumber(): string {
  const bytes = randomBytes(8);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return bytes.toString('hex');
}
