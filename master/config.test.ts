import { FakeClock } from '../common/clock';
import { parse } from '../common/resources';
import { ConfigError, resolveConfig } from './config';

describe('master config', () => {
  it('fills the Mesos-like defaults', () => {
    const c = resolveConfig({ hostname: 'm1' });
    expect(c).toMatchObject({
      subjectPrefix: 'agora', host: '0.0.0.0', httpPort: 5050, grpcPort: 5053, allocationIntervalMs: 1000, offerTimeoutMs: 60_000,
      frameworkHeartbeatIntervalMs: 15_000, agentHeartbeatIntervalMs: 5000, defaultRefuseMs: 5000, hostname: 'm1',
      offerLogMaxBytes: 64 * 1024 * 1024, offerLogMaxAgeMs: 7 * 24 * 3_600_000, offerLogReplicas: 1, epoch: 1,
    });
    expect(c.minAllocatable).toEqual([parse('cpus:0.01'), parse('mem:32')]);
  });

  it('keeps what it is given, including an injected clock and role weights', () => {
    const clock = new FakeClock();
    const c = resolveConfig({ clock, httpPort: 0, weights: { prod: 3 }, minAllocatable: ['cpus:1;mem:128'] });
    expect(c.clock).toBe(clock);
    expect(c.httpPort).toBe(0);
    expect(c.weights.get('prod')).toBe(3);
    expect(c.minAllocatable).toEqual([parse('cpus:1;mem:128')]);
  });

  it.each([
    [{ httpPort: 70000 }, 'invalid master option httpPort=70000: expected an integer port in 0..65535'],
    [{ allocationIntervalMs: 0 }, 'invalid master option allocationIntervalMs=0'],
    [{ offerTimeoutMs: -1 }, 'invalid master option offerTimeoutMs=-1'],
    [{ subjectPrefix: 'a b' }, 'invalid master option subjectPrefix="a b"'],
    [{ minAllocatable: 'cpus:x' }, 'invalid master option minAllocatable="cpus:x"'],
    [{ weights: { prod: 0 } }, 'invalid master option weights.prod=0'],
    [{ offerLogMaxBytes: 0 }, 'invalid master option offerLogMaxBytes=0: expected an integer ≥ 1'],
    [{ offerLogMaxAgeMs: 10 }, 'invalid master option offerLogMaxAgeMs=10: expected a number of milliseconds in 1000..'],
    [{ epoch: 0 }, 'invalid master option epoch=0: expected an integer in 1..2^53-1'],
    [{ epoch: 2.5 }, 'invalid master option epoch=2.5'],
  ])('refuses %j with an error naming the option and value', (options, message) => {
    expect(() => resolveConfig(options)).toThrow(ConfigError);
    expect(() => resolveConfig(options)).toThrow(message);
  });
});
