/**
 * The container half of a GC sweep: exited Docker containers labelled with this agent's id
 * that no run of the agent claims. The agent removes a run's container as soon as it exits,
 * so these are what that missed: a removal the engine refused or that failed midway (logged
 * and left behind), or a container of this agent's id whose run was forgotten (its
 * checkpoint lost or unreadable after a crash). Running containers are never touched here:
 * recovery deals with those, once, at start-up.
 */
import type Docker from 'dockerode';
import type { Logger } from '../common/log';
import { LABELS } from './containerizer/docker-create';

/** Removes them; resolves with their container ids (the Docker id for one without the label). */
export async function removeExitedContainers(docker: Docker, agentId: string, claimed: ReadonlySet<string>, log: Logger): Promise<string[]> {
  if (!agentId) return [];
  const exited = await docker.listContainers({ all: true, filters: { label: [`${LABELS.agentId}=${agentId}`], status: ['exited', 'dead'] } });
  const removed: string[] = [];
  for (const c of exited) {
    const containerId = c.Labels[LABELS.containerId] ?? '';
    if (claimed.has(containerId)) continue;
    try {
      await docker.getContainer(c.Id).remove({ force: true, v: true });
      removed.push(containerId || c.Id);
    } catch (err) {
      // 404: gone meanwhile; 409: a removal is already under way. Either way it is going.
      const code = (err as { statusCode?: number }).statusCode;
      if (code !== 404 && code !== 409) log.warn('cannot remove an exited container', { dockerId: c.Id, containerId, err });
    }
  }
  return removed;
}
