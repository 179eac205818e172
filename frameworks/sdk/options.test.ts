import { FakeClock } from '../../common/clock';
import { InvalidArgumentError } from './errors';
import { compileOptions, processClock, type SubscribeOptions } from './options';

const framework = { name: 'opts' };

describe('subscribe options', () => {
  it('reconnects by default: 200 ms doubling to 10 s, 3 missed heartbeats, the system clock', () => {
    const c = compileOptions({ framework });
    expect(c.reconnect).toEqual({ initialDelayMs: 200, maxDelayMs: 10_000, grpcAddresses: [] });
    expect(c).toMatchObject({ maxMissedHeartbeats: 3, autoAcknowledge: true, maxBufferedEvents: 100_000, replayWindow: 1000 });
    expect(c.clock).toBe(processClock);
    expect(compileOptions({ framework, reconnect: true }).reconnect).toEqual(c.reconnect);
  });

  it('turns reconnect off with false, and fills what a partial reconnect leaves out', () => {
    expect(compileOptions({ framework, reconnect: false }).reconnect).toBeUndefined();
    expect(compileOptions({ framework, reconnect: { initialDelayMs: 50, grpcAddresses: ['m2:5053'] } }).reconnect)
      .toEqual({ initialDelayMs: 50, maxDelayMs: 10_000, grpcAddresses: ['m2:5053'] });
    // a first delay longer than the default maximum raises the maximum to it
    expect(compileOptions({ framework, reconnect: { initialDelayMs: 30_000 } }).reconnect).toMatchObject({ maxDelayMs: 30_000 });
  });

  it('fills in the framework info around what is given, and keeps a given clock', () => {
    const clock = new FakeClock();
    const c = compileOptions({ framework: { name: 'x', roles: ['web'], failoverTimeoutMs: 60_000 }, clock });
    expect(c.framework).toEqual({
      id: '', name: 'x', roles: ['web'], failoverTimeoutMs: 60_000, capabilities: [], principal: '', user: '', hostname: '', labels: {},
    });
    expect(c.clock).toBe(clock);
  });

  it.each<[string, SubscribeOptions, string]>([
    ['an empty name', { framework: { name: ' ' } }, 'framework.name: a framework needs a non-empty name'],
    ['a zero first delay', { framework, reconnect: { initialDelayMs: 0 } }, 'reconnect.initialDelayMs: must be a positive number of milliseconds, got 0'],
    ['a maximum under the first delay', { framework, reconnect: { initialDelayMs: 500, maxDelayMs: 100 } }, 'reconnect.maxDelayMs: 100 ms is shorter than initialDelayMs (500 ms)'],
    ['a blank address', { framework, reconnect: { grpcAddresses: ['m1:5053', ''] } }, "reconnect.grpcAddresses[1]: must be a gRPC address such as host:5053, got ''"],
    ['a master list with an empty entry', { framework, master: 'm1:5050,,m3:5050' }, "master: master address 'm1:5050,,m3:5050' has an empty entry (number 2 of 3)"],
    ['a bad master in a list', { framework, master: 'm1:5050,ftp://m2:21' }, "master: master address 'ftp://m2:21' must be host:port, https://host:port or http://host:port"],
    ['no missed heartbeat allowed', { framework, maxMissedHeartbeats: 0 }, 'maxMissedHeartbeats: must be a whole number ≥ 1, got 0'],
    ['a fractional buffer', { framework, maxBufferedEvents: 2.5 }, 'maxBufferedEvents: must be a whole number ≥ 1, got 2.5'],
    ['a negative replay window', { framework, replayWindow: -1 }, 'replayWindow: must be a whole number ≥ 0, got -1'],
  ])('refuses %s with an InvalidArgumentError naming the option', (_what, opts, message) => {
    expect(() => compileOptions(opts)).toThrow(InvalidArgumentError);
    expect(() => compileOptions(opts)).toThrow(message);
  });
});
