// The proxy's replies. Every refusal is a complete, self-delimiting response
// (Content-Length) followed by the end of the connection; the body names the
// stable error code so a human with curl -v sees why.

export type ProxyStatus = 200 | 400 | 403 | 405 | 407 | 408 | 431 | 502 | 503 | 504 | 505;

const reasonPhrases: Record<ProxyStatus, string> = {
  200: 'Connection established',
  400: 'Bad Request',
  403: 'Forbidden',
  405: 'Method Not Allowed',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
};

/** Sent once the target is connected; the tunnel's bytes follow it directly. */
export const connectionEstablished = Buffer.from('HTTP/1.1 200 Connection established\r\n\r\n', 'latin1');

/** A refusal: status line, `extraHeaders`, and `code` as a one-line text body. */
export function formatRefusal(status: Exclude<ProxyStatus, 200>, code: string, extraHeaders: readonly (readonly [string, string])[] = []): Buffer {
  const body = `${code}\n`;
  const lines = [
    `HTTP/1.1 ${status} ${reasonPhrases[status]}`,
    ...extraHeaders.map(([name, value]) => `${name}: ${value}`),
    'Content-Type: text/plain',
    `Content-Length: ${Buffer.byteLength(body, 'latin1')}`,
    'Connection: close',
    '',
    body,
  ];
  return Buffer.from(lines.join('\r\n'), 'latin1');
}
