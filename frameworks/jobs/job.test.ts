import fc from 'fast-check';
import { parseChronosJob, parseMetronomeJob, toChronos, toMetronome, type Job } from './job';

const ok = (r: ReturnType<typeof parseMetronomeJob>): Job => {
  if (!r.ok) throw new Error(JSON.stringify(r.details));
  return r.job;
};

describe('a Metronome job', () => {
  const nightly = {
    id: 'reports.nightly', description: 'the nightly report', labels: { team: 'data' },
    run: { cmd: 'make report', cpus: 0.5, mem: 64, docker: { image: 'agora/busybox:latest' }, env: { MODE: 'full' }, restart: { policy: 'ON_FAILURE', activeDeadlineSeconds: 600 },
      placement: { constraints: [{ attribute: 'rack', operator: 'LIKE', value: 'r[12]' }] } },
    schedules: [{ id: 'default', cron: '30 2 * * *', timezone: 'Europe/Berlin', concurrencyPolicy: 'FORBID' }],
    dependencies: [{ id: 'ingest' }],
  };

  it('reads into the model with Metronome\'s defaults, and writes back to the same definition', () => {
    const job = ok(parseMetronomeJob(nightly));
    expect(job).toMatchObject({
      id: 'reports.nightly', cmd: 'make report', cpus: 0.5, mem: 64, disk: 0, image: 'agora/busybox:latest', restartPolicy: 'ON_FAILURE',
      activeDeadlineSeconds: 600, parents: ['ingest'], constraints: [{ attribute: 'rack', operator: 'LIKE', value: 'r[12]' }],
      schedule: { kind: 'cron', expression: '30 2 * * *', timeZone: 'Europe/Berlin', concurrencyPolicy: 'FORBID', startingDeadlineSeconds: 900, enabled: true },
    });
    expect(ok(parseMetronomeJob(toMetronome(job)))).toEqual(job);
    expect(ok(parseMetronomeJob({ id: 'tiny', run: { cmd: 'true' } }))).toMatchObject({ cpus: 1, mem: 128, disk: 0, restartPolicy: 'NEVER', parents: [] });
  });

  it('names every field that is wrong, and takes nothing', () => {
    const bad = parseMetronomeJob({
      id: 'Bad_Id', run: { cmd: 'x', cpus: -1, mem: 16, restart: { policy: 'ALWAYS' } },
      schedules: [{ cron: '61 * * * *', timezone: 'Europe/Berlin', concurrencyPolicy: 'SOMETIMES' }],
    });
    expect(bad.ok).toBe(false);
    const paths = bad.ok ? [] : bad.details.map((d) => d.path).sort();
    expect(paths).toEqual(['/id', '/run/cpus', '/run/mem', '/run/restart/policy', '/schedules(0)/concurrencyPolicy', '/schedules(0)/cron']);
    expect(parseMetronomeJob({ id: 'tz', run: { cmd: 'x' }, schedules: [{ cron: '0 0 * * *', timezone: 'Mars/Olympus' }] }))
      .toEqual({ ok: false, details: [{ path: '/schedules(0)/timezone', errors: ["'Mars/Olympus' is not a time zone (an IANA name such as Europe/Berlin or UTC)"] }] });
  });
  it('refuses a field of the wrong type at its JSON path, saying what was expected and what was there; ignores fields it does not know', () => {
    expect(parseMetronomeJob({ id: 'x', run: { cmd: 'y', docker: { image: 5 }, env: { A: 1 }, maxLaunchDelay: '1h' }, labels: [] })).toEqual({
      ok: false,
      details: [
        { path: '/labels', errors: ['expected an object, got []'] },
        { path: '/run/docker/image', errors: ['expected a string, got 5'] },
        { path: '/run/env/A', errors: ['expected a string, got 1'] },
        { path: '/run/maxLaunchDelay', errors: ['expected a number, got "1h"'] },
      ],
    });
    const plain = ok(parseMetronomeJob({ id: 'x', run: { cmd: 'y' } }));
    expect(ok(parseMetronomeJob({ id: 'x', run: { cmd: 'y', secrets: {}, networks: [{ mode: 'HOST' }] }, schedulesLater: [], extra: 1 }))).toEqual(plain);
  });
});

describe('a Chronos job', () => {
  it('reads with Chronos\'s defaults (shell, 2 retries, 0.1 cpus, 128 MB, 256 MB disk), concurrent false as FORBID, and writes back', () => {
    const job = ok(parseChronosJob({
      name: 'hourly-sync', command: 'sync.sh', schedule: 'R/2026-01-01T00:00:00Z/PT1H', scheduleTimeZone: 'America/New_York', owner: 'ops@example.com',
      environmentVariables: [{ name: 'TARGET', value: 'eu' }], constraints: [['rack', 'EQUALS', 'r1']], maxCompletionTime: 90_000,
    }));
    expect(job).toMatchObject({
      id: 'hourly-sync', cmd: 'sync.sh', cpus: 0.1, mem: 128, disk: 256, retries: 2, restartPolicy: 'ON_FAILURE', env: { TARGET: 'eu' },
      constraints: [{ attribute: 'rack', operator: 'IS', value: 'r1' }], activeDeadlineSeconds: 90, owner: 'ops@example.com',
      schedule: { kind: 'iso8601', expression: 'R/2026-01-01T00:00:00Z/PT1H', timeZone: 'America/New_York', concurrencyPolicy: 'FORBID' },
    });
    expect(ok(parseChronosJob(toChronos(job)))).toEqual(job);
    const child = ok(parseChronosJob({ name: 'report', command: 'report.sh', parents: ['hourly-sync'], softError: true }));
    expect(child).toMatchObject({ parents: ['hourly-sync'], softError: true });
    expect(child.schedule).toBeUndefined();
  });

  it('refuses a malformed schedule, a schedule with parents, and neither', () => {
    expect(parseChronosJob({ name: 'x', command: 'y', schedule: 'R/2026-01-01T00:00:00Z/1H' })).toMatchObject({ ok: false, details: [{ path: '/schedule' }] });
    expect(parseChronosJob({ name: 'x', command: 'y', schedule: 'R//PT1H', parents: ['a'] })).toMatchObject({ ok: false, details: [{ path: '/parents' }] });
    expect(parseChronosJob({ name: 'x', command: 'y' })).toMatchObject({ ok: false, details: [{ path: '/schedule' }] });
    expect(parseChronosJob({ name: 'x y', command: 'y', parents: ['a'], cpus: -0.5 })).toMatchObject({ ok: false, details: [{ path: '/name' }, { path: '/cpus' }] });
  });

  it('refuses a field of the wrong type at its JSON path, saying what was expected and what was there; ignores fields it does not know', () => {
    expect(parseChronosJob({ name: 'x', command: 'y', parents: ['a'], container: { image: 5 }, shell: 'no', environmentVariables: [{ name: 'A', value: 1 }] })).toEqual({
      ok: false,
      details: [
        { path: '/shell', errors: ['expected true or false, got "no"'] },
        { path: '/environmentVariables(0)/value', errors: ['expected a string, got 1'] },
        { path: '/container/image', errors: ['expected a string, got 5'] },
      ],
    });
    const plain = ok(parseChronosJob({ name: 'x', command: 'y', parents: ['a'] }));
    expect(ok(parseChronosJob({ name: 'x', command: 'y', parents: ['a'], epsilon: 'PT60S', highPriority: false, fetch: [] }))).toEqual(plain);
  });

  it('refuses a LIKE or UNLIKE constraint whose value is not a regular expression', () => {
    expect(parseChronosJob({ name: 'x', command: 'y', schedule: 'R//PT1H', constraints: [['rack', 'LIKE', 'rack-[']] }))
      .toMatchObject({ ok: false, details: [{ path: '/constraints(0)', errors: [expect.stringMatching(/^'rack-\[' is not a regular expression/)] }] });
    expect(parseMetronomeJob({ id: 'x', run: { cmd: 'y', placement: { constraints: [{ attribute: 'rack', operator: 'UNLIKE', value: '(' }] } } }))
      .toMatchObject({ ok: false, details: [{ path: '/run/placement/constraints(0)/value' }] });
  });

  it('refuses a LIKE or UNLIKE pattern RE2 cannot match in linear time (a backreference, a lookahead)', () => {
    expect(parseChronosJob({ name: 'x', command: 'y', schedule: 'R//PT1H', constraints: [['rack', 'LIKE', '(r)\\1']] }))
      .toMatchObject({ ok: false, details: [{ path: '/constraints(0)', errors: [expect.stringMatching(/^'\(r\)\\1' is not a regular expression RE2 accepts/)] }] });
    expect(parseMetronomeJob({ id: 'x', run: { cmd: 'y', placement: { constraints: [{ attribute: 'rack', operator: 'LIKE', value: '(?=r)r1' }] } } }))
      .toMatchObject({ ok: false, details: [{ path: '/run/placement/constraints(0)/value', errors: [expect.stringMatching(/RE2 accepts/)] }] });
  });
});

describe('either dialect', () => {
  /** The definition with one field, or an item or field inside it, replaced by any JSON. */
  const replacing = (full: Record<string, unknown>) => fc.tuple(fc.constantFrom(...Object.keys(full)), fc.jsonValue({ maxDepth: 3 }),
    fc.option(fc.oneof(fc.nat(2), fc.constantFrom('cmd', 'docker', 'placement', 'restart', 'cron', 'timezone', 'image', 'volumes')))).map(([key, value, inner]) => {
    const job = structuredClone(full);
    const at = job[key];
    if (inner === null || typeof at !== 'object' || at === null) job[key] = value;
    else (at as Record<string | number, unknown>)[inner] = value;
    return job;
  });
  const answered = (r: ReturnType<typeof parseMetronomeJob>): void => {
    if (!r.ok) for (const d of r.details) expect(d.path).toMatch(/^\//);
  };

  it('answers any JSON with a job or problems by path, never a crash', () => {
    const metronome = {
      id: 'a.b', run: { cmd: 'x', docker: { image: 'i' }, volumes: [{ containerPath: '/d', hostPath: 'd', mode: 'RW' }], placement: { constraints: [{ attribute: 'r', operator: 'LIKE', value: 'r.*' }] }, restart: { policy: 'ON_FAILURE' } },
      schedules: [{ cron: '0 * * * *', timezone: 'UTC' }], dependencies: [{ id: 'c' }], labels: { a: 'b' },
    };
    const chronos = { name: 'a', command: 'x', schedule: 'R/2026-01-01T00:00:00Z/PT1H', constraints: [['r', 'LIKE', 'r.*']], environmentVariables: [{ name: 'A', value: 'b' }],
      container: { image: 'i', volumes: [{ containerPath: '/d', hostPath: 'd', mode: 'RW' }] } };
    fc.assert(fc.property(replacing(metronome), (json) => answered(parseMetronomeJob(json))));
    fc.assert(fc.property(replacing(chronos), (json) => answered(parseChronosJob(json))));
  });
});

describe('host volumes', () => {
  const data = { containerPath: '/data', hostPath: '/srv/data', mode: 'RW' };
  const cache = { containerPath: '/cache', hostPath: 'cache', mode: 'RO' };

  it('Metronome run.volumes and Chronos container.volumes read into the job, in order, and write back to the same definition', () => {
    const metronome = ok(parseMetronomeJob({ id: 'etl', run: { cmd: 'etl.sh', docker: { image: 'agora/busybox:latest' }, volumes: [data, cache] } }));
    expect(metronome.volumes).toEqual([data, cache]);
    expect((toMetronome(metronome).run as { volumes: unknown }).volumes).toEqual([data, cache]);
    expect(ok(parseMetronomeJob(toMetronome(metronome)))).toEqual(metronome);

    const chronos = ok(parseChronosJob({ name: 'etl', command: 'etl.sh', schedule: 'R//PT1H', container: { type: 'DOCKER', image: 'agora/busybox:latest', volumes: [cache] } }));
    expect(chronos.volumes).toEqual([cache]);
    expect(toChronos(chronos).container).toEqual({ type: 'DOCKER', image: 'agora/busybox:latest', forcePullImage: false, volumes: [cache] });
    expect(ok(parseChronosJob(toChronos(chronos)))).toEqual(chronos);
  });

  it('no volumes, or an empty list, is a job without volumes, and its views have none', () => {
    for (const volumes of [undefined, null, []]) {
      const job = ok(parseMetronomeJob({ id: 'x', run: { cmd: 'y', docker: { image: 'i' }, volumes } }));
      expect(job).not.toHaveProperty('volumes');
      expect(toMetronome(job).run).not.toHaveProperty('volumes');
    }
    expect(toChronos(ok(parseChronosJob({ name: 'x', command: 'y', parents: ['a'], container: { image: 'i' } }))).container).not.toHaveProperty('volumes');
  });

  it('refuses volumes without a Docker image at the volumes, naming the image field', () => {
    const noImage = /^volumes need a Docker image \((run\.docker|container)\.image\): without one a job may run as a process, in the agent's own filesystem/;
    for (const docker of [undefined, {}, { image: null }, { image: '' }]) {
      expect(parseMetronomeJob({ id: 'x', run: { cmd: 'y', ...(docker ? { docker } : {}), volumes: [data] } }))
        .toEqual({ ok: false, details: [{ path: '/run/volumes', errors: [expect.stringMatching(noImage)] }] });
    }
    expect(parseChronosJob({ name: 'x', command: 'y', parents: ['a'], container: { volumes: [data] } }))
      .toEqual({ ok: false, details: [{ path: '/container/volumes', errors: ['volumes need a Docker image (container.image): without one a job may run as a process, in the agent\'s own filesystem, where nothing is mounted'] }] });
  });

  it('refuses a malformed volume at its field, and persistent, external and secret volumes by name', () => {
    const bad = parseMetronomeJob({ id: 'x', run: { cmd: 'y', docker: { image: 'i' }, volumes: [
      { containerPath: 'data', hostPath: '', mode: 'RWX' },
      { containerPath: '/p', persistent: { size: 10 }, mode: 'RW' },
      { containerPath: '/s', secret: 'db-password' },
      'tmp:/tmp',
    ] } });
    expect(bad).toEqual({ ok: false, details: [
      { path: '/run/volumes(0)/containerPath', errors: ['must be an absolute path in the container'] },
      { path: '/run/volumes(0)/hostPath', errors: ['must be a path on the agent (absolute), or relative for a directory in the task\'s sandbox'] },
      { path: '/run/volumes(0)/mode', errors: ['must be RW or RO, got "RWX"'] },
      { path: '/run/volumes(1)/persistent', errors: ['persistent volumes are not supported: use a host volume {containerPath, hostPath, mode}'] },
      { path: '/run/volumes(1)/hostPath', errors: [expect.stringMatching(/^must be a path on the agent/)] },
      { path: '/run/volumes(2)/secret', errors: ['secret volumes are not supported: use a host volume {containerPath, hostPath, mode}'] },
      { path: '/run/volumes(2)/hostPath', errors: [expect.stringMatching(/^must be a path on the agent/)] },
      { path: '/run/volumes(2)/mode', errors: [expect.stringMatching(/^must be RW or RO/)] },
      { path: '/run/volumes(3)', errors: ['expected an object {containerPath, hostPath, mode}'] },
    ] });
    expect(parseChronosJob({ name: 'x', command: 'y', parents: ['a'], container: { image: 'i', volumes: [{ containerPath: '/e', hostPath: '/e', mode: 'RW', external: { name: 'ebs' } }] } }))
      .toEqual({ ok: false, details: [{ path: '/container/volumes(0)/external', errors: ['external volumes are not supported: use a host volume {containerPath, hostPath, mode}'] }] });
    expect(parseChronosJob({ name: 'x', command: 'y', parents: ['a'], container: { image: 'i', volumes: {} } }))
      .toMatchObject({ ok: false, details: [{ path: '/container/volumes', errors: ['expected a list, got {}'] }] });
  });
});
