// Object names as Kubernetes accepts them for nodes and leases: a DNS-1123
// subdomain. Keeping names to this alphabet also keeps etcd keys ASCII, so a
// name is its own byte string and cannot escape its key prefix ('/', '..').

const NAME_LENGTH_MAX = 253;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why `name` is not a valid object name, or undefined when it is. */
export function nameProblem(name: string): string | undefined {
  if (name === '') return 'name is required';
  if (name.length > NAME_LENGTH_MAX) return `name longer than ${NAME_LENGTH_MAX} characters`;
  if (!DNS1123_SUBDOMAIN.test(name)) return `${JSON.stringify(name.slice(0, 64))} is not a lowercase RFC 1123 subdomain`;
  return undefined;
}
