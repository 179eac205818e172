/**
 * The Docker Engine itself, apart from any one container: whether it answers, getting an
 * image onto it within a bounded time, and the engine's own words for what went wrong.
 */
import type Docker from 'dockerode';
import type { Logger } from '../../common/log';
import { LaunchError } from './containerizer';

/** How long an image pull may take unless told otherwise: big images over slow links. */
export const DEFAULT_PULL_TIMEOUT_MS = 300_000;

/** Whether a Docker Engine answers on `socketPath` within `timeoutMs`. */
export async function dockerAvailable(docker: Docker, timeoutMs = 2_000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), timeoutMs); });
  try {
    return await Promise.race([docker.ping().then(() => true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Makes sure the engine has `image`: pulled when it is missing, or always with
 * `forcePull` (then a failed pull of an image the engine has is only a warning).
 */
export async function ensureImage(docker: Docker, image: string, forcePull: boolean, timeoutMs: number, log: Logger): Promise<void> {
  const present = await docker.getImage(image).inspect().then(() => true, (err: unknown) => {
    if ((err as { statusCode?: number }).statusCode === 404) return false;
    throw new LaunchError(`docker could not look up image '${image}': ${dockerMessage(err)}`, { cause: err });
  });
  if (present && !forcePull) return;
  try {
    log.info('pulling image', { image, forcePull, timeoutMs });
    await pull(docker, image, timeoutMs);
  } catch (err) {
    if (present) {
      log.warn('cannot pull image; using the one the engine has', { image, err: (err as Error).message });
      return;
    }
    throw new LaunchError(`image '${image}' is not on this agent and could not be pulled: ${dockerMessage(err)}`, { cause: err });
  }
}

/**
 * Pulls `image`, following the engine's progress stream to its end: the engine reports a
 * failed pull inside the stream, not by the HTTP status. Abandoned after `timeoutMs`;
 * closing the request makes the engine cancel the pull.
 */
function pull(docker: Docker, image: string, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let stream: NodeJS.ReadableStream | undefined;
    let settled = false;
    const done = (err?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err instanceof Error ? err : new Error(String(err)));
      else resolve();
    };
    const timer = setTimeout(() => {
      (stream as { destroy?(): void } | undefined)?.destroy?.();
      done(new Error(`the pull did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    docker.pull(image, {}, (err: unknown, s?: NodeJS.ReadableStream) => {
      if (err || !s) return done(err ?? new Error('the engine answered without a progress stream'));
      stream = s;
      if (settled) return (s as { destroy?(): void }).destroy?.();
      docker.modem.followProgress(s, (e: unknown) => done(e ?? undefined));
    });
  });
}

/** The engine's message for a failed call (in its JSON body), else the error's own. */
export function dockerMessage(err: unknown): string {
  const e = err as { json?: { message?: string }; message?: string };
  return e.json?.message ?? e.message ?? String(err);
}
