// Errors of the gateway codec. A request the gateway cannot read is
// GatewayRequestError, naming the field at fault ('compare[0].target'); the
// HTTP layer answers it with etcd's error JSON (status.ts). A response a
// client cannot read (from a real etcd that answers something unexpected)
// is GatewayResponseError.

export class GatewayRequestError extends Error {
  readonly code = 'ERR_ETCD_GATEWAY_BAD_REQUEST';
  /** The field at fault as a path into the JSON body, or '(body)' for the body as a whole. */
  readonly field: string;
  constructor(field: string, problem: string) {
    super(`${field}: ${problem}`);
    this.name = 'GatewayRequestError';
    this.field = field;
  }
}

export class GatewayResponseError extends Error {
  readonly code = 'ERR_ETCD_GATEWAY_BAD_RESPONSE';
  readonly field: string;
  constructor(field: string, problem: string) {
    super(`ERR_ETCD_GATEWAY_BAD_RESPONSE: ${field}: ${problem}`);
    this.name = 'GatewayResponseError';
    this.field = field;
  }
}
