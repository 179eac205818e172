/** Waiting on an agent's word about its container engine (its `engine` event), not on time. */
import type { EngineHealth } from '../../agent/engine-watchdog';
import type { TestCluster } from './cluster';

/** The agent's next word about its engine: wedged, or healthy again. */
export function nextEngineHealth(agent: TestCluster['agents'][number]): Promise<EngineHealth> {
  return new Promise((resolve) => {
    const heard = (health: EngineHealth): void => { agent.off('engine', heard); resolve(health); };
    agent.on('engine', heard);
  });
}
