/**
 * The Docker Engine itself, apart from any one container: getting an image onto it within a
 * bounded time. (Whether it answers, and its words for what went wrong: docker-client.ts.)
 */
import type { Logger } from '../../common/log';
import { LaunchError } from './containerizer';
import { dockerMessage, type DockerEngine } from './docker-client';

/** How long an image pull may take unless told otherwise: big images over slow links. */
export const DEFAULT_PULL_TIMEOUT_MS = 300_000;

/**
 * Makes sure the engine has `image`: pulled when it is missing, or always with
 * `forcePull` (then a failed pull of an image the engine has is only a warning).
 */
export async function ensureImage(docker: DockerEngine, image: string, forcePull: boolean, timeoutMs: number, log: Logger): Promise<void> {
  const present = await docker.imagePresent(image).catch((err: unknown) => {
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
function pull(docker: DockerEngine, image: string, timeoutMs: number): Promise<void> {
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
    docker.pull(image).then((s) => {
      stream = s;
      if (settled) return (s as { destroy?(): void }).destroy?.();
      docker.followProgress(s, (e: unknown) => done(e ?? undefined));
    }, done);
  });
}
