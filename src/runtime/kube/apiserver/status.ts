// Failures as the real apiserver reports them: a metav1.Status with a
// `reason` clients branch on (k8s.io/apimachinery/pkg/apis/meta/v1/types.go,
// StatusReason) and the HTTP code that goes with it. A client recording a
// history reads the code: 503 means the write certainly did not happen, 504
// that it may have.
import type { HttpBodyResponse } from '../../net/http1/index.js';

export type StatusReason =
  | 'BadRequest'
  | 'NotFound'
  | 'MethodNotAllowed'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Expired'
  | 'TooManyRequests'
  | 'InternalError'
  | 'ServiceUnavailable'
  | 'Timeout';

const CODE_OF_REASON: Readonly<Record<StatusReason, number>> = {
  BadRequest: 400,
  NotFound: 404,
  MethodNotAllowed: 405,
  AlreadyExists: 409,
  Conflict: 409,
  Gone: 410,
  Expired: 410,
  TooManyRequests: 429,
  InternalError: 500,
  ServiceUnavailable: 503,
  Timeout: 504,
};

export interface KubeStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: StatusReason;
  code: number;
}

/** A request the apiserver refuses; `reason` is the stable code. */
export class ApiError extends Error {
  readonly code: number;

  constructor(
    readonly reason: StatusReason,
    readonly detail: string,
  ) {
    super(`${reason}: ${detail}`);
    this.name = 'ApiError';
    this.code = CODE_OF_REASON[reason];
  }

  toStatus(): KubeStatus {
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.detail, reason: this.reason, code: this.code };
  }
}

export function jsonResponse(status: number, body: unknown): HttpBodyResponse {
  return { status, headers: { 'content-type': 'application/json' }, body: `${JSON.stringify(body)}\n` };
}

export function errorResponse(error: ApiError): HttpBodyResponse {
  return jsonResponse(error.code, error.toStatus());
}
