// Looking into JSON from the API without trusting its shape.

export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** metadata.resourceVersion of an object, a bookmark or a list; '' when absent. */
export function resourceVersionOf(object: unknown): string {
  const metadata = isMapping(object) ? object['metadata'] : undefined;
  const version = isMapping(metadata) ? metadata['resourceVersion'] : undefined;
  return typeof version === 'string' ? version : '';
}
