/** Where volumes and working directories lie: pure path rules, no containers. */
import type { Volume } from '../../common/types';
import { resolveVolumes, volumesProblem, workingDirectory } from './volumes';

const vol = (hostPath: string, containerPath: string, mode: Volume['mode'] = 'RW'): Volume => ({ hostPath, containerPath, mode });

describe('volumesProblem', () => {
  it('accepts sandbox-relative and absolute host paths mounted at absolute container paths', () => {
    expect(volumesProblem([vol('data', '/data'), vol('a/b/../c', '/c', 'RO'), vol('/srv/shared', '/shared'), vol('.', '/sandbox-again')])).toBeUndefined();
  });

  it('refuses a container path that is not absolute, naming the volume', () => {
    expect(volumesProblem([vol('data', '/data'), vol('logs', 'logs')])).toBe('volume 1 (logs → logs): containerPath must be an absolute path, e.g. /data');
  });

  it('refuses a relative host path that climbs out of the sandbox', () => {
    expect(volumesProblem([vol('../other-run', '/x')])).toMatch(/relative hostPath '\.\.\/other-run' leads out of the sandbox/);
    expect(volumesProblem([vol('data/../../..', '/x')])).toMatch(/leads out of the sandbox/);
  });

  it('refuses empty paths, colons and a container path mounted twice', () => {
    expect(volumesProblem([vol('', '/x')])).toMatch(/hostPath is empty/);
    expect(volumesProblem([vol('a:b', '/x')])).toMatch(/may not contain ':'/);
    expect(volumesProblem([vol('a', '/x'), vol('b', '/x/')])).toMatch(/: \/x is mounted twice$/);
  });
});

describe('resolveVolumes', () => {
  it('puts relative host paths in the sandbox and keeps absolute ones', () => {
    expect(resolveVolumes('/w/runs/c1', [vol('data/in', '/in', 'RO'), vol('/srv/x', '/x/')])).toEqual([
      { hostPath: '/w/runs/c1/data/in', containerPath: '/in', readOnly: true, inSandbox: true },
      { hostPath: '/srv/x', containerPath: '/x', readOnly: false, inSandbox: false },
    ]);
  });
});

describe('workingDirectory', () => {
  it('is the base when none is given, inside it when relative, as given when absolute', () => {
    expect(workingDirectory('/mnt/agora/sandbox', undefined)).toBe('/mnt/agora/sandbox');
    expect(workingDirectory('/mnt/agora/sandbox', '')).toBe('/mnt/agora/sandbox');
    expect(workingDirectory('/mnt/agora/sandbox', 'work/sub')).toBe('/mnt/agora/sandbox/work/sub');
    expect(workingDirectory('/mnt/agora/sandbox', '/tmp/../opt')).toBe('/opt');
  });

  it('is undefined for a relative path out of the base', () => {
    expect(workingDirectory('/mnt/agora/sandbox', '../..')).toBeUndefined();
  });
});
