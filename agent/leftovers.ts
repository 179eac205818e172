/**
 * Killing what an earlier agent left in a work directory without starting an agent: for
 * `agora up --fresh`, which wipes the directory afterwards, so nothing may be left running
 * that no checkpoint would name any more. It is `--recover=cleanup` (recovery.ts) on its own:
 * every checkpointed run found (Docker container or process group) is killed and removed,
 * and so is every Docker container labelled with the earlier agent's id.
 */
import { join } from 'path';
import type { Logger } from '../common/log';
import { metaDir } from './checkpoint';
import { agentConfig } from './config';
import { AgentContainerizers } from './containerizers';
import { recoverAgent } from './recovery';
import { RunStore } from './runs';

export interface LeftoverOptions {
  workDir: string;
  dockerSocket?: string;
  log: Logger;
}

/** Kills and removes every run the agent that last used `workDir` left; its checkpoints go too. */
export async function killLeftoverRuns(o: LeftoverOptions): Promise<void> {
  // Resources are not needed here; given, so nothing is detected for nothing.
  const config = agentConfig({ workDir: o.workDir, resources: 'cpus:1;mem:1;disk:1;ports:[1-1]', ...(o.dockerSocket ? { dockerSocket: o.dockerSocket } : {}) });
  let agentId = '';
  const containers = new AgentContainerizers(config, () => agentId, o.log);
  await containers.startDocker();
  await recoverAgent({
    mode: 'cleanup',
    identityFile: join(metaDir(config.workDir), 'agent.json'),
    checkpointFile: join(metaDir(config.workDir), 'status-updates.json'),
    runs: new RunStore(config.workDir),
    restoreUpdates: () => undefined,
    recoverRun: () => Promise.resolve(),
    containerizerOf: (kind) => containers.of(kind),
    removeOrphans: (known) => containers.removeOrphans(known),
    setAgentId: (id) => { agentId = id; },
    log: o.log,
  });
}
