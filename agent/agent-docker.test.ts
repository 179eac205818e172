/**
 * The agent with the Docker containerizer: real dockerd, real `agora/busybox:latest`
 * containers, a real NATS server; the test plays the master.
 */
import Docker from 'dockerode';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { get } from 'http';
import { tmpdir } from 'os';
import { join } from 'path';
import { freePort } from '../common/nats-server';
import { parse } from '../common/resources';
import { startAgent, type AgentHandle } from './agent';
import { LABELS } from './containerizer/docker';
import { startAgentRig, testTask, type AgentRig, type TestMaster } from './test-master';

const docker = new Docker({ socketPath: '/var/run/docker.sock' });
let rig: AgentRig;
let master: TestMaster;
let agent: AgentHandle;
let agentId: string;
let workDir: string;

beforeAll(async () => {
  rig = await startAgentRig({ containerizer: 'docker', resources: 'cpus:2;mem:1024;disk:1000' });
  ({ master, agent, agentId, workDir } = rig);
});

afterAll(async () => { await rig?.stop(); });

function containersOf(taskId: string, id = agentId): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`${LABELS.agentId}=${id}`, `${LABELS.taskId}=${taskId}`] } });
}

function sandboxOf(taskId: string, containerId: string): string {
  return join(workDir, 'agents', agentId, 'frameworks', 'fw-1', 'tasks', taskId, 'runs', containerId);
}

/** GET on 127.0.0.1, retried while the server in the container is still coming up. */
async function fetchText(port: number, attempts = 100): Promise<string> {
  for (let i = 0; ; i++) {
    try {
      return await new Promise<string>((resolve, reject) => {
        get({ host: '127.0.0.1', port, path: '/index.html', timeout: 1000 }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => { body += d.toString(); });
          res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}`))));
        }).on('error', reject).on('timeout', function (this: { destroy(): void }) { this.destroy(); });
      });
    } catch (err) {
      if (i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Waits until a sandbox file holds `text`; the container writes it, so this polls briefly. */
async function untilFileHas(path: string, text: string): Promise<void> {
  for (let i = 0; i < 250; i++) {
    if (readFileSync(path, 'utf8') === text) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${path} never held ${JSON.stringify(text)}`);
}

describe('agent with the Docker containerizer', () => {
  it('chooses Docker for tasks that do not say, with process as the fallback kind', () => {
    expect(agent.containerizers).toEqual(['docker', 'process']);
  });

  it('runs a task STARTING → RUNNING → FINISHED with its stdout in the sandbox, then removes the container', async () => {
    master.run(agentId, testTask('d-ok', 'echo "hello $AGORA_TASK_ID $GREETING"; echo warn >&2', {
      command: { value: 'echo "hello $AGORA_TASK_ID $GREETING"; echo warn >&2', argv: [], environment: { GREETING: 'docker' }, user: '' },
    }));
    const done = await master.waitForState('d-ok', 'TASK_FINISHED');
    expect(master.of('d-ok').map((s) => s.state)).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']);
    expect(done).toMatchObject({ exitCode: 0, source: 'SOURCE_EXECUTOR', agentId, frameworkId: 'fw-1' });
    expect(readFileSync(join(sandboxOf('d-ok', done.containerId), 'stdout'), 'utf8')).toBe('hello d-ok docker\n');
    expect(readFileSync(join(sandboxOf('d-ok', done.containerId), 'stderr'), 'utf8')).toBe('warn\n');
    expect(await containersOf('d-ok')).toEqual([]);
  });

  it('reports exit code 3 as TASK_FAILED naming code 3', async () => {
    master.run(agentId, testTask('d-exit3', 'echo failing; exit 3'));
    const failed = await master.waitForState('d-exit3', 'TASK_FAILED');
    expect(failed.message).toBe('command exited with code 3');
    expect(failed.exitCode).toBe(3);
    expect(await containersOf('d-exit3')).toEqual([]);
  });

  it('sets the cpu and memory limits, the labels and a recognizable name on the container', async () => {
    master.run(agentId, testTask('d-limits', 'sleep 300', { resources: parse('cpus:0.5;mem:64') }));
    const running = await master.waitForState('d-limits', 'TASK_RUNNING');
    const [c] = await containersOf('d-limits');
    expect(c).toBeDefined();
    const info = await docker.getContainer(c!.Id).inspect();
    expect(info.HostConfig.NanoCpus).toBe(500_000_000);
    expect(info.HostConfig.Memory).toBe(64 * 1024 * 1024);
    expect(info.Config.Labels).toMatchObject({
      [LABELS.agentId]: agentId, [LABELS.frameworkId]: 'fw-1', [LABELS.taskId]: 'd-limits', [LABELS.containerId]: running.containerId,
    });
    expect(info.Name).toBe(`/agora-d-limits-${running.containerId}`);
    expect(info.Config.Image).toBe('agora/busybox:latest');
    master.kill(agentId, 'd-limits', 0);
    await master.waitForState('d-limits', 'TASK_KILLED');
  });

  it('a task over its memory limit is TASK_FAILED with REASON_CONTAINER_LIMITATION_MEMORY', async () => {
    master.run(agentId, testTask('d-oom', 'head -c 100m /dev/zero | tail > /dev/null', { resources: parse('cpus:0.5;mem:16') }));
    const failed = await master.waitForState('d-oom', 'TASK_FAILED');
    expect(failed.reason).toBe('REASON_CONTAINER_LIMITATION_MEMORY');
    expect(failed.message).toMatch(/memory limit/);
  });

  it('kills a task on request: TASK_KILLED, and by then the container is gone', async () => {
    master.run(agentId, testTask('d-kill', 'echo up; sleep 300'));
    const running = await master.waitForState('d-kill', 'TASK_RUNNING');
    // A SIGTERM in the first instants after start can reach the init before it handles
    // signals, and then only the SIGKILL after the grace period ends the container. Kill
    // once the command runs, to see SIGTERM itself work.
    await untilFileHas(join(sandboxOf('d-kill', running.containerId), 'stdout'), 'up\n');
    expect(await containersOf('d-kill')).toHaveLength(1);
    const t0 = Date.now();
    master.kill(agentId, 'd-kill', 3000);
    const killed = await master.waitForState('d-kill', 'TASK_KILLED');
    // SIGTERM reaches `sleep` through the init process: no waiting out the grace period.
    expect(Date.now() - t0).toBeLessThan(2500);
    expect(killed.source).toBe('SOURCE_AGENT');
    expect(await containersOf('d-kill')).toEqual([]);
  });

  it('a missing image is TASK_FAILED with REASON_CONTAINER_LAUNCH_FAILED naming the image', async () => {
    master.run(agentId, testTask('d-noimage', 'true', {
      container: { type: 'DOCKER', docker: { image: 'agora/no-such-image:1', portMappings: [], forcePullImage: false } },
    }));
    const failed = await master.waitForState('d-noimage', 'TASK_FAILED');
    expect(failed.reason).toBe('REASON_CONTAINER_LAUNCH_FAILED');
    expect(failed.message).toMatch(/agora\/no-such-image:1/);
    expect(await containersOf('d-noimage')).toEqual([]);
  });

  it('an exec-form command that does not exist is a launch failure', async () => {
    master.run(agentId, testTask('d-nobin', '', { command: { value: '', argv: ['/no/such/binary'], environment: {}, user: '' } }));
    const failed = await master.waitForState('d-nobin', 'TASK_FAILED');
    expect(failed.reason).toBe('REASON_CONTAINER_LAUNCH_FAILED');
    expect(failed.message).toMatch(/no\/such\/binary/);
    expect(await containersOf('d-nobin')).toEqual([]);
  });

  it('publishes a mapped port on the host (bridge network)', async () => {
    const hostPort = await freePort();
    master.run(agentId, testTask('d-port', 'echo served > /tmp/index.html && exec httpd -f -p 8080 -h /tmp', {
      resources: parse(`cpus:0.1;mem:32;ports:[${hostPort}-${hostPort}]`),
      container: { type: 'DOCKER', docker: { image: '', network: 'BRIDGE', portMappings: [{ hostPort, containerPort: 8080, protocol: 'tcp' }], forcePullImage: false } },
    }));
    await master.waitForState('d-port', 'TASK_RUNNING');
    const [c] = await containersOf('d-port');
    const info = await docker.getContainer(c!.Id).inspect();
    expect(info.HostConfig.NetworkMode).toBe('bridge');
    expect(info.HostConfig.PortBindings).toEqual({ '8080/tcp': [{ HostIp: '', HostPort: String(hostPort) }] });
    expect(await fetchText(hostPort)).toBe('served\n');
    master.kill(agentId, 'd-port', 0);
    await master.waitForState('d-port', 'TASK_KILLED');
  });

  it('runs a PROCESS task beside Docker ones on the same agent', async () => {
    master.run(agentId, testTask('d-proc', 'echo $$', { container: { type: 'PROCESS' } }));
    const done = await master.waitForState('d-proc', 'TASK_FINISHED');
    expect(Number(readFileSync(join(sandboxOf('d-proc', done.containerId), 'stdout'), 'utf8'))).toBeGreaterThan(0);
    expect(await containersOf('d-proc')).toEqual([]);
  });
});

describe('stopping a Docker agent', () => {
  it('leaves none of its containers behind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agora-agent-dstop-'));
    const a = await startAgent({ natsUrl: rig.nats.url, workDir: dir, containerizer: 'docker', httpHost: '127.0.0.1', httpPort: 0, resources: 'cpus:1;mem:256;disk:100', killGracePeriodMs: 1000 });
    const id = await a.registered;
    master.run(id, testTask('d-stop-1', 'sleep 300'));
    master.run(id, testTask('d-stop-2', 'trap "" TERM; sleep 300'));
    await master.waitForState('d-stop-1', 'TASK_RUNNING');
    await master.waitForState('d-stop-2', 'TASK_RUNNING');
    expect(await docker.listContainers({ all: true, filters: { label: [`${LABELS.agentId}=${id}`] } })).toHaveLength(2);
    await a.stop();
    expect(await docker.listContainers({ all: true, filters: { label: [`${LABELS.agentId}=${id}`] } })).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  });
});
