import fc from 'fast-check';
import { parseApp, resolveAppId, type App, type ValidationDetail } from './app';

const ok = (json: unknown): App => {
  const r = parseApp(json);
  if (!r.ok) throw new Error(`expected a valid app, got ${JSON.stringify(r.details)}`);
  return r.app;
};
const problems = (json: unknown): ValidationDetail[] => {
  const r = parseApp(json);
  if (r.ok) throw new Error('expected problems, the app was accepted');
  return r.details;
};

describe('Marathon app definitions', () => {
  it('accepts Marathon\'s own simple example and fills in Marathon\'s defaults', () => {
    const app = ok({ id: '/simple', instances: 2, cmd: 'sleep 1000', cpus: 0.1, disk: 0, mem: 16 });
    expect(app).toEqual({
      id: '/simple', cmd: 'sleep 1000', cpus: 0.1, mem: 16, disk: 0, gpus: 0, instances: 2,
      networks: [{ mode: 'host' }], portDefinitions: [{ port: 0, protocol: 'tcp' }], requirePorts: false, env: {}, labels: {},
      constraints: [], healthChecks: [], upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 1 },
      backoffSeconds: 1, backoffFactor: 1.15, maxLaunchDelaySeconds: 300, killSelection: 'YOUNGEST_FIRST',
      unreachableStrategy: { inactiveAfterSeconds: 0, expungeAfterSeconds: 0 }, dependencies: [],
    });
    expect(ok({ id: 'x', cmd: 'true' })).toMatchObject({ id: '/x', cpus: 1, mem: 128, instances: 1 });
  });

  it('reads a bridged Docker app with port mappings and a MESOS_HTTP health check on its first port', () => {
    const app = ok({
      id: '/web', instances: 3, cpus: 0.5, mem: 256, networks: [{ mode: 'container/bridge' }],
      container: { type: 'DOCKER', docker: { image: 'nginx' }, portMappings: [{ containerPort: 80, hostPort: 0 }] },
      healthChecks: [{ protocol: 'MESOS_HTTP', path: '/', portIndex: 0 }],
    });
    expect(app.container).toEqual({ type: 'DOCKER', docker: { image: 'nginx', forcePullImage: false }, portMappings: [{ containerPort: 80, hostPort: 0, servicePort: 0, protocol: 'tcp' }] });
    expect(app.portDefinitions).toEqual([]);
    expect(app.healthChecks).toEqual([{
      protocol: 'MESOS_HTTP', path: '/', portIndex: 0, gracePeriodSeconds: 300, intervalSeconds: 60, timeoutSeconds: 20, delaySeconds: 15, maxConsecutiveFailures: 3,
    }]);
  });

  it('resolves ids as paths and refuses segments Marathon refuses', () => {
    expect(resolveAppId('app', '/grp')).toBe('/grp/app');
    expect(resolveAppId('../other/app', '/grp/sub')).toBe('/grp/other/app');
    expect(resolveAppId('/a.b/c-d/./e')).toBe('/a.b/c-d/e');
    for (const bad of ['/Upper', '/-lead', '/trail-', '/sp ace', '/under_score', '/..', '/']) expect(resolveAppId(bad)).toBeUndefined();
  });

  it('reports every problem at its JSON path, not just the first', () => {
    expect(problems({
      id: '/Bad', cmd: 'x', args: ['y'], cpus: 0, instances: 1.5, mem: 'lots',
      upgradeStrategy: { minimumHealthCapacity: 2 }, killSelection: 'RANDOM',
      constraints: [['hostname', 'UNIQUE', 'x'], ['rack', 'LIKE'], ['zone', 'NEAR', 'a'], ['rack', 'MAX_PER', 'two'], ['rack', 'LIKE', '(']],
      healthChecks: [{ protocol: 'HTTP' }, { protocol: 'COMMAND' }, { protocol: 'MESOS_TCP', portIndex: 3 }],
      env: { A: 'ok', B: { secret: 'pw' } },
      unreachableStrategy: { inactiveAfterSeconds: 60, expungeAfterSeconds: 10 },
    })).toEqual([
      { path: '/id', errors: [expect.stringMatching(/'\/Bad' is not a valid app id/)] },
      { path: '/cmd', errors: ['give cmd (a shell command) or args (exec form), not both'] },
      { path: '/cpus', errors: ['must be at least 0.001, got 0'] },
      { path: '/mem', errors: ['expected a number, got "lots"'] },
      { path: '/instances', errors: ['expected a whole number, got 1.5'] },
      { path: '/env/B', errors: ['expected a string, got {"secret":"pw"} (secrets are not supported)'] },
      { path: '/constraints(0)', errors: ['UNIQUE takes no value'] },
      { path: '/constraints(1)', errors: ['LIKE needs a value'] },
      { path: '/constraints(2)', errors: ["'NEAR' is not one of UNIQUE, CLUSTER, GROUP_BY, LIKE, UNLIKE, MAX_PER, IS"] },
      { path: '/constraints(3)', errors: ["MAX_PER takes a whole number > 0, got 'two'"] },
      { path: '/constraints(4)', errors: [expect.stringMatching(/^'\(' is not a regular expression/)] },
      { path: '/healthChecks(0)/protocol', errors: ["'HTTP' is not MESOS_HTTP, MESOS_TCP or COMMAND (checks run by the agent: use MESOS_HTTP)"] },
      { path: '/healthChecks(1)/command', errors: ['a COMMAND check needs command: {"value": "…"}'] },
      { path: '/healthChecks(2)/portIndex', errors: ['the app has 1 port, so portIndex 3 names none'] },
      { path: '/upgradeStrategy/minimumHealthCapacity', errors: ['must be at most 1, got 2'] },
      { path: '/killSelection', errors: ["'RANDOM' is not YOUNGEST_FIRST or OLDEST_FIRST"] },
      { path: '/unreachableStrategy', errors: ['expungeAfterSeconds (10) must not be below inactiveAfterSeconds (60)'] },
    ]);
  });

  it('refuses a LIKE or UNLIKE pattern that RE2 cannot match in linear time: backreferences and lookaround', () => {
    expect(problems({ id: '/re', cmd: 'x', constraints: [['rack', 'LIKE', '(a)\\1'], ['zone', 'UNLIKE', '(?!eu)'], ['rack', 'LIKE', 'r[0-9]+']] })).toEqual([
      { path: '/constraints(0)', errors: [expect.stringMatching(/^'\(a\)\\1' is not a regular expression RE2 accepts \(matching runs in linear time: no backreferences, no lookahead or lookbehind\): .*invalid escape sequence/)] },
      { path: '/constraints(1)', errors: [expect.stringMatching(/^'\(\?!eu\)' is not a regular expression RE2 accepts .*unsupported Perl syntax/)] },
    ]);
    // What RE2 reads and JavaScript does not: Java's (and so Marathon's) inline flags.
    expect(ok({ id: '/re', cmd: 'x', constraints: [['zone', 'LIKE', '(?i)EU-.*']] }).constraints).toEqual([{ field: 'zone', operator: 'LIKE', value: '(?i)EU-.*' }]);
  });

  it('keeps a Docker app\'s host volumes as given (never dropped), and refuses the volumes it cannot honour by their paths', () => {
    const a = ok({ id: '/db', cmd: 'x', container: { type: 'DOCKER', docker: { image: 'i' }, volumes: [
      { containerPath: '/data', hostPath: '/srv/db', mode: 'RW' }, { containerPath: '/scratch', hostPath: 'scratch', mode: 'RO' },
    ] } });
    expect(a.container?.volumes).toEqual([{ containerPath: '/data', hostPath: '/srv/db', mode: 'RW' }, { containerPath: '/scratch', hostPath: 'scratch', mode: 'RO' }]);
    expect(problems({ id: '/db', cmd: 'x', container: { type: 'DOCKER', docker: { image: 'i' }, volumes: [
      { containerPath: 'data', hostPath: '/srv', mode: 'RW' }, { containerPath: '/p', mode: 'RW', persistent: { size: 10 } }, { containerPath: '/x', hostPath: '/x', mode: 'rw' },
    ] } })).toEqual([
      { path: '/container/volumes(0)/containerPath', errors: ['must be an absolute path in the container'] },
      { path: '/container/volumes(1)/persistent', errors: ['persistent volumes are not supported: use a host volume {containerPath, hostPath, mode}'] },
      { path: '/container/volumes(1)/hostPath', errors: ["must be a path on the agent (absolute), or relative for a directory in the task's sandbox"] },
      { path: '/container/volumes(2)/mode', errors: ['must be RW or RO, got "rw"'] },
    ]);
    expect(problems({ id: '/p', cmd: 'x', container: { type: 'MESOS', volumes: [{ containerPath: '/d', hostPath: '/d', mode: 'RO' }] } }))
      .toEqual([{ path: '/container/volumes', errors: ["volumes need a DOCKER container: a MESOS (process) task runs in the agent's own filesystem"] }]);
  });

  it('needs something to run, an image for Docker, and networks Marathon knows', () => {
    expect(problems({ id: '/nothing' })).toEqual([{ path: '/cmd', errors: ['an app needs cmd, args, or a Docker image to run'] }]);
    expect(problems({ id: '/d', container: { type: 'DOCKER' }, cmd: 'x' })).toEqual([
      { path: '/container/docker', errors: ['a DOCKER container needs docker: {"image": …}'] },
    ]);
    expect(problems({ id: '/n', cmd: 'x', networks: [{ mode: 'overlay' }] })).toEqual([
      { path: '/networks(0)/mode', errors: ["'overlay' is not host, container/bridge or container"] },
    ]);
    expect(problems({ id: '/p', cmd: 'x', networks: [{ mode: 'container/bridge' }], portDefinitions: [{ port: 80 }] })[0]?.path).toBe('/portDefinitions');
    expect(problems('just a string')).toEqual([{ path: '/', errors: ['expected a JSON object'] }]);
  });

  it('keeps constraints, dependencies resolved against the app\'s group, and the other fields as given', () => {
    const app = ok({
      id: '/prod/api', cmd: 'serve', constraints: [['hostname', 'UNIQUE'], ['rack', 'GROUP_BY', '3'], ['zone', 'LIKE', 'eu-.*']],
      dependencies: ['db', '/shared/cache'], unreachableStrategy: 'disabled', taskKillGracePeriodSeconds: 30, user: 'nobody',
      labels: { team: 'x' }, env: { MODE: 'prod' }, killSelection: 'OLDEST_FIRST', requirePorts: true,
      portDefinitions: [{ port: 8080, name: 'http' }, { port: 0, protocol: 'udp' }],
    });
    expect(app.constraints).toEqual([
      { field: 'hostname', operator: 'UNIQUE' }, { field: 'rack', operator: 'GROUP_BY', value: '3' }, { field: 'zone', operator: 'LIKE', value: 'eu-.*' },
    ]);
    expect(app.dependencies).toEqual(['/prod/db', '/shared/cache']);
    expect(app).toMatchObject({ unreachableStrategy: 'disabled', taskKillGracePeriodSeconds: 30, user: 'nobody', killSelection: 'OLDEST_FIRST', requirePorts: true });
    expect(app.portDefinitions).toEqual([{ port: 8080, protocol: 'tcp', name: 'http' }, { port: 0, protocol: 'udp' }]);
  });

  it('refuses a field of the wrong type or out of range at its JSON path, saying what was expected and what was there', () => {
    expect(problems({
      id: '/web', cmd: 'serve', requirePorts: 'yes', labels: { tier: 1 },
      container: { type: 'DOCKER', docker: { image: 5, forcePullImage: 'always' }, portMappings: [{ containerPort: 80, protocol: 'sctp' }] },
      healthChecks: [{ protocol: 'MESOS_TCP', intervalSeconds: '10', maxConsecutiveFailures: -1 }, 'check'],
    })).toEqual([
      { path: '/container/docker/image', errors: ['expected a string, got 5'] },
      { path: '/container/docker/forcePullImage', errors: ['expected true or false, got "always"'] },
      { path: '/container/portMappings(0)/protocol', errors: ["'sctp' is not tcp or udp"] },
      { path: '/requirePorts', errors: ['expected true or false, got "yes"'] },
      { path: '/labels/tier', errors: ['expected a string, got 1'] },
      { path: '/healthChecks(0)/intervalSeconds', errors: ['expected a number, got "10"'] },
      { path: '/healthChecks(0)/maxConsecutiveFailures', errors: ['must be at least 0, got -1'] },
      { path: '/healthChecks(1)', errors: ['expected an object'] },
    ]);
  });

  it('ignores fields it does not know, as Marathon does, and takes null as "not given" where Marathon\'s clients send it', () => {
    const plain = ok({ id: '/web', cmd: 'serve', container: { type: 'DOCKER', docker: { image: 'nginx' } } });
    expect(ok({
      id: '/web', cmd: 'serve', container: { type: 'DOCKER', docker: { image: 'nginx', privileged: true, parameters: [] } },
      fetch: [{ uri: 'https://example.com/x.tgz' }], readinessChecks: [], version: '2026-01-01T00:00:00.000Z', someFutureField: { x: 1 },
      args: null, user: null, env: null, labels: null, constraints: null, healthChecks: null, dependencies: null, unreachableStrategy: null,
    })).toEqual(plain);
  });

  it('refuses an id ending in a word the API uses after app ids (restart, tasks, versions), and takes one that only contains it', () => {
    for (const word of ['restart', 'tasks', 'versions']) {
      expect(parseApp({ id: `/shop/${word}`, cmd: 'x' })).toEqual({ ok: false, details: [{ path: '/id', errors: [expect.stringContaining('ends in a word the API')] }] });
    }
    expect(parseApp({ id: '/tasks/worker', cmd: 'x' }).ok).toBe(true);
  });

  it('answers any JSON with an app or problems by path, never a crash: the checks after the schema read only what it passed', () => {
    const full = {
      id: '/shop/web', cmd: 'serve', instances: 2, networks: [{ mode: 'container/bridge' }],
      container: { type: 'DOCKER', docker: { image: 'nginx' }, portMappings: [{ containerPort: 80 }], volumes: [{ containerPath: '/d', hostPath: 'd', mode: 'RW' }] },
      constraints: [['zone', 'LIKE', 'eu-.*'], ['hostname', 'MAX_PER', '2']], healthChecks: [{ protocol: 'MESOS_HTTP', portIndex: 0 }, { protocol: 'COMMAND', command: { value: 'true' } }],
      upgradeStrategy: { minimumHealthCapacity: 0.5 }, unreachableStrategy: { inactiveAfterSeconds: 1, expungeAfterSeconds: 2 }, dependencies: ['db'], env: { A: 'b' },
    };
    const keys = Object.keys(full) as (keyof typeof full)[];
    // A field of the app replaced by any JSON, or an item or field inside it.
    const replaced = fc.tuple(fc.constantFrom(...keys), fc.jsonValue({ maxDepth: 3 }), fc.option(fc.oneof(fc.nat(2), fc.string({ maxLength: 8 })))).map(([key, value, inner]) => {
      const app: Record<string, unknown> = structuredClone(full);
      const at = app[key];
      if (inner === null || typeof at !== 'object' || at === null) app[key] = value;
      else (at as Record<string | number, unknown>)[inner] = value;
      return app;
    });
    fc.assert(fc.property(replaced, (json) => {
      const r = parseApp(json);
      if (!r.ok) for (const d of r.details) expect(d.path).toMatch(/^\//);
    }));
  });
});
