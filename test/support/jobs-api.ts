/**
 * For the jobs API test files: a cluster of one process agent and a jobs framework on its own
 * Redis, started before the file's tests and stopped after; and everything the framework keeps
 * in Redis, read back, so a test can show that a refused request changed nothing at all.
 */
import { Redis } from 'ioredis';
import { DEFAULT_JOBS_PREFIX } from '../../frameworks/jobs/store';
import { startCluster, type TestCluster } from './cluster';
import { startTestJobs, type TestJobs } from './jobs';

export function withJobsOnOneAgent(ready: (cluster: TestCluster, t: TestJobs) => void): void {
  let cluster: TestCluster | undefined;
  let t: TestJobs | undefined;
  beforeAll(async () => {
    const c = await startCluster({ containerizer: 'process', agents: 1 });
    cluster = c;
    t = await startTestJobs(c);
    ready(c, t);
  });
  afterAll(async () => {
    await t?.stop();
    await cluster?.stop();
  });
}

/** Every key the jobs framework stored, with its value (hashes as sorted objects), sorted by key. */
export async function storedState(t: TestJobs): Promise<Record<string, unknown>> {
  const redis = new Redis(t.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const keys = (await redis.keys(`${DEFAULT_JOBS_PREFIX}*`)).sort();
    const out: Record<string, unknown> = {};
    for (const key of keys) {
      const type = await redis.type(key);
      if (type === 'hash') {
        const h = await redis.hgetall(key);
        out[key] = Object.fromEntries(Object.entries(h).sort(([a], [b]) => a.localeCompare(b)));
      } else {
        out[key] = type === 'string' ? await redis.get(key) : `(${type})`;
      }
    }
    return out;
  } finally {
    redis.disconnect();
  }
}
