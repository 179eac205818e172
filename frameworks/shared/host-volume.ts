/**
 * A host volume as the framework APIs take it: Marathon's `container.volumes`, Metronome's
 * `run.volumes` and Chronos's `container.volumes` all write `{containerPath, hostPath, mode}`.
 * One JSON Schema for the three, so that they check and word a volume alike.
 *
 * `hostPath` is a path on the agent (absolute), or relative for a directory in the task's
 * sandbox (the agent resolves it, agent/containerizer/volumes.ts); whether a framework may
 * mount an absolute one is the master's ACLs' to say (host_volumes). Persistent, external and
 * secret volumes are refused by name, never dropped: a task without the volume it asked for
 * would run against the wrong disk.
 */
import { Type, type Static } from '@sinclair/typebox';
import { choice, refused } from '../../common/json-schema';

const NOT_SUPPORTED = 'volumes are not supported: use a host volume {containerPath, hostPath, mode}';

export const HostVolume = Type.Object({
  persistent: Type.Optional(refused(`persistent ${NOT_SUPPORTED}`)),
  external: Type.Optional(refused(`external ${NOT_SUPPORTED}`)),
  secret: Type.Optional(refused(`secret ${NOT_SUPPORTED}`)),
  containerPath: Type.String({ pattern: '^/', message: 'must be an absolute path in the container' }),
  hostPath: Type.String({ minLength: 1, pattern: '^[^\\u0000]*$', message: 'must be a path on the agent (absolute), or relative for a directory in the task\'s sandbox' }),
  mode: choice(['RW', 'RO'], { message: 'must be RW or RO, got {value}' }),
}, { message: { type: 'expected an object {containerPath, hostPath, mode}' } });

export type HostVolumeJson = Static<typeof HostVolume>;
