/**
 * The framework table: who is subscribed, on which stream, and what each has suppressed.
 * A framework outlives its connection: disconnected, it keeps its tasks until its failover
 * timeout runs out. Removed frameworks are remembered (boundedly) so a late status update
 * for one of their tasks can be told apart from one for a framework we have not met yet.
 */
import { isWebUrl } from '../common/web-url';
import type { Timer } from '../common/clock';
import type { FrameworkInfo } from '../common/types';
import type { FrameworkStream } from './ports';

export interface FrameworkRecord {
  info: FrameworkInfo;
  readonly registeredAt: number;
  /** The live subscription, if connected. */
  connection?: { streamId: string; stream: FrameworkStream; heartbeat: Timer };
  /** Running while disconnected: removes the framework when it fires. */
  failover?: Timer;
  readonly suppressedRoles: Set<string>;
}

export class FrameworkTable {
  private readonly byId = new Map<string, FrameworkRecord>();
  private readonly removed: string[] = [];

  constructor(private readonly removedCapacity = 1000) {}

  get(frameworkId: string): FrameworkRecord | undefined {
    return this.byId.get(frameworkId);
  }

  add(record: FrameworkRecord): void {
    this.byId.set(record.info.id, record);
  }

  remove(frameworkId: string): void {
    if (!this.byId.delete(frameworkId)) return;
    this.removed.push(frameworkId);
    if (this.removed.length > this.removedCapacity) this.removed.shift();
  }

  wasRemoved(frameworkId: string): boolean {
    return this.removed.includes(frameworkId);
  }

  all(): FrameworkRecord[] {
    return [...this.byId.values()];
  }
}

/** Roles named in a Revive or Suppress must be the framework's; none named means all. */
export function rolesOf(record: FrameworkRecord, asked: readonly string[]): { roles: Set<string> } | { unknown: string } {
  if (asked.length === 0) return { roles: new Set(record.info.roles) };
  const unknown = asked.find((r) => !record.info.roles.includes(r));
  return unknown === undefined ? { roles: new Set(asked) } : { unknown };
}

/** Mesos's rules for role names: path-like components, none empty, '.', '..' or led by '-'. */
function roleProblem(role: string): string | undefined {
  if (role === '*') return undefined;
  if (!/^[A-Za-z0-9_./-]+$/.test(role)) return `role '${role}' may only contain letters, digits, '_', '-', '.' and '/'`;
  const bad = role.split('/').find((part) => part === '' || part === '.' || part === '..' || part.startsWith('-'));
  if (bad !== undefined) return `role '${role}' has an invalid component '${bad}' (empty, '.', '..' or starting with '-')`;
  return undefined;
}

/** What is wrong with a FrameworkInfo from Subscribe or UpdateFramework, if anything. */
/**
 * Each role is a sorter entry and an offer per agent each cycle: a framework asking for
 * thousands would make every allocation pay for it. Mesos has no bound; 64 is far above use.
 */
export const MAX_ROLES_PER_FRAMEWORK = 64;

export function validateFrameworkInfo(info: FrameworkInfo): string | undefined {
  if (!info.name.trim()) return 'framework_info.name is missing';
  if (!Number.isFinite(info.failoverTimeoutMs) || info.failoverTimeoutMs < 0) {
    return `framework_info.failover_timeout_seconds must be a number ≥ 0, got ${info.failoverTimeoutMs / 1000}`;
  }
  if (info.roles.length === 0) return 'framework_info.roles is empty';
  if (info.roles.length > MAX_ROLES_PER_FRAMEWORK) {
    return `framework_info.roles has ${info.roles.length} roles, more than the ${MAX_ROLES_PER_FRAMEWORK} a framework may take offers for`;
  }
  for (const role of info.roles) {
    const problem = roleProblem(role);
    if (problem) return problem;
  }
  if (info.webuiUrl !== undefined && !isWebUrl(info.webuiUrl)) {
    return `framework_info.webui_url must be an http or https URL, got '${info.webuiUrl}'`;
  }
  return undefined;
}

