/**
 * A dead process runs nothing. Its code can still be resumed by a promise
 * that settled just before its host crashed; every call it then makes into
 * the seam has no effect and never completes.
 */
export function never<T>(): Promise<T> {
  return new Promise<T>(() => undefined);
}
