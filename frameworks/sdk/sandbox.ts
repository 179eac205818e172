/**
 * A framework's own tasks' sandbox files (stdout, stderr, anything a task wrote there), read
 * through the master's relay (`GET /api/v1/files/read`, master/api/http-files.ts) with the
 * framework's credentials: the one route to a task's output, the one the CLI and the master's
 * UI take too. The master lets a framework's principal read its own tasks' files only, so a
 * framework needs no right over agents and never reaches them itself.
 */
import { getJson, MasterRequestError, type MasterAddress } from '../../common/operator-client';
import { InvalidArgumentError, SandboxReadError } from './errors';

/** The most one read returns (the agent's cut, agent/api/http.ts MAX_READ_BYTES): page through bigger files. */
export const MAX_SANDBOX_READ_BYTES = 1024 * 1024;

/** Which bytes of a sandbox file to read, and where the task ran. */
export interface SandboxRange {
  /** The first byte (default 0). */
  offset?: number;
  /** How many bytes at most (default and most: MAX_SANDBOX_READ_BYTES); fewer come back at the end of the file. */
  length?: number;
  /**
   * The agent the task ran on (its TaskStatus's `agentId`), for a task the master may no
   * longer hold: it keeps only the latest completed tasks, and none from before a failover.
   */
  agentId?: string;
}

/** What a read returns: the bytes from `offset` on, as text. */
export interface SandboxChunk {
  data: string;
  offset: number;
}

/** The master to ask (with the framework's identity) and the framework whose task it is. */
export interface SandboxTarget {
  master: MasterAddress;
  frameworkId: string;
}

export async function readSandbox(t: SandboxTarget, taskId: string, file: string, range: SandboxRange = {}): Promise<SandboxChunk> {
  const offset = range.offset ?? 0;
  const length = range.length ?? MAX_SANDBOX_READ_BYTES;
  if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidArgumentError('offset', `must be a whole number of bytes ≥ 0, got ${String(offset)}`);
  if (!Number.isSafeInteger(length) || length < 0) throw new InvalidArgumentError('length', `must be a whole number of bytes ≥ 0, got ${String(length)}`);
  const chunk = await ask<SandboxChunk>(t, taskId, file, range.agentId, { offset: String(offset), length: String(length) });
  return { data: chunk.data, offset: chunk.offset };
}

export async function sandboxSize(t: SandboxTarget, taskId: string, file: string, agentId?: string): Promise<number> {
  // offset -1 asks the agent for the size (as `offset`) and no data.
  return (await ask<SandboxChunk>(t, taskId, file, agentId, { offset: '-1' })).offset;
}

async function ask<T>(t: SandboxTarget, taskId: string, file: string, agentId: string | undefined, more: Record<string, string>): Promise<T> {
  if (typeof taskId !== 'string' || !taskId) throw new InvalidArgumentError('taskId', 'a task id is required');
  if (typeof file !== 'string' || !file) throw new InvalidArgumentError('file', "a file of the sandbox is required, such as 'stdout'");
  const query = new URLSearchParams({ framework_id: t.frameworkId, task_id: taskId, file, ...(agentId ? { agent_id: agentId } : {}), ...more });
  try {
    return await getJson<T>(t.master, `/api/v1/files/read?${query}`);
  } catch (err) {
    if (!(err instanceof MasterRequestError)) throw err;
    const why = err.status ? `the master answered ${err.status}: ${err.reason}` : err.message;
    throw new SandboxReadError(taskId, file, err.status, why, { cause: err });
  }
}

/** The host of a gRPC address (`host:port`, `[::1]:port`, `dns:///host:port`), as a URL writes it. */
export function hostOf(target: string): string {
  const hostPort = target.startsWith('dns:///') ? target.slice('dns:///'.length) : target;
  if (hostPort.startsWith('[')) return hostPort.slice(0, hostPort.indexOf(']') + 1);
  const colon = hostPort.lastIndexOf(':');
  return colon < 0 ? hostPort : hostPort.slice(0, colon);
}
