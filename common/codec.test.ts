import { parse } from './resources';
import { pb } from './proto';
import { frameworkInfoFromWire, frameworkInfoToWire, taskInfoFromWire, taskInfoToWire, taskStatusFromWire, taskStatusToWire } from './codec';
import type { FrameworkInfo, TaskInfo, TaskStatus } from './types';

/** Through the real protobuf encoder and decoder, as a task travels master → agent. */
const overTheWire = (t: TaskInfo): TaskInfo =>
  taskInfoFromWire(pb.TaskInfo.toObject(pb.TaskInfo.decode(pb.TaskInfo.encode(pb.TaskInfo.fromObject(taskInfoToWire(t))).finish()), { defaults: false }));

const base: TaskInfo = {
  taskId: 't1', name: 't1', agentId: 'a1', resources: parse('cpus:0.5;mem:64'),
  command: { value: 'sleep 1', argv: [], environment: {}, user: '' },
  container: { type: 'DOCKER', docker: { image: 'agora/busybox:latest', portMappings: [], forcePullImage: false } },
  labels: {},
};

describe('task codec', () => {
  it('carries volumes (sandbox-relative and host paths, RW and RO), the user and the working directory', () => {
    const t: TaskInfo = {
      ...base,
      command: { ...base.command, user: 'nobody', workingDirectory: '/data' },
      container: {
        ...base.container,
        volumes: [
          { containerPath: '/data', hostPath: 'data', mode: 'RW' },
          { containerPath: '/etc/conf', hostPath: '/etc/agora-conf', mode: 'RO' },
        ],
      },
    };
    const back = overTheWire(t);
    expect(back.container.volumes).toEqual(t.container.volumes);
    expect(back.command.user).toBe('nobody');
    expect(back.command.workingDirectory).toBe('/data');
  });

  it('leaves volumes and the working directory out when none were given', () => {
    const back = overTheWire(base);
    expect(back.container.volumes).toBeUndefined();
    expect(back.command.workingDirectory).toBeUndefined();
    expect(back.container.docker?.image).toBe('agora/busybox:latest');
  });
});

describe('task status codec', () => {
  const status: TaskStatus = {
    taskId: 't1', state: 'TASK_RUNNING', message: 'GET http://127.0.0.1:31000/: HTTP 200', source: 'SOURCE_EXECUTOR',
    reason: 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED', agentId: 'a1', frameworkId: 'f1', uuid: 'u1', timestampMs: 1_700_000_000_000, containerId: 'c1',
  };
  const overTheWire = (s: TaskStatus): TaskStatus =>
    taskStatusFromWire(pb.TaskStatus.toObject(pb.TaskStatus.decode(pb.TaskStatus.encode(pb.TaskStatus.fromObject(taskStatusToWire(s))).finish()), { defaults: false }));

  it('carries healthy true and false, and leaves it unset when the task has no health news', () => {
    expect(overTheWire({ ...status, healthy: true })).toEqual({ ...status, healthy: true });
    expect(overTheWire({ ...status, healthy: false })).toEqual({ ...status, healthy: false });
    expect(overTheWire(status).healthy).toBeUndefined();
  });
});

describe('framework info codec', () => {
  const info: FrameworkInfo = {
    id: 'fw-1', name: 'agora-services', roles: ['*'], failoverTimeoutMs: 60_000, capabilities: ['PARTITION_AWARE'],
    principal: '', user: '', hostname: '', labels: {},
  };
  /** Through the real protobuf encoder and decoder, as a Subscribe travels scheduler → master. */
  const overTheWire = (f: FrameworkInfo): FrameworkInfo =>
    frameworkInfoFromWire(pb.FrameworkInfo.toObject(pb.FrameworkInfo.decode(pb.FrameworkInfo.encode(pb.FrameworkInfo.fromObject(frameworkInfoToWire(f))).finish()), { defaults: false }));

  it('carries the web UI URL (webui_url = 10)', () => {
    expect(overTheWire({ ...info, webuiUrl: 'http://127.0.0.1:8080/ui/' })).toEqual({ ...info, webuiUrl: 'http://127.0.0.1:8080/ui/' });
  });

  it('leaves the web UI URL unset when the framework gave none (not an empty string the master would refuse)', () => {
    const back = overTheWire(info);
    expect(back).toEqual(info);
    expect('webuiUrl' in back).toBe(false);
  });
});
