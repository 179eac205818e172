import { parseMasterArgs, UsageError } from './main';

describe('agora master flags', () => {
  it('maps every flag to its option, in both --flag value and --flag=value forms', () => {
    expect(parseMasterArgs([
      '--nats', 'nats://n:4222', '--prefix=dev', '--host', '127.0.0.1', '--port', '0', '--grpc-port=6000',
      '--allocation-interval-ms', '250', '--offer-timeout-ms=30000', '--framework-heartbeat-interval-ms', '200',
      '--offer-log-max-bytes', '1048576', '--offer-log-max-age-ms=3600000',
    ], {})).toEqual({ help: false, security: {}, options: {
      natsUrl: 'nats://n:4222', subjectPrefix: 'dev', host: '127.0.0.1', httpPort: 0, grpcPort: 6000, allocationIntervalMs: 250, offerTimeoutMs: 30_000,
      frameworkHeartbeatIntervalMs: 200, offerLogMaxBytes: 1_048_576, offerLogMaxAgeMs: 3_600_000,
    } });
  });

  it('takes the NATS URL from AGORA_NATS unless --nats is given', () => {
    expect(parseMasterArgs([], { AGORA_NATS: 'nats://env:1' })).toEqual({ help: false, security: {}, options: { natsUrl: 'nats://env:1' } });
    expect(parseMasterArgs(['--nats', 'nats://flag:2'], { AGORA_NATS: 'nats://env:1' })).toMatchObject({ options: { natsUrl: 'nats://flag:2' } });
  });

  it('takes the Redis URL from --redis, else AGORA_REDIS; none means the in-memory registry', () => {
    expect(parseMasterArgs(['--redis', 'redis://flag:6379'], { AGORA_REDIS: 'redis://env:6379' })).toEqual({ help: false, security: {}, options: { redisUrl: 'redis://flag:6379' } });
    expect(parseMasterArgs([], { AGORA_REDIS: 'redis://env:6379' })).toEqual({ help: false, security: {}, options: { redisUrl: 'redis://env:6379' } });
    expect(parseMasterArgs([], {})).toEqual({ help: false, security: {}, options: {} });
  });

  it('takes --security-dir, --principal and --insecure, and refuses --insecure with a security folder', () => {
    expect(parseMasterArgs(['--security-dir', '/etc/agora', '--principal', 'master'], {})).toMatchObject({ security: { securityDir: '/etc/agora', principal: 'master' } });
    expect(parseMasterArgs(['--insecure'], {})).toMatchObject({ security: { insecure: true } });
    expect(() => parseMasterArgs(['--insecure', '--security-dir', '/etc/agora'], {})).toThrow('--insecure and --security-dir contradict each other: choose one');
  });

  it('asks for help on --help', () => {
    expect(parseMasterArgs(['--port', '1', '--help'], {})).toEqual({ help: true });
  });

  it.each([
    [['--bogus'], /unknown flag --bogus; known: --nats, /],
    [['--port'], /--port needs a value/],
    [['--port', 'abc'], /--port must be a number, got 'abc'/],
    [['extra'], /unexpected argument 'extra'/],
  ])('refuses %j with a UsageError', (argv, message) => {
    expect(() => parseMasterArgs(argv, {})).toThrow(UsageError);
    expect(() => parseMasterArgs(argv, {})).toThrow(message);
  });
});
