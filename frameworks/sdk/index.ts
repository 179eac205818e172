/**
 * The Agora scheduler SDK: write a framework in TypeScript. Everything a framework needs is
 * exported from here, and nothing else; see README.md beside this file.
 */
export { subscribe, Scheduler, type DeclineOptions, type SchedulerEvents } from './client';
export type { SubscribeOptions, ReconnectOptions } from './options';
export { SchedulerCallError, SubscriptionError, InvalidArgumentError, SandboxReadError } from './errors';
export { MAX_SANDBOX_READ_BYTES, type SandboxRange, type SandboxChunk } from './sandbox';
export { task, fit, pickPorts, portEnv, taskResources, type TaskSpec } from './tasks';
export { pack, type Packing, type Unplaced } from './pack';
export { matchAttributes, type AttributeConstraint, type Constraints, type Match } from './placement';
export { isTerminal } from '../../common/types';
export type { Offer, TaskInfo, TaskStatus, TaskState, SchedulerEvent, FrameworkInfo, Filters, ClusterAgent } from '../../common/types';
export * as resources from '../../common/resources';
