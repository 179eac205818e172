/** Leader election with a fencing epoch, for every replicated Agora process: see README.md. */
export { Election, type Deposed, type ElectionOptions, type Renewal } from './election';
export {
  DEFAULT_DRIFT_MARGIN, DEFAULT_LEASE_MS, electionConfig, frameworksBucket, leadersBucket, leaseTiming,
  type ElectionConfig, type ElectionTarget, type LeaseTiming, type LeaseTimingOptions,
} from './config';
export { ElectionConfigError, ElectionError, FencedError, type FenceReason } from './errors';
export type { DeposedReason } from './lease-core';
export type { Candidate, LeaderInfo } from './lease-value';
