/**
 * The Docker engine's one door, against the real engine: its line holds at most N calls at
 * the engine and starts the waiting ones kills first, background reads last; a wait gives its
 * slot back once the engine took it; and the watchdog's probe is answered while the line is
 * full. A pausable relay (test/support/docker-relay.ts) holds the calls for the first case.
 */
import Docker from 'dockerode';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { startDockerRelay, type DockerRelay } from '../../test/support/docker-relay';
import { openDocker } from './docker-client';

const IMAGE = 'agora/busybox:latest';
const LABEL = 'agora.test=docker-client';
/** The test's own look at the engine, outside the door. */
const raw = new Docker({ socketPath: '/var/run/docker.sock' });

let dir: string;
let relay: DockerRelay;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'agora-door-'));
  relay = await startDockerRelay(join(dir, 'docker.sock'));
});

afterAll(async () => {
  relay.resume();
  await relay.stop();
  for (const c of await raw.listContainers({ all: true, filters: { label: [LABEL] } })) await raw.getContainer(c.Id).remove({ force: true });
  rmSync(dir, { recursive: true, force: true });
});

/** A running container whose PID 1 ignores SIGTERM (a bare `sleep`): a `docker stop` of it waits out its grace period. */
async function sleeper(): Promise<string> {
  const c = await raw.createContainer({ Image: IMAGE, Cmd: ['sleep', '600'], Labels: { 'agora.test': 'docker-client' } });
  await c.start();
  return c.id;
}

describe('the Docker engine\'s door', () => {
  it('with a bound of 1, starts the calls waiting behind a stuck one kills first, then task calls in order, background reads last', async () => {
    const { engine } = openDocker(relay.path, 1);
    relay.pause();
    const settled: string[] = [];
    const track = (name: string, p: Promise<unknown>) => p.then(() => settled.push(name), () => settled.push(name));
    const calls = [
      track('list', engine.list({ label: ['agora.test=nothing-has-this'] })),
      track('stats', engine.stats('agora-no-such-container-1')),
      track('inspect', engine.inspect('agora-no-such-container-2')),
      track('stop', engine.stop('agora-no-such-container-3', 0)),
      track('remove', engine.remove('agora-no-such-container-4')),
    ];
    expect(engine.load()).toEqual({ inFlight: 1, waiting: 4 });
    relay.resume();
    await Promise.all(calls);
    expect(settled).toEqual(['list', 'stop', 'inspect', 'remove', 'stats']);
    expect(engine.load()).toEqual({ inFlight: 0, waiting: 0 });
  });

  it('gives a wait\'s slot back once the engine took it: with a bound of 1, the next call runs while the container lives', async () => {
    const { engine } = openDocker('/var/run/docker.sock', 1);
    const id = await sleeper();
    const exit = engine.wait(id);
    expect((await engine.inspect(id)).State.Running).toBe(true);
    await raw.getContainer(id).remove({ force: true });
    expect(await exit).toMatchObject({ StatusCode: 137 });
  });

  it('answers the watchdog\'s probe while the line is full of a call the engine is still busy with', async () => {
    const { engine, probe } = openDocker('/var/run/docker.sock', 1);
    const id = await sleeper();
    // SIGTERM is ignored, so the engine works on this stop for 600 s, holding the one slot.
    const stop = engine.stop(id, 600).catch(() => undefined);
    const queued = engine.inspect(id).catch(() => undefined);
    expect(engine.load()).toEqual({ inFlight: 1, waiting: 1 });
    await expect(probe(AbortSignal.timeout(10_000))).resolves.toBeUndefined();
    expect(engine.load()).toEqual({ inFlight: 1, waiting: 1 });
    await raw.getContainer(id).remove({ force: true });
    await Promise.all([stop, queued]);
  });

  it('probes fail naming what did not answer when the engine is silent', async () => {
    const { probe } = openDocker(relay.path, 1);
    relay.pause();
    try {
      await expect(probe(AbortSignal.timeout(300))).rejects.toThrow(/^\/_ping: /);
    } finally {
      relay.resume();
    }
    await expect(probe(AbortSignal.timeout(10_000))).resolves.toBeUndefined();
  });
});
