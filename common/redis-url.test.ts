/** The Redis URLs every writer accepts, read without a server: Sentinel URLs into their parts, bad ones refused by name. */
import { DEFAULT_SENTINEL_PORT, parseRedisUrl, redactRedisUrl, RedisUrlError } from './redis-url';
import { redactUrl } from './redis';

/** The RedisUrlError `url` throws (the test fails if it throws none, or another). */
function refusal(url: string): RedisUrlError {
  try {
    parseRedisUrl(url);
  } catch (err) {
    expect(err).toBeInstanceOf(RedisUrlError);
    return err as RedisUrlError;
  }
  throw new Error(`${url} was accepted`);
}

describe('parseRedisUrl', () => {
  it('hands redis:// and rediss:// URLs (and schemeless ones) to ioredis unchanged, expecting no replica', () => {
    for (const url of ['redis://:s3cret@redis.internal:6379', 'rediss://agora:pw@10.0.0.5:6380/2', 'redis://127.0.0.1', '/run/redis.sock']) {
      expect(parseRedisUrl(url)).toEqual({ kind: 'direct', url, expectedReplicas: 0 });
    }
  });

  it('reads three Sentinels, the group, the db and both passwords, expecting one replica', () => {
    const url = 'redis-sentinel://:data%40pw@10.0.0.1:26380,10.0.0.2,[::1]:26381/agora/3?sentinelPassword=s%26pw';
    expect(parseRedisUrl(url)).toEqual({
      kind: 'sentinel',
      url,
      expectedReplicas: 1,
      sentinel: {
        sentinels: [{ host: '10.0.0.1', port: 26380 }, { host: '10.0.0.2', port: DEFAULT_SENTINEL_PORT }, { host: '::1', port: 26381 }],
        name: 'agora',
        db: 3,
        password: 'data@pw',
        sentinelPassword: 's&pw',
      },
    });
  });

  it('reads a user beside the password, db 0 when none is given, and no password when none is given', () => {
    expect(parseRedisUrl('redis-sentinel://agora:pw@s1:1,s2:2/mymaster')).toMatchObject({
      sentinel: { username: 'agora', password: 'pw', name: 'mymaster', db: 0 },
    });
    const plain = parseRedisUrl('redis-sentinel://s1/g');
    expect(plain).toEqual({ kind: 'sentinel', url: 'redis-sentinel://s1/g', expectedReplicas: 1, sentinel: { sentinels: [{ host: 's1', port: 26379 }], name: 'g', db: 0 } });
  });

  it.each([
    ['redis-sentinel://:pw@/agora', /no Sentinel host/],
    ['redis-sentinel://:pw@s1,,s2/agora', /no host in Sentinel address ''/],
    ['redis-sentinel://:pw@s1:26379', /no group/],
    ['redis-sentinel://:pw@s1:26379/', /no group/],
    ['redis-sentinel://:pw@s1:0/agora', /bad port '0' for s1: an integer in 1\.\.65535/],
    ['redis-sentinel://:pw@s1:70000/agora', /bad port '70000'/],
    ['redis-sentinel://:pw@s1:http/agora', /bad port 'http'/],
    ['redis-sentinel://:pw@s1/agora/x', /bad db 'x': a database number/],
    ['redis-sentinel://:pw@s1/agora/-1', /bad db '-1'/],
    ['redis-sentinel://:pw@s1/agora/1/2', /too many path parts after the group: \/2/],
    ['redis-sentinel://:pw@s1/agora?sentinelPasword=x', /unknown parameter sentinelPasword \(known: sentinelPassword, sentinelUsername\)/],
    ['redis-sentinel://:pw@s1/agora?sentinelPassword=', /parameter sentinelPassword has no value/],
    ['redis-sentinel://:%E0%A4%A@s1/agora', /the password is not percent-encoded correctly/],
    ['http://redis.internal:6379', /the scheme must be redis:\/\/, rediss:\/\/ or redis-sentinel:\/\/, got http:\/\//],
  ])('refuses %s with a RedisUrlError naming what is wrong', (url, problem) => {
    const err = refusal(url);
    expect(err.problem).toMatch(problem);
    expect(err.message).toMatch(/^bad Redis URL /);
  });

  it('masks both passwords in its errors', () => {
    const err = refusal('redis-sentinel://:topsecret@s1:99999/agora?sentinelPassword=alsosecret');
    expect(err.message).toBe("bad Redis URL redis-sentinel://:***@s1:99999/agora?sentinelPassword=***: bad port '99999' for s1: an integer in 1..65535");
    expect(err.message).not.toMatch(/topsecret|alsosecret/);
  });
});

describe('redacting a Redis URL', () => {
  it.each([
    ['redis-sentinel://:pw@a:1,b:2/g?sentinelPassword=spw', 'redis-sentinel://:***@a:1,b:2/g?sentinelPassword=***'],
    ['redis-sentinel://user:p@ss@a:1/g', 'redis-sentinel://user:***@a:1/g'],
    ['redis-sentinel://user@a:1/g', 'redis-sentinel://user@a:1/g'],
    ['redis-sentinel://a:1,b:2/g', 'redis-sentinel://a:1,b:2/g'],
  ])('%s reads %s', (url, redacted) => {
    expect(redactRedisUrl(url)).toBe(redacted);
    expect(redactUrl(url)).toBe(redacted); // common/redis.ts's, used in every writer's messages
  });

  it('leaves direct URLs as common/redis.ts always printed them', () => {
    expect(redactUrl('redis://:s3cret@redis.internal:6379')).toBe('redis://:***@redis.internal:6379');
  });
});
