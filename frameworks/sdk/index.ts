/** The Agora scheduler SDK: write a framework in TypeScript. See README.md beside this file. */
export { Scheduler, subscribe, type DeclineOptions, type SchedulerEvents } from './client';
export { type SubscribeOptions, type ReconnectOptions } from './options';
export { SchedulerCallError, SubscriptionError, InvalidArgumentError } from './errors';
export { task, fit, pickPorts, taskResources, type TaskSpec } from './tasks';
export { masterAddress, grpcAddress, DEFAULT_MASTER, type MasterAddress } from './master-address';
export { isTerminal } from '../../common/types';
export type { Offer, TaskInfo, TaskStatus, TaskState, SchedulerEvent, FrameworkInfo, Filters } from '../../common/types';
export * as resources from '../../common/resources';
