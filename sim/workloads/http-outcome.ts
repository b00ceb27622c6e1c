// How a workload's HTTP request failed, for oracles that must tell a silent
// truncation (a clean end before the answer was complete) from a loud failure.
import { HttpError } from '../../src/runtime/net/http1/index.js';

/** 'truncated' when the answer ended cleanly before it was complete, else 'failed'. */
export function failureState(error: unknown): 'failed' | 'truncated' {
  return error instanceof HttpError && error.cleanEnd ? 'truncated' : 'failed';
}
