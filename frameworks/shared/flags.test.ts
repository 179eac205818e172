import { parseJobsArgs } from '../jobs/main';
import { parseServicesArgs } from '../services/main';

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
});
