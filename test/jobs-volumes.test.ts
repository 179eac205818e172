/**
 * A job's host volumes against a real master, Docker agent and Redis: a Metronome job with
 * `run.docker.image` and a volume mounting a host directory writes a file there, which the
 * host sees; the same directory mounted RO cannot be written; and a host path the jobs
 * framework has no host_volumes grant for fails the run, saying so, rather than running it
 * without the volume. The ACLs are `agora up`'s, plus that one grant.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { localAcls } from '../common/security/bootstrap';
import type { RunRecord } from '../frameworks/jobs/history';
import { startCluster, TEST_IMAGE, type TestCluster } from './support/cluster';
import { startTestJobs, type TestJobs } from './support/jobs';
import { TEST_FRAMEWORK_ROLES } from './support/security';

let cluster: TestCluster;
let t: TestJobs;
/** Granted to the jobs framework's principal; `ungranted` is not. */
let granted: string;
let ungranted: string;

beforeAll(async () => {
  granted = mkdtempSync(join(tmpdir(), 'agora-jobvol-'));
  ungranted = mkdtempSync(join(tmpdir(), 'agora-jobvol-no-'));
  // Docker tasks run as 65534 (common/security/defaults.ts), the test as whoever it is.
  for (const dir of [granted, ungranted]) chmodSync(dir, 0o777);
  const acls = localAcls(TEST_FRAMEWORK_ROLES);
  acls.host_volumes = [...(acls.host_volumes ?? []), { principals: { values: ['jobs'] }, paths: { values: [granted] } }];
  cluster = await startCluster({ containerizer: 'docker', agents: 1, resources: 'cpus:4;mem:2048;disk:4096;ports:[31000-31099]', acls });
  t = await startTestJobs(cluster);
});

afterAll(async () => {
  await t?.stop();
  await cluster?.stop();
  for (const dir of [granted, ungranted]) if (dir) rmSync(dir, { recursive: true, force: true });
});

const ended = (r: RunRecord) => r.state === 'SUCCESS' || r.state === 'FAILED';

/** Creates the job through the Metronome API, runs it now, and gives its ended run. */
async function runOnce(id: string, cmd: string, volumes: { containerPath: string; hostPath: string; mode: 'RW' | 'RO' }[]): Promise<RunRecord> {
  const created = await t.api.call<{ run: { volumes?: unknown } }>('POST', '/v1/jobs', { id, run: { cmd, cpus: 0.1, mem: 32, docker: { image: TEST_IMAGE }, volumes } });
  expect(created.status).toBe(201);
  expect(created.body.run.volumes).toEqual(volumes);
  const started = await t.api.call<{ id: string }>('POST', `/v1/jobs/${id}/runs`);
  expect(started.status).toBe(201);
  return t.events.run(id, (r) => r.runId === started.body.id && ended(r));
}

it('a job with a Docker image and an RW host volume writes a file into the host directory; both APIs show the volume', async () => {
  const volumes = [{ containerPath: '/out', hostPath: granted, mode: 'RW' as const }];
  const run = await runOnce('vol.write', 'echo "written by run $AGORA_RUN_ID" > /out/hello.txt', volumes);
  expect(run).toMatchObject({ state: 'SUCCESS', attempts: [expect.objectContaining({ state: 'TASK_FINISHED', exitCode: 0 })] });
  expect(readFileSync(join(granted, 'hello.txt'), 'utf8')).toBe(`written by run ${run.runId}\n`);
  // Stored and given back: Metronome's run.volumes, Chronos's container.volumes.
  expect((await t.api.call<{ run: { volumes: unknown } }>('GET', '/v1/jobs/vol.write')).body.run.volumes).toEqual(volumes);
  expect((await t.api.call<{ container: unknown }>('GET', '/v1/scheduler/job/vol.write')).body.container)
    .toEqual({ type: 'DOCKER', image: TEST_IMAGE, forcePullImage: false, volumes });
});

it('the same directory mounted RO is read but cannot be written: the run fails and the host directory gets no file', async () => {
  writeFileSync(join(granted, 'seed.txt'), 'from the host\n');
  // Exit 3: the volume is not there; 1: touch failed on it; 0: it was writable.
  const run = await runOnce('vol.readonly', 'grep -q "from the host" /out/seed.txt || exit 3; touch /out/read-only.txt', [{ containerPath: '/out', hostPath: granted, mode: 'RO' }]);
  expect(run.state).toBe('FAILED');
  expect(run.attempts).toEqual([expect.objectContaining({ state: 'TASK_FAILED', exitCode: 1 })]);
  expect(existsSync(join(granted, 'read-only.txt'))).toBe(false);
});

it('a host path the jobs framework has no grant for fails the run, naming the path, and never runs without the volume', async () => {
  const run = await runOnce('vol.ungranted', 'touch /out/ungranted.txt', [{ containerPath: '/out', hostPath: ungranted, mode: 'RW' }]);
  expect(run.state).toBe('FAILED');
  expect(run.attempts).toEqual([expect.objectContaining({ state: 'TASK_ERROR', message: expect.stringMatching(new RegExp(`principal 'jobs' may not host_volumes .*${ungranted}`)) })]);
  expect(existsSync(join(ungranted, 'ungranted.txt'))).toBe(false);
});

it('a job with volumes but no Docker image is refused with 422 at run.volumes, and nothing is stored', async () => {
  const refused = await t.api.call('POST', '/v1/jobs', { id: 'vol.noimage', run: { cmd: 'true', volumes: [{ containerPath: '/out', hostPath: granted, mode: 'RW' }] } });
  expect(refused.status).toBe(422);
  expect(refused.body).toEqual({ message: 'Object is not valid', details: [{ path: '/run/volumes', errors: [expect.stringMatching(/^volumes need a Docker image \(run\.docker\.image\)/)] }] });
  expect((await t.api.call('GET', '/v1/jobs/vol.noimage')).status).toBe(404);
});
