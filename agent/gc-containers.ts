/**
 * The container half of a GC sweep: exited Docker containers labelled with this agent's id
 * that no run of the agent claims. The agent removes a run's container as soon as it exits,
 * so these are what that missed: a removal the engine refused or that failed midway (logged
 * and left behind), or a container of this agent's id whose run was forgotten (its
 * checkpoint lost or unreadable after a crash). Running containers are never touched here:
 * recovery deals with those, once, at start-up.
 */
import type { Logger } from '../common/log';
import type { DockerEngine } from './containerizer/docker-client';
import { LABELS } from './containerizer/docker-create';

/**
 * Removes them; resolves with their container ids (the Docker id for one without the label).
 * Last in the engine's line: nothing waits for a sweep.
 */
export async function removeExitedContainers(docker: DockerEngine, agentId: string, claimed: ReadonlySet<string>, log: Logger): Promise<string[]> {
  if (!agentId) return [];
  const exited = await docker.list({ label: [`${LABELS.agentId}=${agentId}`], status: ['exited', 'dead'] }, 'background');
  const removed: string[] = [];
  for (const c of exited) {
    const containerId = c.Labels[LABELS.containerId] ?? '';
    if (claimed.has(containerId)) continue;
    try {
      await docker.remove(c.Id, 'background');
      removed.push(containerId || c.Id);
    } catch (err) {
      // 404: gone meanwhile; 409: a removal is already under way. Either way it is going.
      const code = (err as { statusCode?: number }).statusCode;
      if (code !== 404 && code !== 409) log.warn('cannot remove an exited container', { dockerId: c.Id, containerId, err });
    }
  }
  return removed;
}
