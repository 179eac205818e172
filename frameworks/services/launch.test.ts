import { format, parse } from '../../common/resources';
import type { Offer } from '../../common/types';
import { parseApp, type App } from './app';
import { appIdOfTask, NEVER_KILL, taskFor, taskIdOf } from './launch';

const app = (json: Record<string, unknown>): App => {
  const r = parseApp({ id: '/shop/web', ...json });
  if (!r.ok) throw new Error(JSON.stringify(r.details));
  return r.app;
};
const offer = (resources = 'cpus:2;mem:1024;disk:100;ports:[31000-31005]'): Offer => ({
  id: 'offer-1', frameworkId: 'fw', agentId: 'agent-1', hostname: 'node-1', role: '*', attributes: {}, resources: parse(resources),
});

describe('an instance as a task', () => {
  it('runs a host-networked command with host ports picked from the offer and Marathon\'s environment', () => {
    const a = app({ cmd: 'serve', cpus: 0.5, mem: 64, portDefinitions: [{ port: 0, name: 'http' }, { port: 0 }], env: { MODE: 'x' }, labels: { team: 't' } });
    const r = taskFor(a, 'v1', offer(), 'abc');
    if (!r.ok) throw new Error(r.reason);
    expect(r.hostPorts).toEqual([31000, 31001]);
    expect(r.task).toMatchObject({ taskId: 'shop_web.abc', name: 'web.shop', agentId: 'agent-1', container: { type: 'PROCESS' }, labels: { team: 't' } });
    expect(format(r.task.resources)).toBe('cpus:0.5;mem:64;ports:[31000-31001]');
    expect(r.task.command.value).toBe('serve');
    expect(r.task.command.environment).toEqual({
      HOST: 'node-1', PORTS: '31000,31001', PORT0: '31000', PORT1: '31001', PORT_HTTP: '31000',
      MARATHON_APP_ID: '/shop/web', MARATHON_APP_VERSION: 'v1', MESOS_TASK_ID: 'shop_web.abc', AGORA_APP_ID: '/shop/web', AGORA_APP_VERSION: 'v1', MODE: 'x',
    });
  });

  it('maps a bridged Docker app\'s container ports to picked host ports, its health check on the container port', () => {
    const a = app({
      networks: [{ mode: 'container/bridge' }], taskKillGracePeriodSeconds: 5,
      container: { type: 'DOCKER', docker: { image: 'agora/busybox:latest' }, portMappings: [{ containerPort: 80, hostPort: 0 }, { containerPort: 9000, hostPort: 31004 }] },
      healthChecks: [{ protocol: 'MESOS_HTTP', path: '/health', portIndex: 0, gracePeriodSeconds: 10, intervalSeconds: 2, timeoutSeconds: 1, delaySeconds: 0, maxConsecutiveFailures: 2 }],
    });
    const r = taskFor(a, 'v2', offer(), 'i1');
    if (!r.ok) throw new Error(r.reason);
    expect(r.task.container).toEqual({
      type: 'DOCKER', docker: { image: 'agora/busybox:latest', network: 'BRIDGE', forcePullImage: false, portMappings: [
        { hostPort: 31000, containerPort: 80, protocol: 'tcp' }, { hostPort: 31004, containerPort: 9000, protocol: 'tcp' },
      ] },
    });
    // delay 0 goes as 1 ms: on the wire 0 would mean the 15 s default.
    expect(r.task.healthCheck).toEqual({ type: 'HTTP', port: 80, path: '/health', delayMs: 1, intervalMs: 2000, timeoutMs: 1000, consecutiveFailures: 2, gracePeriodMs: 10_000 });
    expect(r.task.killPolicy).toEqual({ gracePeriodMs: 5000 });
  });

  it('runs a Docker app in Marathon\'s default host networking bridged, each host port published at the same port inside: no host network needed', () => {
    const a = app({ cmd: 'httpd -f -p $PORT0', cpus: 0.1, mem: 16, container: { type: 'DOCKER', docker: { image: 'agora/busybox:latest' } }, portDefinitions: [{ port: 0 }, { port: 0, protocol: 'udp' }] });
    expect(a.networks).toEqual([{ mode: 'host' }]);
    const r = taskFor(a, 'v1', offer(), 'abc');
    if (!r.ok) throw new Error(r.reason);
    expect(r.task.container.docker).toEqual({
      image: 'agora/busybox:latest', network: 'BRIDGE', forcePullImage: false,
      portMappings: [{ hostPort: 31000, containerPort: 31000, protocol: 'tcp' }, { hostPort: 31001, containerPort: 31001, protocol: 'udp' }],
    });
    expect(r.task.command.environment.PORT0).toBe('31000');
  });

  it('passes a Docker app\'s host volumes to its task as they are, for the master\'s ACLs to judge', () => {
    const a = app({ cmd: 'x', cpus: 0.1, mem: 16, portDefinitions: [], container: { type: 'DOCKER', docker: { image: 'i' }, volumes: [{ containerPath: '/data', hostPath: '/srv/db', mode: 'RO' }] } });
    const r = taskFor(a, 'v1', offer(), 'abc');
    if (!r.ok) throw new Error(r.reason);
    expect(r.task.container.volumes).toEqual([{ containerPath: '/data', hostPath: '/srv/db', mode: 'RO' }]);
  });

  it('sends maxConsecutiveFailures 0 as never kill, and a zero grace period as 1 ms', () => {
    const r = taskFor(app({ cmd: 'x', healthChecks: [{ protocol: 'COMMAND', command: { value: 'true' }, gracePeriodSeconds: 0, maxConsecutiveFailures: 0 }] }), 'v1', offer(), 'i');
    if (!r.ok) throw new Error(r.reason);
    expect(r.task.healthCheck).toMatchObject({ type: 'COMMAND', consecutiveFailures: NEVER_KILL, gracePeriodMs: 1, delayMs: 15_000 });
    expect(NEVER_KILL).toBe(4_294_967_295);
  });

  it('says why an offer cannot take an instance: too small, or without the host ports', () => {
    const small = taskFor(app({ cmd: 'x', cpus: 4 }), 'v1', offer(), 'i');
    expect(small).toEqual({ ok: false, kind: 'InsufficientCpus', reason: 'offer offer-1 on node-1 has cpus:2;disk:100;mem:1024;ports:[31000-31005], an instance needs cpus:4;mem:128' });
    const literal = taskFor(app({ cmd: 'x', requirePorts: true, portDefinitions: [{ port: 8080 }] }), 'v1', offer(), 'i');
    expect(literal).toEqual({ ok: false, kind: 'InsufficientPorts', reason: 'offer offer-1 on node-1 has not the 1 host port needed (8080)' });
  });

  it('names the resource an offer is short of as Marathon does', () => {
    const r = taskFor(app({ cmd: 'x', cpus: 1, mem: 4096 }), 'v1', offer(), 'i');
    expect(r).toMatchObject({ ok: false, kind: 'InsufficientMemory' });
    expect(taskFor(app({ cmd: 'x', cpus: 1, disk: 500 }), 'v1', offer(), 'i')).toMatchObject({ ok: false, kind: 'InsufficientDisk' });
  });

  it('turns app ids into task ids and back', () => {
    expect(taskIdOf('/a.b/c-d/e', 'uuid-1')).toBe('a.b_c-d_e.uuid-1');
    expect(appIdOfTask('a.b_c-d_e.uuid-1')).toBe('/a.b/c-d/e');
    expect(appIdOfTask('nodot')).toBeUndefined();
  });
});
