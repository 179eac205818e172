/**
 * JSON as the APIs receive it: a parsed body is `unknown` until checked. One definition of
 * "a JSON object" for every API that reads one.
 */
export type JsonObject = Record<string, unknown>;

/** A JSON object: not null, not an array. */
export const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
