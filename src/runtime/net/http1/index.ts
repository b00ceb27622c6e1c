// A small, strict HTTP/1.1 client and server over the platform seam: one
// request per connection, bounded everywhere, typed errors with stable codes.
// Carries etcd's JSON gateway (including /v3/watch streams) and the
// apiserver stand-in's JSON API. See client-exchange.ts and
// server-connection.ts for why one request per connection.
export { HttpError, type HttpErrorCode } from './errors.js';
export type { HttpField, HttpHeaders } from './header-fields.js';
export type { HttpVersion } from './http-version.js';
export type { HttpRequestHead } from './request-head.js';
export type { HttpResponseHead } from './response-head.js';
export { httpRequest, type HttpRequestOptions, type HttpClientResponse } from './client-request.js';
export { httpStream, type HttpStream, type HttpStreamOptions } from './client-stream.js';
export { serveHttp, type HttpServer, type HttpServerOptions } from './server.js';
export type { HttpBodyResponse, HttpHandler, HttpServerRequest, HttpServerResponse, HttpStreamResponse } from './server-types.js';
