import { format, parse, scalar } from '../common/resources';
import { agentConfig, AgentConfigError, parseAttributes, parseDuration } from './config';
import { detectResources, hostFacts, parseGpuIndexes } from './resource-detect';
describe('agent config', () => {
  it('fills the defaults: prefix agora, port 5051, auto containerizer, Mesos retry and grace periods', () => {
    const c = agentConfig({ resources: 'cpus:1;mem:512;disk:100;ports:[31000-31000]' });
    expect(c).toMatchObject({
      natsUrl: 'nats://127.0.0.1:4222', subjectPrefix: 'agora', workDir: '/tmp/agora/agent', httpHost: '0.0.0.0', httpPort: 5051,
      containerizer: 'auto', defaultImage: 'agora/busybox:latest', heartbeatIntervalMs: undefined,
      statusRetryInitialMs: 10_000, statusRetryMaxMs: 600_000, killGracePeriodMs: 3_000,
      registerBackoffFactorMs: 1_000, registerBackoffMaxMs: 60_000,
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('keeps the resources given and detects the predefined ones left out', () => {
    const c = agentConfig({ resources: 'cpus:3;gpus:1' });
    expect(scalar(c.resources, 'cpus')).toBe(3);
    expect(scalar(c.resources, 'gpus')).toBe(1);
    expect(scalar(c.resources, 'mem')).toBeGreaterThan(0);
    expect(format(c.resources)).toMatch(/ports:\[31000-32000\]/);
  });

  it('detects cpus = cores, mem = total − min(1 GB, half), disk = free − min(5 GB, half), ports 31000-32000', () => {
    const facts = { cores: 8, totalMemMb: 16_384, freeDiskMb: 100_000 };
    expect(format(detectResources([], '/x', '[31000-32000]', facts))).toBe('cpus:8;disk:94880;mem:15360;ports:[31000-32000]');
    const small = { cores: 1, totalMemMb: 1_000, freeDiskMb: 4_000 };
    expect(format(detectResources([], '/x', '[31000-32000]', small))).toBe('cpus:1;disk:2000;mem:500;ports:[31000-32000]');
    expect(format(detectResources(parse('mem:100'), '/x', '[1-2]', small))).toBe('cpus:1;disk:2000;mem:100;ports:[1-2]');
  });

  it('counts GPUs from nvidia-smi\'s index list, and a given gpus resource wins', () => {
    expect(parseGpuIndexes('0\n1\n2\n')).toBe(3);
    expect(parseGpuIndexes('')).toBe(0);
    expect(parseGpuIndexes('NVIDIA-SMI has failed because it couldn\'t communicate with the NVIDIA driver.\n')).toBe(0);
    const facts = { cores: 2, totalMemMb: 4096, freeDiskMb: 10_000, gpus: 2 };
    expect(format(detectResources([], '/x', '[1-2]', facts))).toBe('cpus:2;disk:5000;gpus:2;mem:3072;ports:[1-2]');
    expect(format(detectResources(parse('gpus:1'), '/x', '[1-2]', facts))).toBe('cpus:2;disk:5000;gpus:1;mem:3072;ports:[1-2]');
    // This machine has no nvidia-smi: no gpus are offered unless the operator says so.
    expect(hostFacts('/tmp').gpus).toBe(0);
    expect(scalar(agentConfig({}).resources, 'gpus')).toBe(0);
  });

  it('keeps resources reserved for a role beside the unreserved ones, and detects nothing of a name already given', () => {
    const c = agentConfig({ resources: 'cpus(prod):2;cpus:1;mem(prod):512;disk:100;ports:[31000-31009]' });
    expect(format(c.resources)).toMatch(/^cpus:1;cpus\(prod\):2;disk:100;mem\(prod\):512;ports:\[31000-31009\]$/);
  });

  it.each([
    [{ httpPort: 70000 }, 'httpPort'],
    [{ httpPort: 1.5 }, 'httpPort'],
    [{ containerizer: 'lxc' as never }, 'containerizer'],
    [{ subjectPrefix: 'has space' }, 'subjectPrefix'],
    [{ resources: 'cpus:lots' }, 'resources'],
    [{ statusRetryInitialMs: 0 }, 'statusRetryInitialMs'],
    [{ statusRetryInitialMs: 20_000, statusRetryMaxMs: 10_000 }, 'statusRetryMaxMs'],
    [{ killGracePeriodMs: -1 }, 'killGracePeriodMs'],
    [{ heartbeatIntervalMs: Number.NaN }, 'heartbeatIntervalMs'],
    [{ natsUrl: ' ' }, 'natsUrl'],
    [{ attributes: { 'bad key': 'x' } }, 'attributes'],
    [{ gcDelayMs: -1 }, 'gcDelayMs'],
    [{ gcDiskHeadroom: 1 }, 'gcDiskHeadroom'],
    [{ gcDiskHeadroom: -0.1 }, 'gcDiskHeadroom'],
    [{ diskWatchIntervalMs: 0 }, 'diskWatchIntervalMs'],
    [{ dockerConcurrentCalls: 0 }, 'dockerConcurrentCalls'],
    [{ dockerConcurrentCalls: 2.5 }, 'dockerConcurrentCalls'],
    [{ dockerProbeIntervalMs: 0 }, 'dockerProbeIntervalMs'],
    [{ dockerProbeTimeoutMs: Number.NaN }, 'dockerProbeTimeoutMs'],
    [{ dockerProbeFailures: 0 }, 'dockerProbeFailures'],
  ])('rejects %j with an AgentConfigError naming %s', (opts, field) => {
    let err: unknown;
    try {
      agentConfig({ resources: 'cpus:1;mem:1;disk:1;ports:[1-1]', ...opts });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AgentConfigError);
    expect((err as AgentConfigError).field).toBe(field);
    expect((err as Error).message).toMatch(new RegExp(`'${field}'`));
  });

  it('bounds the agent\'s Docker calls to 8 at once and calls the engine wedged after 3 probes of 5 s every 5 s fail', () => {
    const c = agentConfig({ resources: 'cpus:1;mem:1;disk:1;ports:[1-1]' });
    expect(c).toMatchObject({ dockerConcurrentCalls: 8, dockerProbeIntervalMs: 5_000, dockerProbeTimeoutMs: 5_000, dockerProbeFailures: 3 });
  });

  it('garbage-collects as Mesos does by default: a week, 10 % headroom, the disk checked every minute, usage by statfs', async () => {
    const c = agentConfig({ resources: 'cpus:1;mem:1;disk:1;ports:[1-1]' });
    expect(c).toMatchObject({ gcDelayMs: 604_800_000, gcDiskHeadroom: 0.1, diskWatchIntervalMs: 60_000 });
    const usage = await c.diskUsage('/');
    expect(usage).toBeGreaterThan(0);
    expect(usage).toBeLessThanOrEqual(1);
  });

  it('parses durations: 500ms, 30s, 10m, 1h, 7d, 2w, 1h30m, 1.5h', () => {
    expect(parseDuration('f', '500ms')).toBe(500);
    expect(parseDuration('f', '30s')).toBe(30_000);
    expect(parseDuration('f', '10m')).toBe(600_000);
    expect(parseDuration('f', '1h')).toBe(3_600_000);
    expect(parseDuration('f', '7d')).toBe(604_800_000);
    expect(parseDuration('f', '2w')).toBe(1_209_600_000);
    expect(parseDuration('f', '1h30m')).toBe(5_400_000);
    expect(parseDuration('f', '1.5h')).toBe(5_400_000);
    expect(parseDuration('f', '0s')).toBe(0);
  });

  it.each(['', '10', 'h', '1 h', '-1h', '1y', 'soon', '1h-', '1e3s'])('refuses the duration %j, saying what a duration looks like', (text) => {
    expect(() => parseDuration('gcDelayMs', text)).toThrow(AgentConfigError);
    expect(() => parseDuration('gcDelayMs', text)).toThrow(/invalid agent config 'gcDelayMs': .* is not a duration: a number and a unit \(ms, s, m, h, d, w\), e\.g\. 30s/);
  });

  it('parses attributes k:v;k2:v2 and rejects a part without a colon', () => {
    expect(parseAttributes('rack:r1; zone : a ;')).toEqual({ rack: 'r1', zone: 'a' });
    expect(() => parseAttributes('rack')).toThrow(AgentConfigError);
  });
});
