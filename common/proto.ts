/**
 * The generated protobuf module, in one place. Only codecs and network shells import it;
 * cores work on the domain types of `types.ts`.
 */
import { agora } from '../proto/gen/agora';

export const pb = agora.v1;
export type { agora };

/** Bytes on the wire were not the message they should have been. */
export class WireError extends Error {
  override readonly name = 'WireError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

interface Decoder<T> {
  decode(bytes: Uint8Array): T;
  name?: string;
}

/** Decodes `bytes` as `type`, or throws a WireError that says which message failed and why. */
export function decodeAs<T>(type: Decoder<T>, typeName: string, bytes: Uint8Array): T {
  try {
    return type.decode(bytes);
  } catch (err) {
    throw new WireError(`malformed ${typeName} (${bytes.length} bytes): ${(err as Error).message}`, { cause: err });
  }
}
