/**
 * The whole locked platform for one test file: a cluster of one process agent with the
 * services and jobs frameworks on it, each door as `agora up` locks it.
 */
import { startCluster, type TestCluster } from './cluster';
import { startTestJobs, type TestJobs } from './jobs';
import { startTestServices, type TestServices } from './services';

export interface TestPlatform {
  cluster: TestCluster;
  services: TestServices;
  jobs: TestJobs;
  stop(): Promise<void>;
}

export async function startPlatform(): Promise<TestPlatform> {
  const cluster = await startCluster({ containerizer: 'process', agents: 1 });
  const services = await startTestServices(cluster);
  const jobs = await startTestJobs(cluster);
  return {
    cluster, services, jobs,
    stop: async () => {
      await jobs.stop();
      await services.stop();
      await cluster.stop();
    },
  };
}
