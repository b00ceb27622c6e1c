// Bytes fields travel base64-encoded, standard alphabet with padding: what
// Go's encoding/json writes and, in the build Debian ships (etcd 3.4.23 with
// golang-protobuf's jsonpb), all it reads: "Zm9v-_" and unpadded "Zm9vYg"
// are refused there ("illegal base64 data at input byte 4"), checked against
// the real server. Buffer's decoder would skip bad characters silently, so
// the text is checked first.
import type { KvBytes } from '../api/bytes.js';

const STD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function isStdBase64(text: string): boolean {
  return STD_BASE64.test(text);
}

/** undefined when the text is not standard padded base64. */
export function bytesFromBase64(text: string): KvBytes | undefined {
  if (!STD_BASE64.test(text)) return undefined;
  return Buffer.from(text, 'base64').toString('latin1');
}

export function base64FromBytes(bytes: KvBytes): string {
  return Buffer.from(bytes, 'latin1').toString('base64');
}
