/**
 * What a run's Docker container is created with: its name and labels, command, user,
 * environment, limits, ports and mounts. Pure but for `giveSandboxTo`, which hands the
 * sandbox to a numeric task user before the container is created.
 */
import type Docker from 'dockerode';
import { chownSync } from 'fs';
import { join } from 'path';
import { scalar } from '../../common/resources';
import type { NetworkMode, PortMapping } from '../../common/types';
import { commandLine, LaunchError, type LaunchSpec } from './containerizer';
import type { ResolvedVolume } from './volumes';

export const LABELS = {
  agentId: 'agora.agent-id',
  frameworkId: 'agora.framework-id',
  taskId: 'agora.task-id',
  containerId: 'agora.container-id',
} as const;

/** Where the sandbox is mounted inside the container (also in $AGORA_SANDBOX). */
export const CONTAINER_SANDBOX = '/mnt/agora/sandbox';

const MB = 1024 * 1024;

/** The Docker container name of a run: readable in `docker ps`, unique by container id. */
export function containerName(taskId: string, containerId: string): string {
  return `agora-${taskId.replace(/[^a-zA-Z0-9_.-]/g, '_').slice(0, 63)}-${containerId}`;
}

/** `user`: who the task runs as ('' for the image's own user); `workDir`: its directory inside the container. */
export function createOptions(spec: LaunchSpec, image: string, user: string, workDir: string, volumes: ResolvedVolume[]): Docker.ContainerCreateOptions {
  const argv = commandLine(spec.task);
  const shell = spec.task.command.value !== '';
  const docker = spec.task.container.docker;
  const env = { ...spec.env, AGORA_SANDBOX: CONTAINER_SANDBOX, ...spec.task.command.environment, ...spec.task.command.secrets };
  const { exposed, bindings } = portBindings(docker?.portMappings ?? []);
  return {
    name: containerName(spec.taskId, spec.containerId),
    Image: image,
    // Shell form: `/bin/sh -c value` whatever the image's entrypoint. Exec form: argv as
    // the image's command. Neither: the image's own default command.
    ...(shell && argv ? { Entrypoint: argv.slice(0, 2), Cmd: argv.slice(2) } : argv ? { Cmd: argv } : {}),
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    ...(user ? { User: user } : {}),
    // The sandbox is the working directory only when one is asked for: otherwise the
    // image's own, as Docker users expect.
    ...(spec.task.command.workingDirectory ? { WorkingDir: workDir } : {}),
    Labels: {
      // The task's labels, except that the agent's own always say whose container it is.
      ...spec.task.labels,
      [LABELS.agentId]: spec.agentId,
      [LABELS.frameworkId]: spec.frameworkId,
      [LABELS.taskId]: spec.taskId,
      [LABELS.containerId]: spec.containerId,
    },
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    ExposedPorts: exposed,
    HostConfig: {
      // The shell form gets an init as PID 1 to forward SIGTERM: a shell as PID 1 ignores
      // it, so every kill would wait out the grace period. The exec form runs as PID 1
      // itself, as Docker users expect, and a binary missing from the image then fails
      // at start (a launch failure) instead of as an init's exit code 127.
      Init: shell,
      NetworkMode: networkMode(docker?.network),
      PortBindings: bindings,
      Binds: [`${spec.sandboxDir}:${CONTAINER_SANDBOX}`, ...volumes.map((v) => `${v.hostPath}:${v.containerPath}:${v.readOnly ? 'ro' : 'rw'}`)],
      ...limits(spec),
    },
  };
}

/** `cpus` as a CFS quota (NanoCpus), `mem` as a hard limit with no extra swap. */
function limits(spec: LaunchSpec): { NanoCpus?: number; Memory?: number; MemorySwap?: number } {
  const cpus = scalar(spec.task.resources, 'cpus');
  const memMb = scalar(spec.task.resources, 'mem');
  return {
    ...(cpus > 0 ? { NanoCpus: Math.round(cpus * 1e9) } : {}),
    ...(memMb > 0 ? { Memory: Math.round(memMb * MB), MemorySwap: Math.round(memMb * MB) } : {}),
  };
}

/** Each mapping's container port exposed and published on its host port. */
function portBindings(mappings: readonly PortMapping[]) {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostPort: string }[]> = {};
  for (const m of mappings) {
    const key = `${m.containerPort}/${m.protocol}`;
    exposed[key] = {};
    bindings[key] = [...(bindings[key] ?? []), { HostPort: String(m.hostPort) }];
  }
  return { exposed, bindings };
}

function networkMode(mode: NetworkMode | undefined): string {
  switch (mode) {
    case 'HOST': return 'host';
    case 'NONE': return 'none';
    default: return 'bridge';
  }
}

/**
 * A task run as a numeric `uid[:gid]` gets its sandbox (and the volume directories made in
 * it), so it can write there as a root task can. A user name means whatever the image's
 * passwd file says, which the agent does not read: that sandbox stays the agent's.
 */
export function giveSandboxTo(user: string, sandboxDir: string, volumes: ResolvedVolume[]): void {
  const m = /^(\d+)(?::(\d+))?$/.exec(user);
  if (!m) return;
  const uid = Number(m[1]);
  const gid = m[2] === undefined ? uid : Number(m[2]);
  const paths = [sandboxDir, join(sandboxDir, 'stdout'), join(sandboxDir, 'stderr'), ...volumes.filter((v) => v.inSandbox).map((v) => v.hostPath)];
  try {
    for (const p of paths) chownSync(p, uid, gid);
  } catch (err) {
    throw new LaunchError(`cannot give the sandbox to user ${user}: ${(err as Error).message}`, { cause: err });
  }
}
