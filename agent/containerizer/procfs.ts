/**
 * Reading a process group's usage from /proc, for process containers without cgroups (or
 * for what their cgroups do not account). One pass over /proc per call: at the usage
 * interval of seconds that is cheap next to what it measures.
 */
import { readdirSync, readFileSync } from 'fs';
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
