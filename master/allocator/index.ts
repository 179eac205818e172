/**
 * The allocator: a pure function from a snapshot of the cluster to offer decisions.
 * See README.md for the pipeline and its words.
 */
export { allocate, type AllocatorOptions } from './allocate';
export {
  DrfSorter, RandomSorter, drfSorter, randomSorter, sorterFactory,
  type Sorter, type SorterContext, type SorterFactory, type SorterKind,
} from './sorter';
export type {
  AgentSnapshot, AllocationSnapshot, FrameworkSnapshot, OfferDecision, OfferFilter,
} from './types';
