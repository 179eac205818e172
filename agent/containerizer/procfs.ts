/**
 * What /proc tells about a process task: its group's usage, for process containers without
 * cgroups (or for what their cgroups do not account), and, for a run taken back after an
 * agent restart, whether its process is still the one started, whose it is and the
 * environment it was started with. One pass over /proc per usage call: at the usage interval
 * of seconds that is cheap next to what it measures.
 */
import { readdirSync, readFileSync, statSync } from 'fs';
import { parseProcStat, parseVmRssBytes, processGroupStatistics, type ContainerUsage, type ProcStat } from './statistics';

/** The live processes of group `pgid` with their resident memory, summed (see processGroupStatistics). */
export function processGroupUsage(pgid: number, proc = '/proc'): ContainerUsage {
  const members: { stat: ProcStat; rssBytes: number }[] = [];
  for (const entry of readdirSync(proc)) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readProcStat(Number(entry), proc);
    // A zombie's times are about to move to its parent's cutime: counting both would count twice.
    if (!stat || stat.pgrp !== pgid || stat.state === 'Z') continue;
    let rssBytes = 0;
    try {
      rssBytes = parseVmRssBytes(readFileSync(`${proc}/${entry}/status`, 'utf8'));
    } catch {
      // Ended between the two reads: its times were still counted, its memory is free.
    }
    members.push({ stat, rssBytes });
  }
  return processGroupStatistics(members);
}

/** `/proc/<pid>/stat`, parsed; undefined when the process is gone. */
export function readProcStat(pid: number, proc = '/proc'): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(`${proc}/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** When the process started, in clock ticks since boot (/proc/<pid>/stat field 22); undefined if it is gone. */
export function startTicks(pid: number): number | undefined {
  return readProcStat(pid)?.startTicks;
}

/** The process exists, is not a zombie, and is the one that started at `startTicks`. */
export function isAlive(pid: number, startTicksWanted: number | undefined): boolean {
  const stat = readProcStat(pid);
  return stat !== undefined && stat.state !== 'Z' && (startTicksWanted === undefined || stat.startTicks === startTicksWanted);
}

/** The user a recovered task's process runs as, when not the agent's (the owner of its /proc entry). */
export function ownerOf(pid: number, agentUid: number): { uid: number; gid: number } | undefined {
  try {
    const st = statSync(`/proc/${pid}`);
    return st.uid === agentUid ? undefined : { uid: st.uid, gid: st.gid };
  } catch {
    return undefined;
  }
}

/** The environment a process was started with (/proc/<pid>/environ); empty if unreadable. */
export function environOf(pid: number): Record<string, string> {
  const env: Record<string, string> = {};
  try {
    for (const entry of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
      const eq = entry.indexOf('=');
      if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
  } catch {
    // gone, or not ours to read: commands beside it get no task environment
  }
  return env;
}
