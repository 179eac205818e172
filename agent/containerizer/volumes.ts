/**
 * Where a task's volumes and working directory lie. Pure: paths in, paths or a reason out.
 *
 * A volume's relative `hostPath` names a directory inside the run's sandbox (the agent
 * creates it); an absolute one is a path on the agent's host. `containerPath` is where the
 * container sees it and must be absolute. A relative path that climbs out of the sandbox
 * with `..` is refused rather than resolved: the sandbox is the only part of the host a
 * task may name without the operator's say.
 */
import { isAbsolute, posix, relative, resolve } from 'path';
import type { Volume } from '../../common/types';

export interface ResolvedVolume {
  hostPath: string;
  containerPath: string;
  readOnly: boolean;
  /** Lies in the sandbox, so the agent creates it before the launch. */
  inSandbox: boolean;
}

/** Why the volumes cannot be mounted, or undefined when they can. Needs no sandbox yet. */
export function volumesProblem(volumes: readonly Volume[]): string | undefined {
  const seen = new Set<string>();
  for (const [i, v] of volumes.entries()) {
    const which = `volume ${i} (${v.hostPath || "''"} → ${v.containerPath || "''"})`;
    if (!v.containerPath || !posix.isAbsolute(v.containerPath)) {
      return `${which}: containerPath must be an absolute path, e.g. /data`;
    }
    if (!v.hostPath) return `${which}: hostPath is empty; give a directory in the sandbox (e.g. data) or an absolute host path`;
    for (const p of [v.hostPath, v.containerPath]) {
      if (p.includes(':') || p.includes('\0')) return `${which}: paths may not contain ':' or NUL`;
    }
    if (!isAbsolute(v.hostPath) && escapes(v.hostPath)) {
      return `${which}: the relative hostPath '${v.hostPath}' leads out of the sandbox; use a path inside it or an absolute host path`;
    }
    const target = cleanPath(v.containerPath);
    if (seen.has(target)) return `${which}: ${target} is mounted twice`;
    seen.add(target);
  }
  return undefined;
}

/** The volumes with their host paths made absolute (sandbox-relative ones inside `sandboxDir`). */
export function resolveVolumes(sandboxDir: string, volumes: readonly Volume[]): ResolvedVolume[] {
  return volumes.map((v) => ({
    hostPath: isAbsolute(v.hostPath) ? v.hostPath : resolve(sandboxDir, v.hostPath),
    containerPath: cleanPath(v.containerPath),
    readOnly: v.mode === 'RO',
    inSandbox: !isAbsolute(v.hostPath),
  }));
}

/**
 * The working directory a command starts in: relative ones inside `base` (the sandbox as
 * the command sees it), absolute ones as given, none: `base`. Undefined means the relative
 * path climbs out of the sandbox.
 */
export function workingDirectory(base: string, dir: string | undefined): string | undefined {
  if (!dir) return base;
  if (posix.isAbsolute(dir)) return posix.normalize(dir);
  if (escapes(dir)) return undefined;
  return posix.join(base, dir);
}

/** `/a/./b/` → `/a/b`: one spelling per directory. */
function cleanPath(p: string): string {
  return posix.normalize(p).replace(/(.)\/+$/, '$1');
}

/** Whether a relative path climbs above its starting point. */
function escapes(rel: string): boolean {
  const r = relative('/base', resolve('/base', rel));
  return r === '..' || r.startsWith('../') || isAbsolute(r);
}
