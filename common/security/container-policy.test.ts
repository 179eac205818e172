import type { ContainerInfo, Volume } from '../types';
import { defaultAcls, PermissionDenied, type Principal } from './acl';
import { parseAcls } from './acl-parse';
import { checkLaunch, containerNeeds, HostPathError, launchRefusal, type LaunchRequest } from './container-policy';

const web: Principal = { name: 'web', kind: 'framework' };
const defaults = parseAcls(defaultAcls({ frameworks: [{ principal: 'web', roles: ['web'] }] }));

const volume = (hostPath: string): Volume => ({ hostPath, containerPath: '/mnt', mode: 'RW' });
const task = (o: { user?: string; volumes?: Volume[]; network?: 'HOST' | 'BRIDGE' | 'NONE' } = {}): LaunchRequest => {
  const container: ContainerInfo = { type: 'DOCKER', volumes: o.volumes ?? [], docker: { image: 'busybox', network: o.network, portMappings: [], forcePullImage: false } };
  return { command: { user: o.user ?? '' }, container };
};
/** The defaults with `extra` granted to web ahead of them. */
const granting = (extra: Record<string, unknown[]>): ReturnType<typeof parseAcls> => {
  const json = defaultAcls({ frameworks: [{ principal: 'web', roles: ['web'] }] }) as Record<string, unknown[]>;
  for (const [action, rules] of Object.entries(extra)) json[action] = [...rules, ...(json[action] ?? [])];
  return parseAcls(json);
};

describe('what a launch needs', () => {
  it('a plain task needs only to run as the default user', () => {
    expect(containerNeeds(task(), 'nobody')).toEqual({ privileged: false, hostNetwork: false, hostPaths: [], user: 'nobody' });
  });

  it("the task's own user wins over the default", () => {
    expect(containerNeeds(task({ user: 'app' }), 'nobody').user).toBe('app');
  });

  it.each(['root', '0', '0:0', '00', 'root:wheel', '0:1000'])('uid 0 spelled %s is asked about as root', (user) => {
    expect(containerNeeds(task({ user }), 'nobody').user).toBe('root');
  });

  it('a user with a group is asked about as written, so a grant of nobody does not cover nobody:0', () => {
    expect(containerNeeds(task({ user: 'nobody:0' }), 'nobody').user).toBe('nobody:0');
    expect(launchRefusal(defaults, web, task({ user: 'nobody:0' }), 'nobody')).toBeInstanceOf(PermissionDenied);
  });

  it('docker network HOST needs the host network; BRIDGE and NONE do not', () => {
    expect(containerNeeds(task({ network: 'HOST' }), 'nobody').hostNetwork).toBe(true);
    expect(containerNeeds(task({ network: 'BRIDGE' }), 'nobody').hostNetwork).toBe(false);
    expect(containerNeeds(task({ network: 'NONE' }), 'nobody').hostNetwork).toBe(false);
  });

  it('absolute host paths are needed clean and once; sandbox-relative ones need nothing', () => {
    const needs = containerNeeds(task({ volumes: [volume('/srv//data/'), volume('data'), volume('/srv/data'), volume('./a/../b'), volume('/x/./y/..')] }), 'nobody');
    expect(needs.hostPaths).toEqual(['/srv/data', '/x']);
  });

  it.each(['/var/run/docker.sock', '/run/docker.sock', '/run', '/var/run/', '/', '/var//run/docker.sock'])(
    'mounting %s hands over the Docker socket, so it needs privileged', (hostPath) => {
      expect(containerNeeds(task({ volumes: [volume(hostPath)] }), 'nobody').privileged).toBe(true);
    });

  it('other paths near the socket do not', () => {
    expect(containerNeeds(task({ volumes: [volume('/run/user'), volume('/var/run-data')] }), 'nobody').privileged).toBe(false);
  });

  it.each([
    ['../etc', /leads out of the sandbox/],
    ['a/../../etc', /leads out of the sandbox/],
    ['/data\0/x', /may not contain NUL/],
  ])('refuses the host path %j outright', (hostPath, why) => {
    const t = task({ volumes: [volume('/ok'), volume(hostPath)] });
    expect(() => containerNeeds(t, 'nobody')).toThrow(HostPathError);
    expect(() => containerNeeds(t, 'nobody')).toThrow(why);
    const refusal = launchRefusal(defaults, web, t, 'nobody');
    expect(refusal).toBeInstanceOf(HostPathError);
    expect((refusal as HostPathError).volumeIndex).toBe(1);
  });
});

describe('the default ACLs refuse a framework what reaches past its container, and a grant allows it', () => {
  it('a plain task as nobody is allowed', () => {
    expect(launchRefusal(defaults, web, task(), 'nobody')).toBeUndefined();
    expect(() => checkLaunch(defaults, web, task(), 'nobody')).not.toThrow();
  });

  it('root is refused, and allowed by a run_tasks grant of root', () => {
    expect(() => checkLaunch(defaults, web, task({ user: '0' }), 'nobody'))
      .toThrow("principal 'web' may not run_tasks as user 'root': no ACL rule allows it (permissive: false)");
    const acls = granting({ run_tasks: [{ principals: { values: ['web'] }, users: { values: ['root'] } }] });
    expect(launchRefusal(acls, web, task({ user: '0' }), 'nobody')).toBeUndefined();
  });

  it('a default user of root is checked like any other', () => {
    expect(launchRefusal(defaults, web, task(), 'root')).toMatchObject({ action: 'run_tasks', object: 'root' });
  });

  it('the docker socket is refused as privileged, and allowed with privileged and the path granted', () => {
    const t = task({ volumes: [volume('/var/run/docker.sock')] });
    expect(launchRefusal(defaults, web, t, 'nobody')).toMatchObject({ action: 'privileged', message: "principal 'web' may not privileged: no ACL rule allows it (permissive: false)" });
    const onlyPrivileged = granting({ privileged: [{ principals: { values: ['web'] } }] });
    expect(launchRefusal(onlyPrivileged, web, t, 'nobody')).toMatchObject({ action: 'host_volumes', object: '/var/run/docker.sock' });
    const both = granting({ privileged: [{ principals: { values: ['web'] } }], host_volumes: [{ principals: { values: ['web'] }, paths: { values: ['/var/run/docker.sock'] } }] });
    expect(launchRefusal(both, web, t, 'nobody')).toBeUndefined();
  });

  it('the host network is refused, and allowed by a host_network grant', () => {
    const t = task({ network: 'HOST' });
    expect(launchRefusal(defaults, web, t, 'nobody')).toMatchObject({ action: 'host_network' });
    expect(launchRefusal(granting({ host_network: [{ principals: { groups: ['frameworks'] } }] }), web, t, 'nobody')).toBeUndefined();
  });

  it('a host path is refused, and allowed under a granted prefix only', () => {
    const acls = granting({ host_volumes: [{ principals: { values: ['web'] }, paths: { values: ['/srv/data'] } }] });
    const inside = task({ volumes: [volume('/srv/data/web')] });
    const beside = task({ volumes: [volume('/srv/data/web'), volume('/srv/database')] });
    expect(launchRefusal(defaults, web, inside, 'nobody')).toMatchObject({ action: 'host_volumes', object: '/srv/data/web' });
    expect(launchRefusal(acls, web, inside, 'nobody')).toBeUndefined();
    expect(() => checkLaunch(acls, web, beside, 'nobody')).toThrow("principal 'web' may not host_volumes for host path '/srv/database': no ACL rule allows it (permissive: false)");
  });

  it('the first refusal is the user, then privileged, host network, and host paths in volume order', () => {
    const t = task({ user: 'root', network: 'HOST', volumes: [volume('/a'), volume('/run/docker.sock')] });
    const order: string[] = [];
    let extra: Record<string, unknown[]> = {};
    for (;;) {
      const refusal = launchRefusal(granting(extra), web, t, 'nobody');
      if (!(refusal instanceof PermissionDenied)) break;
      order.push(refusal.object === undefined ? refusal.action : `${refusal.action} ${String(refusal.object)}`);
      const field = { run_tasks: 'users', host_volumes: 'paths' }[refusal.action as string];
      const grant = field ? { principals: { values: ['web'] }, [field]: { type: 'ANY' } } : { principals: { values: ['web'] } };
      extra = { ...extra, [refusal.action]: [...(extra[refusal.action] ?? []), grant] };
    }
    expect(order).toEqual(['run_tasks root', 'privileged', 'host_network', 'host_volumes /a']);
  });
});
