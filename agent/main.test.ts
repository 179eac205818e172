import { EventEmitter } from 'events';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { startNatsServer } from '../common/nats-server';
import { parseAgentArgs, runAgent, USAGE } from './main';
import { TestMaster } from '../test/support/test-master';

describe('agora agent flags', () => {
  it('maps every flag to its option, in both --flag value and --flag=value forms', () => {
    expect(parseAgentArgs([
      '--nats', 'nats://10.0.0.1:4222', '--prefix=p1', '--work-dir', '/var/lib/agora', '--resources', 'cpus:2;mem:1024',
      '--port=0', '--host', '127.0.0.1', '--hostname', 'n1', '--containerizer', 'process', '--attributes', 'rack:r1;zone:a',
      '--docker-socket', '/run/d.sock', '--default-image', 'img:1',
    ], {})).toEqual({
      natsUrl: 'nats://10.0.0.1:4222', subjectPrefix: 'p1', workDir: '/var/lib/agora', resources: 'cpus:2;mem:1024',
      httpPort: 0, httpHost: '127.0.0.1', hostname: 'n1', containerizer: 'process', attributes: { rack: 'r1', zone: 'a' },
      dockerSocket: '/run/d.sock', defaultImage: 'img:1',
    });
  });

  it('takes the GC settings as durations and a fraction: --gc-delay 1h --gc-disk-headroom 0.2 --disk-watch-interval=30s', () => {
    expect(parseAgentArgs(['--gc-delay', '1h', '--gc-disk-headroom', '0.2', '--disk-watch-interval=30s'], {}))
      .toEqual({ gcDelayMs: 3_600_000, gcDiskHeadroom: 0.2, diskWatchIntervalMs: 30_000 });
    expect(() => parseAgentArgs(['--gc-delay', 'a week'], {})).toThrow(/'gcDelayMs': 'a week' is not a duration/);
    expect(() => parseAgentArgs(['--disk-watch-interval', '60'], {})).toThrow(/'diskWatchIntervalMs': '60' is not a duration/);
  });

  it('takes the Docker engine\'s bound and watchdog: --docker-concurrency 4 --docker-probe-interval 2s --docker-probe-timeout=1500ms --docker-probe-failures 5', () => {
    expect(parseAgentArgs(['--docker-concurrency', '4', '--docker-probe-interval', '2s', '--docker-probe-timeout=1500ms', '--docker-probe-failures', '5'], {}))
      .toEqual({ dockerConcurrentCalls: 4, dockerProbeIntervalMs: 2_000, dockerProbeTimeoutMs: 1_500, dockerProbeFailures: 5 });
    expect(() => parseAgentArgs(['--docker-probe-timeout', '5'], {})).toThrow(/'dockerProbeTimeoutMs': '5' is not a duration/);
  });

  it('says in its help what degraded means and how to restart the engine', () => {
    expect(USAGE).toMatch(/Degraded: when the Docker engine has not answered/);
    expect(USAGE).toMatch(/node scripts\/setup\.js/);
    expect(USAGE).toMatch(/recovers on its own/);
  });

  it('takes the NATS url from AGORA_NATS unless --nats is given', () => {
    expect(parseAgentArgs([], { AGORA_NATS: 'nats://env:1' })).toEqual({ natsUrl: 'nats://env:1' });
    expect(parseAgentArgs(['--nats', 'nats://flag:2'], { AGORA_NATS: 'nats://env:1' })).toEqual({ natsUrl: 'nats://flag:2' });
  });

  it('answers help, and rejects unknown flags, missing values and bad ports', () => {
    expect(parseAgentArgs(['--port', '1', '--help'], {})).toBe('help');
    expect(() => parseAgentArgs(['--frobnicate'], {})).toThrow(/unknown flag/);
    expect(() => parseAgentArgs(['--nats'], {})).toThrow(/needs a value/);
    expect(() => parseAgentArgs(['--port', 'http'], {})).toThrow(/--port must be a number, got 'http'/);
  });

  it('refuses to start with neither a security folder nor --insecure, rather than open its doors', async () => {
    await expect(runAgent(['--work-dir', join(tmpdir(), 'never-made'), '--containerizer', 'process'], new EventEmitter()))
      .rejects.toThrow(/no credentials in .*: run `agora up` once .* or pass --insecure for open doors/);
  });

  it('runAgent runs an agent until SIGTERM, then stops it', async () => {
    const nats = await startNatsServer();
    const master = await TestMaster.start(nats.url, { prefix: 'cli' });
    const dir = mkdtempSync(join(tmpdir(), 'agora-agent-cli-'));
    const signals = new EventEmitter();
    let finished = false;
    const run = runAgent(['--nats', nats.url, '--prefix', 'cli', '--work-dir', dir, '--port', '0', '--host', '127.0.0.1',
      '--containerizer', 'process', '--resources', 'cpus:1;mem:64;disk:10', '--insecure'], signals).then(() => { finished = true; });
    const reg = await master.waitForRegistrations(1);
    expect(reg.agentInfo.port).toBeGreaterThan(0);
    expect(finished).toBe(false);
    signals.emit('SIGTERM');
    await run;
    expect(signals.listenerCount('SIGINT') + signals.listenerCount('SIGTERM')).toBe(0);
    await master.close();
    await nats.stop();
    rmSync(dir, { recursive: true, force: true });
  });
});
