// Parsing PEM with node-forge, turning its untyped throws into PkiErrors.
import forge from 'node-forge';
import { PkiError } from './errors.js';

export function parseCertificatePem(pem: string): forge.pki.Certificate {
  try {
    return forge.pki.certificateFromPem(pem);
  } catch (error) {
    throw new PkiError('ERR_PKI_MALFORMED', `not an RSA certificate PEM: ${messageOf(error)}`);
  }
}

export function parseCertificateDer(der: Buffer): forge.pki.Certificate {
  try {
    return forge.pki.certificateFromAsn1(forge.asn1.fromDer(der.toString('binary')));
  } catch (error) {
    throw new PkiError('ERR_PKI_MALFORMED', `not an RSA certificate: ${messageOf(error)}`);
  }
}

export function parsePrivateKeyPem(pem: string): forge.pki.rsa.PrivateKey {
  try {
    return forge.pki.privateKeyFromPem(pem);
  } catch (error) {
    throw new PkiError('ERR_PKI_MALFORMED', `not an RSA private key PEM: ${messageOf(error)}`);
  }
}

export function publicKeysEqual(a: forge.pki.rsa.PublicKey, b: forge.pki.rsa.PublicKey): boolean {
  return a.n.equals(b.n) && a.e.equals(b.e);
}

/** The key pair is consistent: the private key's modulus and exponent are the certificate's. */
export function keyMatchesCertificate(privateKey: forge.pki.rsa.PrivateKey, certificate: forge.pki.Certificate): boolean {
  const publicKey = certificate.publicKey as forge.pki.rsa.PublicKey;
  return publicKey.n.equals(privateKey.n) && publicKey.e.equals(privateKey.e);
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
