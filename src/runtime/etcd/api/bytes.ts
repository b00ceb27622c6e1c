// etcd keys and values are bytes, ordered bytewise. The model carries them
// as "byte strings": JS strings whose every code unit is 0–255, one per byte.
// They are JSON-safe (commands travel as Raft entry data), compare with < in
// byte order, and ASCII text such as '/registry/nodes/a' is its own byte
// string. Text outside ASCII goes through bytesFromUtf8 first.

/** Bytes as a string of code units 0–255, one per byte. */
export type KvBytes = string;

export function isKvBytes(value: unknown): value is KvBytes {
  if (typeof value !== 'string') return false;
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) > 0xff) return false;
  return true;
}

export function bytesFromUtf8(text: string): KvBytes {
  return Buffer.from(text, 'utf8').toString('latin1');
}

export function utf8FromBytes(bytes: KvBytes): string {
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

export function bytesFromUint8Array(bytes: Uint8Array): KvBytes {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

export function uint8ArrayFromBytes(bytes: KvBytes): Uint8Array {
  return new Uint8Array(Buffer.from(bytes, 'latin1'));
}

/** A range end of '\0' means "every key >= key" (rpc.proto, RangeRequest.range_end). */
export const RANGE_END_ALL: KvBytes = '\0';

/**
 * The range end that selects every key with this prefix, as clientv3's
 * getPrefix (clientv3/op.go) computes it: the last byte below 0xff plus one,
 * what follows it dropped; a prefix of only 0xff bytes has no end, so '\0'.
 */
export function prefixRangeEnd(prefix: KvBytes): KvBytes {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const byte = prefix.charCodeAt(i);
    if (byte < 0xff) return prefix.slice(0, i) + String.fromCharCode(byte + 1);
  }
  return RANGE_END_ALL;
}

/**
 * A key range as etcd reads (key, range_end): no end (or an empty one) is the
 * single key; '\0' is every key >= key; otherwise [key, end), which is empty
 * when end <= key.
 */
export type KeySpan =
  | { readonly kind: 'single'; readonly key: KvBytes }
  | { readonly kind: 'from'; readonly start: KvBytes }
  | { readonly kind: 'between'; readonly start: KvBytes; readonly end: KvBytes };

export function keySpan(key: KvBytes, rangeEnd: KvBytes | undefined): KeySpan {
  if (rangeEnd === undefined || rangeEnd === '') return { kind: 'single', key };
  if (rangeEnd === RANGE_END_ALL) return { kind: 'from', start: key };
  return { kind: 'between', start: key, end: rangeEnd };
}

export function spanContains(span: KeySpan, key: KvBytes): boolean {
  switch (span.kind) {
    case 'single':
      return key === span.key;
    case 'from':
      return key >= span.start;
    case 'between':
      return key >= span.start && key < span.end;
  }
}

/** For error messages and traces: printable ASCII as is, other bytes escaped. */
export function describeBytes(bytes: KvBytes, maxChars = 64): string {
  const shown = bytes.length > maxChars ? bytes.slice(0, maxChars) : bytes;
  let text = '';
  for (let i = 0; i < shown.length; i++) {
    const code = shown.charCodeAt(i);
    text += code >= 0x20 && code < 0x7f && code !== 0x22 && code !== 0x5c ? shown[i] : `\\x${code.toString(16).padStart(2, '0')}`;
  }
  return `"${text}"${bytes.length > maxChars ? `…(${bytes.length} bytes)` : ''}`;
}
