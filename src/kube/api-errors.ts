// Failures the API server reports (metav1.Status), and the two the watch layer acts on: 410 Gone (history
// compacted: relist) and "Too large resource version" (a lagging cache: read the latest instead).
import { isMapping } from './json.js';

/** A failed request, or an ERROR watch event, with the API server's Status when it sent one. */
export class ApiError extends Error {
  readonly code: number;
  readonly reason: string | undefined;
  readonly causes: readonly string[];

  constructor(code: number, status: unknown, fallbackMessage: string) {
    const fields = isMapping(status) ? status : {};
    const message = typeof fields['message'] === 'string' ? fields['message'] : fallbackMessage;
    super(`${code}${typeof fields['reason'] === 'string' ? ` ${fields['reason']}` : ''}: ${message}`);
    this.name = 'ApiError';
    this.code = code;
    this.reason = typeof fields['reason'] === 'string' ? fields['reason'] : undefined;
    const details = isMapping(fields['details']) ? fields['details'] : {};
    const causes = Array.isArray(details['causes']) ? details['causes'] : [];
    this.causes = causes.flatMap((cause) => (isMapping(cause) && typeof cause['reason'] === 'string' ? [cause['reason']] : []));
  }

  /** The Status object of an ERROR watch event. */
  static fromStatus(status: unknown): ApiError {
    const code = isMapping(status) && typeof status['code'] === 'number' ? status['code'] : 500;
    return new ApiError(code, status, 'watch error event');
  }
}

/** 410 Gone: the resourceVersion (or continue token) is older than the history the server keeps. */
export function isExpired(error: unknown): boolean {
  return statusCode(error) === 410;
}

/** The server's cache did not reach the resourceVersion asked for (IsTooLargeResourceVersion in client-go). */
export function isTooLargeResourceVersion(error: unknown): boolean {
  return error instanceof ApiError && error.code === 504 && error.causes.includes('ResourceVersionTooLarge');
}

/** Our ApiError's code, or the library Watch's `statusCode` on a non-200 answer to a watch request. */
function statusCode(error: unknown): number | undefined {
  if (error instanceof ApiError) return error.code;
  if (isMapping(error) && typeof error['statusCode'] === 'number') return error['statusCode'];
  return undefined;
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
