// The linearizability checker for the etcd model's histories: Wing–Gong–Lowe
// search per key, over put/get/delete/cas on string registers. The history
// format is documented in sim/etcd/README.md.
export { checkHistory, type CheckOptions, type CheckResult } from './check-history.js';
export { type CheckLimits, type BoundReason, STEPS_MAX_DEFAULT, MEMO_BYTES_MAX_DEFAULT } from './budget.js';
export { parseHistoryText, readHistory, validateOperations, HISTORY_OPERATIONS_MAX, type History } from './history.js';
export { HistoryError, type HistoryErrorCode } from './history-error.js';
export type * from './operation.js';
export { isPending } from './operation.js';
export { describeOperation, describeInterval, renderOperations, renderCheckResult } from './render.js';
