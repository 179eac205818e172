/**
 * Where a Docker-bound phase spends its time: every Engine API call made through dockerode in
 * this process (the agent's and the bench's own, since both use the same module) is timed,
 * and a phase's calls are summed up by method. For finding what the agent adds to a launch or
 * a destroy; off unless AGORA_BENCH_TRACE=1, so that the timed runs carry no extra work.
 */
import Docker from 'dockerode';
import { performance } from 'perf_hooks';
import { percentile, round } from './harness';

interface Call {
  method: string;
  startMs: number;
  endMs: number;
}

type Methods = Record<string, (...args: unknown[]) => unknown>;

/** The calls a launch or a destroy makes, on the agent's path or the bench's. */
const TRACED: readonly [Methods, string, readonly string[]][] = [
  [Docker.prototype as unknown as Methods, 'docker', ['createContainer', 'listContainers']],
  [Docker.Container.prototype as unknown as Methods, 'container', ['attach', 'start', 'stop', 'wait', 'inspect', 'remove']],
  [Docker.Image.prototype as unknown as Methods, 'image', ['inspect']],
];

export class DockerTrace {
  private calls: Call[] = [];

  /** Wraps the traced dockerode methods for the rest of the process. */
  static install(): DockerTrace {
    const trace = new DockerTrace();
    for (const [proto, owner, names] of TRACED) {
      for (const name of names) {
        const original = proto[name] as (...args: unknown[]) => unknown;
        proto[name] = function traced(this: unknown, ...args: unknown[]): unknown {
          const startMs = performance.now();
          const result = original.apply(this, args);
          if (result && typeof (result as Promise<unknown>).then === 'function') {
            const record = () => { trace.calls.push({ method: `${owner}.${name}`, startMs, endMs: performance.now() }); };
            (result as Promise<unknown>).then(record, record);
          }
          return result;
        };
      }
    }
    return trace;
  }

  /** Forgets the calls so far: the next summary covers only what follows. */
  reset(): void {
    this.calls = [];
  }

  /**
   * One line per method: how many calls ended since the last reset, their mean, p50 and p99,
   * and the sum of their durations. A long-lived call (`wait` on a running container) counts
   * from when it was made to when the container exited.
   */
  summary(): string[] {
    const byMethod = new Map<string, number[]>();
    for (const c of this.calls) byMethod.set(c.method, [...(byMethod.get(c.method) ?? []), c.endMs - c.startMs]);
    return [...byMethod].sort(([a], [b]) => a.localeCompare(b)).map(([method, ms]) => {
      const sum = ms.reduce((a, b) => a + b, 0);
      return `${method} ×${ms.length}: mean ${round(sum / ms.length, 1)} ms, p50 ${round(percentile(ms, 50), 1)}, `
        + `p99 ${round(percentile(ms, 99), 1)}, sum ${round(sum, 0)} ms`;
    });
  }
}
