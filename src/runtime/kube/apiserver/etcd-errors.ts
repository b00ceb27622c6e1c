// etcd's failures as the apiserver answers them. The distinction that
// matters to a client keeping a history is the one EtcdClientError carries:
// 'failed' (the command certainly did not take effect) is 503, 'unknown' (it
// may have) is 504, as the real apiserver answers a storage timeout.
import { EtcdClientError } from '../../etcd/client.js';
import { ApiError } from './status.js';

export function apiErrorOfEtcd(error: unknown, what: string): ApiError {
  if (error instanceof ApiError) return error;
  if (!(error instanceof EtcdClientError)) {
    return new ApiError('InternalError', `${what}: ${error instanceof Error ? error.message : String(error)}`);
  }
  // A protocol error with 'failed' is still a failure we cannot blame on the client: 503 says "try again".
  if (error.outcome === 'unknown') return new ApiError('Timeout', `${what}: etcd did not say whether it was applied: ${error.message}`);
  return new ApiError('ServiceUnavailable', `${what}: etcd refused or could not be reached: ${error.message}`);
}
