// How a host is named in its certificate.
//
// The host id (Platform9 uses the host's UUID) is the subject CN, and the one
// subjectAltName is the DNS name `host-<id>.pf9lab`. A DNS name rather than a
// URI: Node's `getPeerCertificate().subjectaltname`, haproxy's `ssl_c_s_dn`
// and `openssl x509 -text` all show it plainly, and the `.pf9lab` suffix is a
// name space of its own, so a host certificate can never pass for the DU's
// server name. Both must agree; the CA refuses a CSR where they do not.

/** Lowercase letters, digits and inner hyphens; 1..57 chars so that `host-<id>` fits one 63-char DNS label. */
const HOST_ID_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,55}[a-z0-9])?$/;
const HOST_DNS_SUFFIX = '.pf9lab';
const HOST_DNS_PREFIX = 'host-';

export function isValidHostId(hostId: string): boolean {
  return HOST_ID_PATTERN.test(hostId);
}

/** The SAN DNS name of a host's certificate. */
export function hostDnsName(hostId: string): string {
  return `${HOST_DNS_PREFIX}${hostId}${HOST_DNS_SUFFIX}`;
}

/** The host id a SAN DNS name stands for, or undefined if it is not a host name. */
export function hostIdFromDnsName(dnsName: string): string | undefined {
  if (!dnsName.startsWith(HOST_DNS_PREFIX) || !dnsName.endsWith(HOST_DNS_SUFFIX)) return undefined;
  const hostId = dnsName.slice(HOST_DNS_PREFIX.length, dnsName.length - HOST_DNS_SUFFIX.length);
  return isValidHostId(hostId) ? hostId : undefined;
}
