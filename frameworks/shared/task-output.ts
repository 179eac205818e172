/**
 * A task's output, read by a framework through the master's sandbox relay with its own
 * credentials (the SDK's sandbox reads: the one route to a task's output, the one `agora logs`
 * and the master's UI take), and served under the framework's own address: the services and
 * jobs UIs link a task's stdout without knowing where agents or the master are, or needing to
 * reach them.
 *
 * Bounded: at most `maxBytes` are read, the end of the file (where a failure shows); the
 * bytes left out at the start are counted, not silently dropped.
 */
import { MAX_SANDBOX_READ_BYTES, SandboxReadError, SubscriptionError, type Scheduler } from '../sdk';
import { ApiError } from './http';

/** One read's cut (the agent's). */
const PAGE_BYTES = MAX_SANDBOX_READ_BYTES;
/** The most a logs request reads: the file's last 8 MiB. */
export const MAX_LOG_BYTES = 8 * PAGE_BYTES;

/** What reading a task's output needs of the framework's subscription. */
export type SandboxReader = Pick<Scheduler, 'readSandboxFile' | 'sandboxFileSize'>;

export interface SandboxFile {
  taskId: string;
  /** Where the task ran: the master finds there a task it no longer holds (one that ended long ago). */
  agentId: string;
  file: 'stdout' | 'stderr';
}

/** The file's text as it is now (its last `maxBytes`), and how many bytes before those were left out. */
export async function readSandboxFile(reader: SandboxReader, s: SandboxFile, maxBytes = MAX_LOG_BYTES): Promise<{ text: string; skippedBytes: number }> {
  const where = { agentId: s.agentId };
  try {
    // The size first: a file that grows while it is read is served up to where it was.
    const size = await reader.sandboxFileSize(s.taskId, s.file, where);
    const from = Math.max(0, size - maxBytes);
    let text = '';
    for (let at = from; at < size; at += PAGE_BYTES) {
      const { data } = await reader.readSandboxFile(s.taskId, s.file, { ...where, offset: at, length: Math.min(PAGE_BYTES, size - at) });
      if (!data) break;   // the file shrank meanwhile
      text += data;
    }
    return { text, skippedBytes: from };
  } catch (err) {
    throw refusal(err);
  }
}

/** The master's refusal kept as ours (404: no such task or file), in its words; anything else is a bad gateway. */
function refusal(err: unknown): unknown {
  if (err instanceof SandboxReadError) return new ApiError(err.status === 404 ? 404 : 502, { message: err.message });
  if (err instanceof SubscriptionError) return notSubscribed();
  return err;
}

export const notSubscribed = (): ApiError =>
  new ApiError(503, { message: "not subscribed to the master now: a task's output is read through it, once it is back" });
