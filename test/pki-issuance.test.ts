// The PKI: the DU root CA, host CSRs and every refusal, host and gateway
// certificates, the peer check on the platform clock, revocation, rotation
// timing, and reproducible keys and certificates from a seed.
import { describe, expect, it, beforeAll } from 'vitest';
import { X509Certificate, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import forge from 'node-forge';
import { Rng } from '../sim/network/rng.js';
import { SIM_EPOCH_MS } from '../sim/network/engine.js';
import {
  PkiError,
  RevocationList,
  caFromPem,
  checkHostCsr,
  createHostCsr,
  createRootCa,
  deriveRsaKey,
  hostDnsName,
  issueGatewayCertificate,
  nodeCryptoKeySource,
  rotationDueAtMs,
  seededKeySource,
  signHostCsr,
  verifyPeerCertificate,
  DAY_MS,
  HOUR_MS,
  type CertificateAuthority,
  type RsaKeyPair,
} from '../src/runtime/pki/index.js';

const NOW_MS = SIM_EPOCH_MS + 5 * 60_000;

let ca: CertificateAuthority;
let hostKey: RsaKeyPair;
let otherKey: RsaKeyPair;

beforeAll(async () => {
  const keys = seededKeySource(Rng.fromSeed(1).fork('keys'));
  ca = await createRootCa({ keySource: keys, random: Rng.fromSeed(1).fork('ca'), nowMs: NOW_MS });
  hostKey = await keys.generateRsaKey();
  otherKey = await keys.generateRsaKey();
});

function expectPkiError(action: () => unknown, code: string): PkiError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(PkiError);
    expect((error as PkiError).code).toBe(code);
    return error as PkiError;
  }
  throw new Error(`expected ${code}`);
}

/** A CSR built by hand, to make the bad ones a real client might send. */
function csrWith(options: { cn?: string[]; altNames?: object[]; key?: RsaKeyPair; signWith?: RsaKeyPair }): string {
  const key = options.key ?? hostKey;
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = key.publicKey;
  csr.setSubject((options.cn ?? ['h1']).map((value) => ({ name: 'commonName', value })));
  if (options.altNames !== undefined) {
    csr.setAttributes([{ name: 'extensionRequest', extensions: [{ name: 'subjectAltName', altNames: options.altNames }] }]);
  }
  csr.sign((options.signWith ?? key).privateKey, forge.md.sha256.create());
  return forge.pki.certificationRequestToPem(csr);
}

describe('root CA', () => {
  it('is a self-signed RSA-2048 / SHA-256 CA with keyCertSign and cRLSign, valid from the injected clock', () => {
    const x509 = new X509Certificate(ca.certPem);
    expect(x509.ca).toBe(true);
    expect(x509.verify(x509.publicKey)).toBe(true);
    expect(x509.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(ca.certificate.siginfo.algorithmOid).toBe(forge.pki.oids['sha256WithRSAEncryption']);
    const usage = ca.certificate.getExtension('keyUsage') as Record<string, unknown>;
    expect(usage).toMatchObject({ keyCertSign: true, cRLSign: true, critical: true });
    expect(ca.window.notBeforeMs).toBe(NOW_MS - HOUR_MS);
    expect(ca.window.notAfterMs).toBe(NOW_MS + 10 * 365 * DAY_MS);
  });

  it('round-trips through PEM and refuses a key that is not its own', () => {
    const loaded = caFromPem(ca.certPem, ca.keyPem);
    expect(loaded.certPem).toBe(ca.certPem);
    expectPkiError(() => caFromPem(ca.certPem, otherKey.privateKeyPem), 'ERR_PKI_KEY_MISMATCH');
    expectPkiError(() => caFromPem('garbage', ca.keyPem), 'ERR_PKI_MALFORMED');
  });
});

describe('host onboarding: CSR and signing', () => {
  it('signs a good CSR into a clientAuth certificate naming the host in CN and SAN', () => {
    const issued = signHostCsr(ca, createHostCsr('h1', hostKey), { random: Rng.fromSeed(2), nowMs: NOW_MS, lifetimeMs: DAY_MS, expectedHostId: 'h1' });
    const x509 = new X509Certificate(issued.certPem);
    expect(issued.hostId).toBe('h1');
    expect(x509.subject).toBe('CN=h1');
    expect(x509.subjectAltName).toBe(`DNS:${hostDnsName('h1')}`);
    expect(x509.subjectAltName).toBe('DNS:host-h1.pf9lab');
    expect(x509.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(x509.ca).toBe(false);
    expect(x509.checkIssued(new X509Certificate(ca.certPem))).toBe(true);
    expect(x509.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(x509.serialNumber.toLowerCase()).toBe(issued.serialHex);
    expect(issued.notBeforeMs).toBe(NOW_MS - HOUR_MS);
    expect(issued.notAfterMs).toBe(NOW_MS + DAY_MS);
    expect(Date.parse(x509.validFrom)).toBe(issued.notBeforeMs);
    expect(Date.parse(x509.validTo)).toBe(issued.notAfterMs);
  });

  it('gives every certificate its own serial, of a fixed encoded length', () => {
    const random = Rng.fromSeed(3);
    const serials = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const issued = signHostCsr(ca, createHostCsr('h1', hostKey), { random, nowMs: NOW_MS });
      expect(issued.serialHex).toMatch(/^[4-7][0-9a-f]{31}$/);
      serials.add(issued.serialHex);
    }
    expect(serials.size).toBe(50);
  });

  it.each([
    ['garbage', () => 'not a csr', 'ERR_PKI_MALFORMED'],
    ['a certificate instead of a CSR', () => ca.certPem, 'ERR_PKI_MALFORMED'],
    ['a truncated CSR', () => createHostCsr('h1', hostKey).slice(0, 300) + '\n-----END CERTIFICATE REQUEST-----\n', 'ERR_PKI_MALFORMED'],
    ['a signature by another key', () => csrWith({ altNames: [{ type: 2, value: 'host-h1.pf9lab' }], signWith: otherKey }), 'ERR_PKI_CSR_BAD_SIGNATURE'],
    ['no SAN', () => csrWith({}), 'ERR_PKI_CSR_NAME_MISMATCH'],
    ['a SAN for another host', () => csrWith({ altNames: [{ type: 2, value: 'host-h2.pf9lab' }] }), 'ERR_PKI_CSR_NAME_MISMATCH'],
    ['an extra SAN', () => csrWith({ altNames: [{ type: 2, value: 'host-h1.pf9lab' }, { type: 2, value: 'du.pf9lab.test' }] }), 'ERR_PKI_CSR_NAME_MISMATCH'],
    ['an IP SAN', () => csrWith({ altNames: [{ type: 7, ip: '198.18.0.1' }] }), 'ERR_PKI_CSR_NAME_MISMATCH'],
    ['an invalid host id', () => csrWith({ cn: ['H 1'], altNames: [{ type: 2, value: 'host-H 1.pf9lab' }] }), 'ERR_PKI_CSR_BAD_HOST_ID'],
    ['two CNs', () => csrWith({ cn: ['h1', 'h2'], altNames: [{ type: 2, value: 'host-h1.pf9lab' }] }), 'ERR_PKI_CSR_BAD_HOST_ID'],
    ['a 1024-bit key', () => csrWith({ key: weakKey(), altNames: [{ type: 2, value: 'host-h1.pf9lab' }] }), 'ERR_PKI_WEAK_KEY'],
  ])('refuses %s', (_name, makeCsr, code) => {
    const error = expectPkiError(() => signHostCsr(ca, makeCsr(), { random: Rng.fromSeed(4), nowMs: NOW_MS }), code);
    expect(error.message).toContain(code);
  });

  it('refuses an EC key (forge reads only RSA) as a weak key', () => {
    expectPkiError(() => checkHostCsr(ecCsrPem()), 'ERR_PKI_WEAK_KEY');
  });

  it('refuses a CSR for another host than the one being onboarded', () => {
    expectPkiError(() => signHostCsr(ca, createHostCsr('h2', hostKey), { random: Rng.fromSeed(5), nowMs: NOW_MS, expectedHostId: 'h1' }), 'ERR_PKI_CSR_HOST_MISMATCH');
  });
});

describe('gateway certificate', () => {
  it('is serverAuth with the DU DNS names and IPs as SANs', async () => {
    const gateway = await issueGatewayCertificate(ca, {
      keySource: seededKeySource(Rng.fromSeed(6)),
      random: Rng.fromSeed(6),
      nowMs: NOW_MS,
      dnsNames: ['du.pf9lab.test', 'registry.pf9lab.test'],
      ipAddresses: ['198.18.0.2'],
    });
    const x509 = new X509Certificate(gateway.certPem);
    expect(x509.subjectAltName).toBe('DNS:du.pf9lab.test, DNS:registry.pf9lab.test, IP Address:198.18.0.2');
    expect(x509.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(x509.checkPrivateKey(createPrivateKey(gateway.keyPem))).toBe(true);
    const identity = verifyPeerCertificate(gateway.certPem, { caCertificate: ca.certificate, nowMs: NOW_MS, purpose: 'serverAuth', expectedName: '198.18.0.2' });
    expect(identity.commonName).toBe('du.pf9lab.test');
    expectPkiError(() => verifyPeerCertificate(gateway.certPem, { caCertificate: ca.certificate, nowMs: NOW_MS, purpose: 'serverAuth', expectedName: 'other.test' }), 'ERR_PKI_NAME_MISMATCH');
    expectPkiError(() => verifyPeerCertificate(gateway.certPem, { caCertificate: ca.certificate, nowMs: NOW_MS, purpose: 'clientAuth' }), 'ERR_PKI_WRONG_PURPOSE');
  });

  it('refuses bad names', async () => {
    const options = { keySource: seededKeySource(Rng.fromSeed(7)), random: Rng.fromSeed(7), nowMs: NOW_MS };
    await expect(issueGatewayCertificate(ca, { ...options, dnsNames: [] })).rejects.toMatchObject({ code: 'ERR_PKI_INVALID_ARGUMENT' });
    await expect(issueGatewayCertificate(ca, { ...options, dnsNames: ['*.du.test'] })).rejects.toMatchObject({ code: 'ERR_PKI_INVALID_ARGUMENT' });
    await expect(issueGatewayCertificate(ca, { ...options, dnsNames: ['du.test'], ipAddresses: ['198.18.0.300'] })).rejects.toMatchObject({ code: 'ERR_PKI_INVALID_ARGUMENT' });
  });
});

describe('peer check on the platform clock, and revocation', () => {
  const issue = (lifetimeMs = DAY_MS) => signHostCsr(ca, createHostCsr('h1', hostKey), { random: Rng.fromSeed(8), nowMs: NOW_MS, lifetimeMs });

  it('accepts a host certificate inside its window and names the host', () => {
    const issued = issue();
    const identity = verifyPeerCertificate(issued.certPem, { caCertificate: ca.certificate, nowMs: NOW_MS, purpose: 'clientAuth' });
    expect(identity).toMatchObject({ hostId: 'h1', serialHex: issued.serialHex });
  });

  it('judges the window at the injected time, to the second', () => {
    const issued = issue();
    const check = (nowMs: number) => () => verifyPeerCertificate(issued.certPem, { caCertificate: ca.certificate, nowMs, purpose: 'clientAuth' });
    expect(check(issued.notAfterMs)).not.toThrow();
    expectPkiError(check(issued.notAfterMs + 1), 'ERR_PKI_EXPIRED');
    expect(check(issued.notBeforeMs)).not.toThrow();
    expectPkiError(check(issued.notBeforeMs - 1), 'ERR_PKI_NOT_YET_VALID');
  });

  it('refuses a certificate from another CA', async () => {
    const otherCa = await createRootCa({ keySource: seededKeySource(Rng.fromSeed(9)), random: Rng.fromSeed(9), nowMs: NOW_MS, commonName: 'pf9lab DU root CA' });
    const foreign = signHostCsr(otherCa, createHostCsr('h1', hostKey), { random: Rng.fromSeed(9), nowMs: NOW_MS });
    expectPkiError(() => verifyPeerCertificate(foreign.certPem, { caCertificate: ca.certificate, nowMs: NOW_MS, purpose: 'clientAuth' }), 'ERR_PKI_UNTRUSTED');
  });

  it('refuses a revoked serial, and keeps others; the list survives JSON', () => {
    const revoked = issue();
    const kept = signHostCsr(ca, createHostCsr('h1', hostKey), { random: Rng.fromSeed(10), nowMs: NOW_MS });
    const list = RevocationList.empty().revoke({ serialHex: revoked.serialHex.toUpperCase(), reason: 'keyCompromise', revokedAtMs: NOW_MS, hostId: 'h1' });
    const reloaded = RevocationList.fromJson(list.toJson());
    expect(reloaded.entries()).toEqual([{ serialHex: revoked.serialHex, reason: 'keyCompromise', revokedAtMs: NOW_MS, hostId: 'h1' }]);
    expect(reloaded.isRevoked(`00${revoked.serialHex}`)).toBe(true);
    const options = { caCertificate: ca.certificate, nowMs: NOW_MS, purpose: 'clientAuth' as const, revocations: reloaded };
    expectPkiError(() => verifyPeerCertificate(revoked.certPem, options), 'ERR_PKI_REVOKED');
    expect(verifyPeerCertificate(kept.certPem, options).serialHex).toBe(kept.serialHex);
  });

  it('refuses malformed revocation lists and entries', () => {
    expectPkiError(() => RevocationList.fromJson('{'), 'ERR_PKI_MALFORMED');
    expectPkiError(() => RevocationList.fromJson('{"format":"other","entries":[]}'), 'ERR_PKI_MALFORMED');
    expectPkiError(() => RevocationList.fromJson('{"format":"pf9lab-revocation-list/v1","entries":[{"serialHex":"zz","reason":"superseded","revokedAtMs":1}]}'), 'ERR_PKI_MALFORMED');
    expectPkiError(() => RevocationList.fromJson('{"format":"pf9lab-revocation-list/v1","entries":[{"serialHex":"01","reason":"bored","revokedAtMs":1}]}'), 'ERR_PKI_MALFORMED');
  });
});

describe('rotation timing', () => {
  it('is due when a third of the lifetime is left, by default', () => {
    expect(rotationDueAtMs({ notBeforeMs: 0, notAfterMs: 3_000 })).toBe(2_000);
    expect(rotationDueAtMs({ notBeforeMs: 1_000, notAfterMs: 11_000 }, { renewBeforeFraction: 0.5 })).toBe(6_000);
    expectPkiError(() => rotationDueAtMs({ notBeforeMs: 0, notAfterMs: 1 }, { renewBeforeFraction: 1 }), 'ERR_PKI_INVALID_ARGUMENT');
    expectPkiError(() => rotationDueAtMs({ notBeforeMs: 5, notAfterMs: 5 }), 'ERR_PKI_INVALID_ARGUMENT');
  });

  it('of an issued certificate falls inside its window', () => {
    const issued = signHostCsr(ca, createHostCsr('h1', hostKey), { random: Rng.fromSeed(11), nowMs: NOW_MS, lifetimeMs: 3 * DAY_MS });
    const dueAtMs = rotationDueAtMs(issued);
    expect(dueAtMs).toBeGreaterThan(issued.notBeforeMs);
    expect(dueAtMs).toBeLessThan(issued.notAfterMs);
    expect(issued.notAfterMs - dueAtMs).toBe(Math.floor((issued.notAfterMs - issued.notBeforeMs) / 3));
  });
});

describe('determinism', () => {
  async function world(seed: number): Promise<{ caPem: string; hostPem: string; gatewayPem: string; keyPem: string }> {
    const root = Rng.fromSeed(seed);
    const caKeys = seededKeySource(root.fork('du/keys'));
    const duRandom = root.fork('du/random');
    const authority = await createRootCa({ keySource: caKeys, random: duRandom, nowMs: NOW_MS });
    const key = await seededKeySource(root.fork('host/keys')).generateRsaKey();
    const host = signHostCsr(authority, createHostCsr('h1', key), { random: duRandom, nowMs: NOW_MS });
    const gateway = await issueGatewayCertificate(authority, { keySource: caKeys, random: duRandom, nowMs: NOW_MS, dnsNames: ['du.pf9lab.test'] });
    return { caPem: authority.certPem, hostPem: host.certPem, gatewayPem: gateway.certPem, keyPem: key.privateKeyPem };
  }

  it('the same seed gives the same keys and certificate bytes; another seed gives others', async () => {
    const first = await world(21);
    const second = await world(21);
    const other = await world(22);
    expect(second).toEqual(first);
    expect(other.caPem).not.toBe(first.caPem);
    expect(other.keyPem).not.toBe(first.keyPem);
  });

  it('derived keys are valid RSA-2048 keys OpenSSL accepts, and derivation is pure', () => {
    const seed = Buffer.alloc(32, 7);
    const key = deriveRsaKey(seed);
    const privateKey = createPrivateKey(key.privateKeyPem);
    expect(privateKey.asymmetricKeyDetails).toMatchObject({ modulusLength: 2048, publicExponent: 65537n });
    const signature = sign('sha256', Buffer.from('x'), privateKey);
    expect(verify('sha256', Buffer.from('x'), createPublicKey(privateKey), signature)).toBe(true);
    expect(privateKey.export({ format: 'jwk' })).toEqual(createPrivateKey(deriveRsaKey(Buffer.from(seed), { useCache: false }).privateKeyPem).export({ format: 'jwk' }));
  });

  it('the real key source makes working RSA-2048 keys', async () => {
    const key = await nodeCryptoKeySource().generateRsaKey();
    expect(key.privateKey.n.bitLength()).toBe(2048);
    expect(() => checkHostCsr(createHostCsr('h9', key))).not.toThrow();
  });
});

function weakKey(): RsaKeyPair {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  const forgeKey = forge.pki.privateKeyFromPem(privateKey);
  return { privateKey: forgeKey, publicKey: forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e), privateKeyPem: privateKey };
}

/** A CSR with a P-256 key, made once by OpenSSL (`openssl req -new -newkey ec -subj /CN=h1`); test-only, its key was discarded. */
function ecCsrPem(): string {
  return [
    '-----BEGIN CERTIFICATE REQUEST-----',
    'MIHGMG8CAQAwDTELMAkGA1UEAwwCaDEwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNC',
    'AAQFIMh29f68DHElHfEf+Pmgjb/A8EmgAUkm6XTC9mjCGhM4gVqofgzGhwY3+hrf',
    'MgJdxAIXO0tdl1P1V4DiDu5QoAAwCgYIKoZIzj0EAwIDRwAwRAIgISVOTvprJh7z',
    'IPpYuQPk/VmIpeyKeZfHKc7jNhuBfPsCIHFxC1WQAAMqhzf2D6VIFoTet3RYHtZI',
    'E4ErHLk5f0Zt',
    '-----END CERTIFICATE REQUEST-----',
    '',
  ].join('\n');
}
