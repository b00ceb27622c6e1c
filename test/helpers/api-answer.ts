// The apiserver stand-in's answers, as its tests read them: status, text, and
// the JSON body when there is one (/healthz answers text).
import type { HttpClientResponse } from '../../src/runtime/net/http1/index.js';

export interface ApiAnswer {
  status: number;
  text: string;
  json: Record<string, unknown>;
}

export function apiAnswer(response: Pick<HttpClientResponse, 'status' | 'body'>): ApiAnswer {
  const text = response.body.toString('utf8');
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // /healthz answers text
  }
  return { status: response.status, text, json };
}
