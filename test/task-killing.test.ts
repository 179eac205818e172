/**
 * TASK_KILLING, for frameworks that ask for it (capability TASK_KILLING_STATE): a kill of a
 * running task is reported at once, before the grace period runs out; frameworks that did
 * not ask never see the state.
 */
import type { Capability } from '../common/types';
import { subscribe, task } from '../frameworks/sdk';
import { startCluster, type TestCluster } from './support/cluster';
import { EventLog } from './support/events';

describe('TASK_KILLING', () => {
  let cluster: TestCluster;

  beforeAll(async () => { cluster = await startCluster({ containerizer: 'process' }); });
  afterAll(async () => { await cluster.stop(); });

  async function killOne(name: string, capabilities: Capability[]) {
    const s = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name, capabilities } });
    const log = new EventLog(s);
    const offer = await log.offer();
    // the command ignores SIGTERM, so only the grace period's SIGKILL ends it
    await s.launch(offer, [task({ id: name, command: 'trap "" TERM; sleep 600', cpus: 0.1, mem: 32, process: true, killGracePeriodMs: 300 }, offer)], { refuseMs: 0 });
    await log.status(name, 'TASK_RUNNING');
    await s.kill(name);
    await log.status(name, 'TASK_KILLED');
    await s.teardown();
    s.close();
    return log.states(name);
  }

  it('reports TASK_KILLING between RUNNING and KILLED to a framework with TASK_KILLING_STATE', async () => {
    expect(await killOne('knows-killing', ['TASK_KILLING_STATE'])).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLING', 'TASK_KILLED']);
  });

  it('never reports TASK_KILLING to a framework without it', async () => {
    expect(await killOne('plain', [])).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLED']);
  });
});
