import { UsageError } from '../../common/flags';
import { parseJobsArgs } from '../jobs/main';
import { parseServicesArgs } from '../services/main';
import { defaultWebuiUrl } from './flags';

describe('a framework server\'s flags', () => {
  it('are the same for services and jobs, AGORA_MASTER and AGORA_REDIS behind --master and --redis', () => {
    const argv = ['--port', '9', '--role', 'batch', '--failover-timeout-ms', '5000', '--redis-prefix', 'x:'];
    const env = { AGORA_MASTER: 'm:5050', AGORA_REDIS: 'redis://r:6379' };
    const common = { master: 'm:5050', redisUrl: 'redis://r:6379', redisPrefix: 'x:', port: 9, role: 'batch', failoverTimeoutMs: 5000 };
    expect(parseServicesArgs(argv, env)).toEqual({ help: false, options: common });
    expect(parseJobsArgs([...argv, '--keep-runs', '7', '--retry-delay-ms', '300'], env)).toEqual({ help: false, options: { ...common, keepRuns: 7, retryDelayMs: 300 } });
    expect(parseJobsArgs(['--master', 'flag:1'], env)).toMatchObject({ options: { master: 'flag:1' } });
    expect(parseServicesArgs(['--help'])).toEqual({ help: true });
  });

  it('pass a list of masters through as given, for the SDK to find the leader through any of them', () => {
    expect(parseServicesArgs(['--master', 'm1:5050,m2:5060,m3:5070'], {})).toMatchObject({ options: { master: 'm1:5050,m2:5060,m3:5070' } });
    expect(parseJobsArgs([], { AGORA_MASTER: 'm1:5050,m2:5060' })).toMatchObject({ options: { master: 'm1:5050,m2:5060' } });
  });

  it('refuse a master list with an empty or bad entry at startup, naming it', () => {
    for (const parse of [parseServicesArgs, parseJobsArgs]) {
      expect(() => parse(['--master', 'm1:5050,,m3:5070'], {})).toThrow(UsageError);
      expect(() => parse(['--master', 'm1:5050,,m3:5070'], {})).toThrow("--master (or AGORA_MASTER): master address 'm1:5050,,m3:5070' has an empty entry (number 2 of 3)");
      expect(() => parse([], { AGORA_MASTER: 'm1:5050,ftp://m2:21' })).toThrow("master address 'ftp://m2:21' must be host:port");
    }
  });
});

describe('--webui-url', () => {
  it('passes an http or https URL through to both frameworks, for setups behind a proxy', () => {
    expect(parseServicesArgs(['--webui-url', 'https://proxy.example.com/marathon/ui/'], {}))
      .toEqual({ help: false, options: { webuiUrl: 'https://proxy.example.com/marathon/ui/' } });
    expect(parseJobsArgs(['--webui-url=http://jobs.internal:4400/ui/'], {}))
      .toEqual({ help: false, options: { webuiUrl: 'http://jobs.internal:4400/ui/' } });
  });

  it('refuses anything else at startup, saying what would be right', () => {
    for (const bad of ['javascript:alert(1)', 'ftp://host/ui/', 'proxy.example.com/ui/', '']) {
      for (const parse of [parseServicesArgs, parseJobsArgs]) {
        expect(() => parse(['--webui-url', bad], {})).toThrow(UsageError);
        expect(() => parse(['--webui-url', bad], {}))
          .toThrow(`--webui-url must be an http or https URL such as http://proxy.example.com/services/ui/, got '${bad}'`);
      }
    }
  });
});

describe('the default web UI URL', () => {
  const machine = () => 'node-7.example.com';

  it('is http://<host>:<port>/ui/ on the address the server is bound to', () => {
    expect(defaultWebuiUrl('127.0.0.1', 41234, machine)).toBe('http://127.0.0.1:41234/ui/');
    expect(defaultWebuiUrl('10.0.0.5', 8080, machine)).toBe('http://10.0.0.5:8080/ui/');
    expect(defaultWebuiUrl('::1', 4400, machine)).toBe('http://[::1]:4400/ui/');
  });

  it('names this machine when bound to every address (0.0.0.0, ::), which a browser elsewhere cannot reach as 127.0.0.1', () => {
    expect(defaultWebuiUrl('0.0.0.0', 8080, machine)).toBe('http://node-7.example.com:8080/ui/');
    expect(defaultWebuiUrl('::', 4400, machine)).toBe('http://node-7.example.com:4400/ui/');
  });
});

describe('--ha and its companions', () => {
  const redis = ['--redis', 'redis://r:6379'];

  it('give both frameworks the election options, AGORA_NATS behind --nats', () => {
    for (const parse of [parseServicesArgs, parseJobsArgs]) {
      expect(parse([...redis, '--ha', '--nats', 'nats://a:4222,nats://b:4222', '--ha-replicas', '3', '--lease-ms', '1500', '--ha-id', 'svc-1'], {}))
        .toMatchObject({ options: { ha: { natsUrl: 'nats://a:4222,nats://b:4222', replicas: 3, leaseMs: 1500, id: 'svc-1' } } });
      expect(parse([...redis, '--ha'], { AGORA_NATS: 'nats://env:4222' })).toMatchObject({ options: { ha: { natsUrl: 'nats://env:4222' } } });
    }
  });

  it('change nothing without --ha', () => {
    expect(parseServicesArgs(redis, { AGORA_NATS: 'nats://env:4222' })).toEqual({ help: false, options: { redisUrl: 'redis://r:6379' } });
  });

  it('are refused with a UsageError that says what is missing', () => {
    const cases: [string[], string][] = [
      [['--ha', '--nats', 'nats://a:4222'], '--ha needs --redis'],
      [[...redis, '--ha'], '--ha needs --nats'],
      [[...redis, '--ha-replicas', '3'], '--nats, --ha-replicas, --lease-ms and --ha-id need --ha'],
      [[...redis, '--ha', '--nats', 'n', '--ha-replicas', '7'], '--ha-replicas must be 1 to 5'],
      [[...redis, '--ha', '--nats', 'n', '--lease-ms', '0'], '--lease-ms 0: expected a whole number of milliseconds'],
      [[...redis, '--ha', '--nats', 'n', '--ha-id', ' '], '--ha-id must not be empty'],
    ];
    for (const [argv, message] of cases) {
      for (const parse of [parseServicesArgs, parseJobsArgs]) {
        expect(() => parse(argv, {})).toThrow(UsageError);
        expect(() => parse(argv, {})).toThrow(message);
      }
    }
  });
});
