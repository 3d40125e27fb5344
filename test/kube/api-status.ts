// The Status objects the API server answers failures with (metav1.Status), in its own words, so that a client
// tested here meets what a real kube-apiserver sends: on a list as the HTTP body, on a watch as an ERROR event.

export interface ApiStatus {
  readonly kind: 'Status';
  readonly apiVersion: 'v1';
  readonly metadata: Record<string, never>;
  readonly status: 'Failure';
  readonly message: string;
  readonly reason: string;
  readonly code: number;
  readonly details?: Readonly<Record<string, unknown>>;
}

function failure(code: number, reason: string, message: string, details?: Record<string, unknown>): ApiStatus {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code, ...(details ? { details } : {}) };
}

/** A watch from a resourceVersion the server no longer keeps history for. */
export function watchTooOld(requested: number, oldest: number): ApiStatus {
  return failure(410, 'Expired', `too old resource version: ${requested} (${oldest})`);
}

/** An exact list at a resourceVersion that was compacted away. */
export function listTooOld(): ApiStatus {
  return failure(410, 'Expired', 'The resourceVersion for the provided list is too old.');
}

export function continueTooOld(): ApiStatus {
  return failure(
    410,
    'Expired',
    'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
  );
}

/** The watch cache did not reach the requested resourceVersion in time. */
export function tooLargeResourceVersion(requested: number, current: number): ApiStatus {
  return failure(504, 'Timeout', `Too large resource version: ${requested}, current: ${current}`, {
    causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
    retryAfterSeconds: 1,
  });
}

export function notFound(resource: string, name: string): ApiStatus {
  return failure(404, 'NotFound', `${resource} "${name}" not found`, { name, kind: resource });
}

export function badRequest(message: string): ApiStatus {
  return failure(400, 'BadRequest', message);
}

export function methodNotAllowed(method: string): ApiStatus {
  return failure(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource (${method})`);
}

export function serviceUnavailable(): ApiStatus {
  return failure(503, 'ServiceUnavailable', 'the server is currently unable to handle the request');
}

export function alreadyExists(resource: string, name: string): ApiStatus {
  return failure(409, 'AlreadyExists', `${resource} "${name}" already exists`, { name, kind: resource });
}
