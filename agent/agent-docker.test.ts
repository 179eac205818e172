/**
 * The agent with the Docker containerizer: real dockerd, real `agora/busybox:latest`
 * containers, a real NATS server; the test plays the master.
 */
import Docker from 'dockerode';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { get } from 'http';
import { tmpdir } from 'os';
import { join } from 'path';
import { freePort } from '../common/nats-server';
import { parse } from '../common/resources';
import type { TaskInfo } from '../common/types';
import { startAgent, type AgentHandle } from './agent';
import { LABELS } from './containerizer/docker-create';
import { startAgentRig, testTask, type AgentRig, type TestMaster } from '../test/support/test-master';

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
    master.kill(agentId, 'd-kill', 3000);
    const killed = await master.waitForState('d-kill', 'TASK_KILLED');
    // SIGTERM reached `sleep` through the init process (128 + 15), rather than the SIGKILL
    // at the end of the grace period (128 + 9).
    expect(killed.exitCode).toBe(143);
    expect(killed.source).toBe('SOURCE_AGENT');
    expect(await containersOf('d-kill')).toEqual([]);
  });

  it('honours the kill grace period: a task that traps SIGTERM finishes its clean-up, one that ignores it is SIGKILLed after it', async () => {
    // On SIGTERM: say so, take a moment, write that the clean-up is done, exit 0.
    master.run(agentId, testTask('d-grace', 'trap \'echo term; sleep 1; echo cleaned; exit 0\' TERM; echo up; while :; do sleep 0.1; done'));
    const running = await master.waitForState('d-grace', 'TASK_RUNNING');
    const stdout = join(sandboxOf('d-grace', running.containerId), 'stdout');
    await untilFileHas(stdout, 'up\n');
    master.kill(agentId, 'd-grace', 10_000);
    const killed = await master.waitForState('d-grace', 'TASK_KILLED');
    expect(readFileSync(stdout, 'utf8')).toBe('up\nterm\ncleaned\n');
    expect(killed.exitCode).toBe(0);

    master.run(agentId, testTask('d-deaf', 'trap "" TERM; echo up; while :; do sleep 0.1; done'));
    const deaf = await master.waitForState('d-deaf', 'TASK_RUNNING');
    await untilFileHas(join(sandboxOf('d-deaf', deaf.containerId), 'stdout'), 'up\n');
    master.kill(agentId, 'd-deaf', 1000);
    const ended = await master.waitForState('d-deaf', 'TASK_KILLED');
    expect(ended.exitCode).toBe(137);
  });

  it('an image neither on the engine nor pullable is TASK_FAILED with REASON_CONTAINER_LAUNCH_FAILED naming the image and the pull error', async () => {
    // No registry is reachable from this machine: the pull is tried and fails.
    const image = `agora/made-up-image-${process.pid}:never`;
    master.run(agentId, testTask('d-noimage', 'true', {
      container: { type: 'DOCKER', docker: { image, portMappings: [], forcePullImage: false } },
    }));
    const failed = await master.waitForState('d-noimage', 'TASK_FAILED');
    expect(failed.reason).toBe('REASON_CONTAINER_LAUNCH_FAILED');
    expect(failed.message).toContain(`cannot launch the task: image '${image}' is not on this agent and could not be pulled: `);
    // The engine's own words follow, e.g. a registry it cannot resolve or reach.
    expect(failed.message.length).toBeGreaterThan(`cannot launch the task: image '${image}' is not on this agent and could not be pulled: `.length);
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

const docker_ = (d: Partial<NonNullable<TaskInfo['container']['docker']>> = {}) => ({ image: '', portMappings: [], forcePullImage: false, ...d });

describe('Docker tasks: volumes, user, working directory, labels, pulls', () => {
  it('a sandbox-relative RW volume is a directory of the sandbox the task writes into', async () => {
    master.run(agentId, testTask('d-vol-rw', 'echo written > /data/out.txt', {
      container: { type: 'DOCKER', docker: docker_(), volumes: [{ hostPath: 'data', containerPath: '/data', mode: 'RW' }] },
    }));
    const done = await master.waitForState('d-vol-rw', 'TASK_FINISHED');
    expect(readFileSync(join(sandboxOf('d-vol-rw', done.containerId), 'data', 'out.txt'), 'utf8')).toBe('written\n');
  });

  it('an RO volume can be read and refuses writes', async () => {
    const hostDir = mkdtempSync(join(tmpdir(), 'agora-ro-vol-'));
    chmodSync(hostDir, 0o755);
    writeFileSync(join(hostDir, 'config.txt'), 'from the host\n');
    master.run(agentId, testTask('d-vol-ro', 'cat /etc/app/config.txt && echo nope > /etc/app/config.txt', {
      container: { type: 'DOCKER', docker: docker_(), volumes: [{ hostPath: hostDir, containerPath: '/etc/app', mode: 'RO' }] },
    }));
    const failed = await master.waitForState('d-vol-ro', 'TASK_FAILED');
    expect(failed.exitCode).not.toBe(0);
    const sandbox = sandboxOf('d-vol-ro', failed.containerId);
    expect(readFileSync(join(sandbox, 'stdout'), 'utf8')).toBe('from the host\n');
    expect(readFileSync(join(sandbox, 'stderr'), 'utf8')).toMatch(/Read-only file system/);
    expect(readFileSync(join(hostDir, 'config.txt'), 'utf8')).toBe('from the host\n');
    rmSync(hostDir, { recursive: true, force: true });
  });

  it('a relative containerPath or a hostPath out of the sandbox fails the launch before any container exists', async () => {
    master.run(agentId, testTask('d-vol-rel', 'true', {
      container: { type: 'DOCKER', docker: docker_(), volumes: [{ hostPath: 'data', containerPath: 'data', mode: 'RW' }] },
    }));
    master.run(agentId, testTask('d-vol-out', 'true', {
      container: { type: 'DOCKER', docker: docker_(), volumes: [{ hostPath: '../../../../etc', containerPath: '/host-etc', mode: 'RO' }] },
    }));
    const rel = await master.waitForState('d-vol-rel', 'TASK_FAILED');
    expect(rel.reason).toBe('REASON_CONTAINER_LAUNCH_FAILED');
    expect(rel.message).toBe('cannot launch the task: volume 0 (data → data): containerPath must be an absolute path, e.g. /data');
    const out = await master.waitForState('d-vol-out', 'TASK_FAILED');
    expect(out.reason).toBe('REASON_CONTAINER_LAUNCH_FAILED');
    expect(out.message).toMatch(/relative hostPath '\.\.\/\.\.\/\.\.\/\.\.\/etc' leads out of the sandbox/);
    expect(await containersOf('d-vol-rel')).toEqual([]);
    expect(await containersOf('d-vol-out')).toEqual([]);
  });

  it('runs as command.user in command.workingDirectory (relative: inside the sandbox mount), and a numeric user may write to its volumes', async () => {
    master.run(agentId, testTask('d-user', '', {
      command: { value: 'id -u; id -g; pwd; echo mine > /out/by-nobody', argv: [], environment: {}, user: '65534:65534', workingDirectory: 'work' },
      container: { type: 'DOCKER', docker: docker_(), volumes: [{ hostPath: 'out', containerPath: '/out', mode: 'RW' }] },
    }));
    const done = await master.waitForState('d-user', 'TASK_FINISHED');
    expect(readFileSync(join(sandboxOf('d-user', done.containerId), 'stdout'), 'utf8')).toBe('65534\n65534\n/mnt/agora/sandbox/work\n');
    // A numeric user is given the sandbox and its volume directories, so it can write there.
    expect(readFileSync(join(sandboxOf('d-user', done.containerId), 'out', 'by-nobody'), 'utf8')).toBe('mine\n');
    master.run(agentId, testTask('d-cwd-abs', '', { command: { value: 'pwd; id -u', argv: [], environment: {}, user: '', workingDirectory: '/tmp' } }));
    const abs = await master.waitForState('d-cwd-abs', 'TASK_FINISHED');
    // No user named: nobody, the user the master's ACLs checked, not the image's root.
    expect(readFileSync(join(sandboxOf('d-cwd-abs', abs.containerId), 'stdout'), 'utf8')).toBe('/tmp\n65534\n');
    // Root only when the task says so (and the master's run_tasks granted it).
    master.run(agentId, testTask('d-root', '', { command: { value: 'id -u', argv: [], environment: {}, user: '0' } }));
    const root = await master.waitForState('d-root', 'TASK_FINISHED');
    expect(readFileSync(join(sandboxOf('d-root', root.containerId), 'stdout'), 'utf8')).toBe('0\n');
  });

  it('puts the task\'s labels on the container, the agent\'s own agora.* labels winning', async () => {
    master.run(agentId, testTask('d-labels', 'sleep 300', { labels: { team: 'infra', [LABELS.taskId]: 'forged', [LABELS.agentId]: 'forged' } }));
    const running = await master.waitForState('d-labels', 'TASK_RUNNING');
    const [c] = await containersOf('d-labels');
    expect(c).toBeDefined();
    expect(c!.Labels).toEqual({
      team: 'infra', [LABELS.agentId]: agentId, [LABELS.frameworkId]: 'fw-1', [LABELS.taskId]: 'd-labels', [LABELS.containerId]: running.containerId,
    });
    master.kill(agentId, 'd-labels', 0);
    await master.waitForState('d-labels', 'TASK_KILLED');
  });

  it('with forcePullImage, an image the engine has runs even though its pull fails (no registry is reachable here)', async () => {
    master.run(agentId, testTask('d-forcepull', 'echo pulled or not', { container: { type: 'DOCKER', docker: docker_({ image: 'agora/busybox:latest', forcePullImage: true }) } }));
    const done = await master.waitForState('d-forcepull', 'TASK_FINISHED');
    expect(readFileSync(join(sandboxOf('d-forcepull', done.containerId), 'stdout'), 'utf8')).toBe('pulled or not\n');
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
