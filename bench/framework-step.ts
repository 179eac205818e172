/** What the services and jobs runtime benches share: a driver that does nothing, and how a batch of steps is reported. */
import type { Driver } from '../frameworks/shared/driver';
import { round, type CpuFigure, type Measurement } from './harness';

/** Every call answers at once: the bench times the framework's own step, not a master. */
export const idleDriver: Driver = {
  launch: () => Promise.resolve(), decline: () => Promise.resolve(), kill: () => Promise.resolve(), acknowledge: () => Promise.resolve(),
  reconcile: () => Promise.resolve(), revive: () => Promise.resolve(), suppress: () => Promise.resolve(),
};

/** A batch of `updates` status-update steps, timed `samplesMs.length` times. */
export function stepMeasurement(bench: string, label: string, params: Record<string, number>, updates: number,
  timed: { samplesMs: number[]; medianMs: number; cpu: CpuFigure }): Measurement {
  return {
    bench, case: label, params,
    runs: timed.samplesMs.length, samplesMs: timed.samplesMs.map((x) => round(x, 2)), medianMs: round(timed.medianMs, 2),
    ops: updates, opsLabel: 'status updates', opsPerSec: Math.round(updates / (timed.medianMs / 1000)), published: [],
    cpu: { samplesMs: timed.cpu.samplesMs.map((x) => round(x, 2)), medianMs: round(timed.cpu.medianMs, 2) },
  };
}
