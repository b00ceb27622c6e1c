// The DU gateway's TLS server certificate (extKeyUsage serverAuth), with the
// DU's DNS names and IP addresses as SANs: comms verifies the DU by CA and by
// name, so every name a host may dial must be listed.
import forge from 'node-forge';
import type { Random } from '../platform/types.js';
import type { CertificateAuthority } from './ca.js';
import { PkiError } from './errors.js';
import type { KeySource } from './key-source.js';
import { identifiers, issued, newLeaf, type IssuedCertificate } from './host-certificate.js';
import { DAY_MS } from './time.js';

export const GATEWAY_CERT_LIFETIME_MS_DEFAULT = 397 * DAY_MS;

const DNS_NAME_PATTERN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

export interface GatewayCertificate extends IssuedCertificate {
  readonly keyPem: string;
}

export interface IssueGatewayOptions {
  keySource: KeySource;
  random: Random;
  /** `platform.clock.now()`. */
  nowMs: number;
  /** The first is also the subject CN. Lowercase, no wildcards. */
  dnsNames: readonly string[];
  ipAddresses?: readonly string[];
  lifetimeMs?: number;
}

export async function issueGatewayCertificate(ca: CertificateAuthority, options: IssueGatewayOptions): Promise<GatewayCertificate> {
  const [commonName] = options.dnsNames;
  if (commonName === undefined) throw new PkiError('ERR_PKI_INVALID_ARGUMENT', 'a gateway certificate needs at least one DNS name');
  for (const name of options.dnsNames) {
    if (!DNS_NAME_PATTERN.test(name)) throw new PkiError('ERR_PKI_INVALID_ARGUMENT', `not a lowercase DNS name: '${name}'`);
  }
  const ipAddresses = options.ipAddresses ?? [];
  for (const ip of ipAddresses) {
    if (!isIpAddress(ip)) throw new PkiError('ERR_PKI_INVALID_ARGUMENT', `not an IP address: '${ip}'`);
  }
  const key = await options.keySource.generateRsaKey();
  const certificate = newLeaf(ca, key.publicKey, options.random, options.nowMs, options.lifetimeMs ?? GATEWAY_CERT_LIFETIME_MS_DEFAULT);
  certificate.setSubject([{ name: 'commonName', value: commonName }]);
  certificate.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [...options.dnsNames.map((value) => ({ type: 2, value })), ...ipAddresses.map((ip) => ({ type: 7, ip }))],
    },
    ...identifiers(ca),
  ]);
  certificate.sign(ca.privateKey, forge.md.sha256.create());
  return { keyPem: key.privateKeyPem, ...issued(certificate) };
}

const IPV4_OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4_PATTERN = new RegExp(`^${IPV4_OCTET}(\\.${IPV4_OCTET}){3}$`);

/** Dotted-quad IPv4, or IPv6 as forge encodes it (its bytesFromIP is lax about IPv4, so that is checked here). */
function isIpAddress(ip: string): boolean {
  if (!ip.includes(':')) return IPV4_PATTERN.test(ip);
  const bytes: unknown = (forge.util as unknown as { bytesFromIP(ip: string): unknown }).bytesFromIP(ip);
  return typeof bytes === 'string' && bytes.length === 16;
}
