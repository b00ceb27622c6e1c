// Where private keys come from. Key generation is the one place the PKI needs
// randomness the platform's `Random` cannot serve directly: node:crypto's
// generator is fast but cannot be seeded, node-forge's can be seeded but is
// slow. So it is injected: whoever wires a host (the real entry point, or the
// simulation) picks the source, and the PKI code never knows which it got.
// See README.md, "Keys".
import { generateKeyPair } from 'node:crypto';
import forge from 'node-forge';

export const RSA_BITS = 2048;
export const RSA_PUBLIC_EXPONENT = 0x10001;

export interface RsaKeyPair {
  readonly privateKey: forge.pki.rsa.PrivateKey;
  readonly publicKey: forge.pki.rsa.PublicKey;
  /** PKCS#1 PEM (`RSA PRIVATE KEY`), what Node's tls and haproxy read. */
  readonly privateKeyPem: string;
}

export interface KeySource {
  /** A fresh RSA-2048 key pair (e = 65537). */
  generateRsaKey(): Promise<RsaKeyPair>;
}

/**
 * Real hosts: OpenSSL's generator through node:crypto, off the event loop
 * (a 2048-bit key takes ~0.1 s, sometimes much more). Never in the simulation:
 * its keys are not reproducible from the seed.
 */
export function nodeCryptoKeySource(): KeySource {
  return {
    generateRsaKey: () =>
      new Promise<RsaKeyPair>((resolve, reject) => {
        generateKeyPair(
          'rsa',
          {
            modulusLength: RSA_BITS,
            publicExponent: RSA_PUBLIC_EXPONENT,
            publicKeyEncoding: { type: 'spki', format: 'pem' },
            privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
          },
          (error, _publicKeyPem, privateKeyPem) => {
            if (error !== null) reject(error);
            else resolve(rsaKeyPairFromPem(privateKeyPem));
          },
        );
      }),
  };
}

export function rsaKeyPairFromPem(privateKeyPem: string): RsaKeyPair {
  const privateKey = forge.pki.privateKeyFromPem(privateKeyPem);
  return rsaKeyPairFromPrivateKey(privateKey);
}

export function rsaKeyPairFromPrivateKey(privateKey: forge.pki.rsa.PrivateKey): RsaKeyPair {
  const publicKey = forge.pki.setRsaPublicKey(privateKey.n, privateKey.e);
  return { privateKey, publicKey, privateKeyPem: forge.pki.privateKeyToPem(privateKey) };
}
