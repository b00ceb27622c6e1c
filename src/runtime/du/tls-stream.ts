// Which accepted TCP stream a server-side TLS socket runs on.
//
// The acceptor hands out the TLSSocket, not the stream it wraps, but the
// gateway must reset that stream (a TLSSocket cannot send a TCP RST: its
// resetAndDestroy only works on a raw TCP handle). Node keeps the wrapped
// stream in one of two places: `_parent` when it took over a net.Socket's
// handle (the real platform), and the JSStreamSocket's `stream` when it wraps
// any other Duplex (the simulation). Both are Node internals, so the answer
// is only trusted if it is one of the streams the gateway itself accepted.
import type { TLSSocket } from 'node:tls';
import type { StreamSocket } from '../platform/types.js';

interface TlsInternals {
  _parent?: unknown;
  _handle?: { _parentWrap?: { stream?: unknown } } | null;
}

export function streamUnder(tlsSocket: TLSSocket, accepted: ReadonlySet<StreamSocket>): StreamSocket | undefined {
  const internals = tlsSocket as unknown as TlsInternals;
  for (const candidate of [internals._parent, internals._handle?._parentWrap?.stream]) {
    if (candidate !== null && candidate !== undefined && accepted.has(candidate as StreamSocket)) return candidate as StreamSocket;
  }
  return undefined;
}
