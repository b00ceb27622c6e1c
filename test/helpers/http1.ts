// Shared by the HTTP/1.1 codec tests.
import { expect } from 'vitest';
import { HttpError } from '../../src/runtime/net/http1/errors.js';

/** Runs `action`, which must throw an HttpError; returns it. */
export function rejection(action: () => unknown): HttpError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(HttpError);
    return error as HttpError;
  }
  throw new Error('expected an HttpError, nothing was thrown');
}
