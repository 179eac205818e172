/**
 * Secret environment variables (Mesos's SECRET type): a task gets them in its environment;
 * the master's and agent's logs (at debug), the state, the offer log and the agent's own view
 * never hold them, and a bad one is refused without being quoted.
 */
import { createHash } from 'crypto';
import { readdirSync, readFileSync, statSync } from 'fs';
import { join } from 'path';
import { subscribe, task, type Scheduler } from '../frameworks/sdk';
import { agentState, readSandbox, startCluster, type TestCluster } from './support/cluster';
import { EventLog } from './support/events';
import { authedFetch, base } from './support/http';

const SECRET = `s3cret-${createHash('sha256').update(String(Math.random())).digest('hex').slice(0, 24)}`;
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

let cluster: TestCluster;
let s: Scheduler;
let log: EventLog;
let said = '';
let restore: () => void;

beforeAll(async () => {
  // Everything the master and agent say, at the most talkative level.
  process.env.AGORA_LOG = 'debug';
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    said += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write;
  restore = () => { process.stderr.write = write; delete process.env.AGORA_LOG; };
  cluster = await startCluster({ containerizer: 'process' });
  s = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'secrets' } });
  log = new EventLog(s);
});
afterAll(async () => {
  s?.close();
  await cluster?.stop();
  restore?.();
});

describe('a secret environment variable', () => {
  it('reaches the task, and nothing the master or the agent shows, logs or answers holds it', async () => {
    const offer = await log.offer();
    await s.launch(offer, [
      task({ id: 'uses-secret', command: 'printf %s "$DB_PASSWORD" | sha256sum | cut -d" " -f1', cpus: 0.1, mem: 16, process: true, secrets: { DB_PASSWORD: SECRET } }, offer),
      task({ id: 'fails-with-secret', command: 'exit 3', cpus: 0.1, mem: 16, process: true, secrets: { TOKEN: SECRET } }, offer),
    ]);
    await log.status('uses-secret', 'TASK_FINISHED');
    await log.status('fails-with-secret', 'TASK_FAILED');
    expect((await readSandbox(cluster, s.frameworkId, 'uses-secret', 'stdout')).trim()).toBe(sha(SECRET));

    const answers = await Promise.all(['/api/v1/state', '/api/v1/offers', '/state', '/metrics'].map(async (path) => {
      const res = await authedFetch(`${base(cluster.masterAddr)}${path}`);
      return `${path} ${res.status} ${await res.text()}`;
    }));
    answers.push(JSON.stringify(await agentState(cluster.agents[0]!)));
    for (const text of answers) expect(text).not.toContain(SECRET);
    expect(answers[0]).toMatch(/uses-secret/);
    expect(said).toMatch(/framework subscribed/);   // the logs were heard…
    expect(said).not.toContain(SECRET);              // …and never held the secret
  });

  it("is kept on the agent's disk, while its task runs, only in the run's checkpoint, readable by the agent alone (0600)", async () => {
    const offer = await log.offer();
    await s.launch(offer, [task({ id: 'holds-secret', command: 'sleep 600', cpus: 0.1, mem: 16, process: true, secrets: { API_KEY: SECRET } }, offer)]);
    const running = await log.status('holds-secret', 'TASK_RUNNING');
    const runsDir = join(cluster.agents[0]!.config.workDir, 'meta', 'runs');
    const holding = readdirSync(runsDir).map((id) => join(runsDir, id, 'run.json')).filter((f) => readFileSync(f, 'utf8').includes(SECRET));
    expect(holding).toEqual([join(runsDir, running.containerId, 'run.json')]);
    expect(statSync(holding[0]!).mode & 0o777).toBe(0o600);
    await s.kill('holds-secret');
    await log.status('holds-secret', 'TASK_KILLED');
  });

  it('named as no environment variable can be, or set twice, is TASK_ERROR with a message that does not quote its value', async () => {
    const offer = await log.offer();
    await s.launch(offer, [
      task({ id: 'bad-name', command: 'true', cpus: 0.1, mem: 16, process: true, secrets: { 'NOT-A-NAME': SECRET } }, offer),
      task({ id: 'twice', command: 'true', cpus: 0.1, mem: 16, process: true, env: { KEY: 'plain' }, secrets: { KEY: SECRET } }, offer),
    ]);
    const bad = await log.status('bad-name', 'TASK_ERROR');
    const twice = await log.status('twice', 'TASK_ERROR');
    expect(bad.message).toMatch(/secret named 'NOT-A-NAME'/);
    expect(twice.message).toMatch(/sets KEY both in command.environment and as a secret/);
    expect(`${bad.message} ${twice.message} ${said}`).not.toContain(SECRET);
  });
});
