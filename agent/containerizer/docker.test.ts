/**
 * The Docker containerizer's image pull on its own, with the real engine: a registry that
 * accepts connections and never answers (on 127.0.0.1) must not hold a launch for long.
 */
import { mkdtempSync, rmSync } from 'fs';
import { createServer, type Server, type Socket } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { createSandbox } from '../sandbox';
import { testTask } from '../../test/support/test-master';
import { LaunchError } from './containerizer';
import { DockerContainerizer } from './docker';
import { openDocker } from './docker-client';

let dir: string;
let silent: Server;
const sockets: Socket[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'agora-docker-'));
  silent = createServer((s) => { sockets.push(s); s.on('error', () => undefined); });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => silent.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('docker containerizer: image pulls', () => {
  it('abandons a pull that does not finish within the pull timeout and fails the launch saying so', async () => {
    const port = (silent.address() as { port: number }).port;
    const image = `127.0.0.1:${port}/agora/silent:1`;
    const c = new DockerContainerizer({ docker: openDocker('/var/run/docker.sock', 4).engine, defaultImage: image, agentId: () => 'a', pullTimeoutMs: 1_000 });
    const sandboxDir = join(dir, 'c1');
    createSandbox(sandboxDir);
    const launch = c.launch({ containerId: 'c1', agentId: 'a', frameworkId: 'f', taskId: 't1', task: testTask('t1', 'true'), sandboxDir, env: {} });
    await expect(launch).rejects.toThrow(LaunchError);
    await expect(launch).rejects.toThrow(`image '${image}' is not on this agent and could not be pulled: the pull did not finish within 1000 ms`);
    // The engine really went to that registry: the wait was on a pull, not on something else.
    expect(sockets.length).toBeGreaterThan(0);
  });
});
