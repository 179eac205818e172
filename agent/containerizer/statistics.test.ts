/**
 * The usage parsers on their own: the texts are what this host's kernel (cgroup v1, 6.x),
 * a cgroup v2 host and Docker Engine 20.10 write, trimmed to what matters.
 */
import {
  cgroupV1Statistics, cgroupV2Statistics, dockerStatistics, parseProcStat, parseVmRssBytes, processGroupStatistics, UsageError,
} from './statistics';

const DOCKER_RUNNING = {
  read: '2026-11-22T01:24:52.801372503Z',
  pids_stats: { current: 3 },
  cpu_stats: {
    cpu_usage: { total_usage: 41333905, usage_in_kernelmode: 10000000, usage_in_usermode: 30000000 },
    system_cpu_usage: 20440760000000, online_cpus: 2,
    throttling_data: { periods: 20, throttled_periods: 7, throttled_time: 350000000 },
  },
  memory_stats: { usage: 659456, max_usage: 3837952, stats: { cache: 0, rss: 61440, total_rss: 65536 }, limit: 67108864 },
};

describe('docker stats', () => {
  it('gives cpu times in seconds, total_rss as rss, usage as total and the memory limit', () => {
    expect(dockerStatistics(DOCKER_RUNNING)).toEqual({
      cpusUserTimeSecs: 0.03, cpusSystemTimeSecs: 0.01, memRssBytes: 65536, memTotalBytes: 659456, memLimitBytes: 67108864,
      cpusNrPeriods: 20, cpusNrThrottled: 7, cpusThrottledTimeSecs: 0.35, processes: 3,
    });
  });

  it('takes anon as rss on a cgroup v2 host, and no limit when the engine reports the host\'s all', () => {
    const v2 = { ...DOCKER_RUNNING, memory_stats: { usage: 800000, stats: { anon: 524288, file: 4096 }, limit: 9223372036854771712 } };
    expect(dockerStatistics(v2)).toMatchObject({ memRssBytes: 524288, memTotalBytes: 800000 });
    expect(dockerStatistics(v2).memLimitBytes).toBeUndefined();
  });

  it('refuses the stats of a container that is not running, and what is not stats at all', () => {
    const stopped = { read: '0001-01-01T00:00:00Z', preread: '0001-01-01T00:00:00Z', memory_stats: {}, cpu_stats: { cpu_usage: { total_usage: 0 } } };
    expect(() => dockerStatistics(stopped)).toThrow(new UsageError('docker has no stats for the container: it is not running'));
    expect(() => dockerStatistics('nope')).toThrow(UsageError);
  });
});

describe('cgroup v1', () => {
  it('prefers cpuacct.usage_user/usage_sys (ns) and reads throttling, memory and processes', () => {
    expect(cgroupV1Statistics({
      cpuacctUsageUser: '2500000000\n', cpuacctUsageSys: '125000000\n', cpuacctStat: 'user 9999\nsystem 9999\n',
      cpuStat: 'nr_periods 40\nnr_throttled 12\nthrottled_time 600000000\nnr_bursts 0\nburst_time 0\n',
      memoryStat: 'cache 4096\nrss 1048576\nrss_huge 0\ntotal_cache 4096\ntotal_rss 2097152\n',
      memoryUsageInBytes: '2203648\n', memoryLimitInBytes: '67108864\n', procs: '101\n102\n',
    })).toEqual({
      cpusUserTimeSecs: 2.5, cpusSystemTimeSecs: 0.125, cpusNrPeriods: 40, cpusNrThrottled: 12, cpusThrottledTimeSecs: 0.6,
      memRssBytes: 2097152, memTotalBytes: 2203648, memLimitBytes: 67108864, processes: 2,
    });
  });

  it('falls back to cpuacct.stat in USER_HZ ticks, and reads no limit from the unlimited value', () => {
    expect(cgroupV1Statistics({ cpuacctStat: 'user 691215\nsystem 108351\n', memoryLimitInBytes: '9223372036854771712\n' }))
      .toEqual({ cpusUserTimeSecs: 6912.15, cpusSystemTimeSecs: 1083.51 });
  });

  it('says nothing of what it has no file for', () => {
    expect(cgroupV1Statistics({})).toEqual({});
  });
});

describe('cgroup v2', () => {
  it('reads cpu.stat in microseconds, anon as rss, memory.current and memory.max', () => {
    expect(cgroupV2Statistics({
      cpuStat: 'usage_usec 3000000\nuser_usec 2000000\nsystem_usec 1000000\nnr_periods 50\nnr_throttled 5\nthrottled_usec 250000\n',
      memoryStat: 'anon 3145728\nfile 8192\nkernel_stack 16384\n', memoryCurrent: '3300000\n', memoryMax: '67108864\n', procs: '7\n',
    })).toEqual({
      cpusUserTimeSecs: 2, cpusSystemTimeSecs: 1, cpusNrPeriods: 50, cpusNrThrottled: 5, cpusThrottledTimeSecs: 0.25,
      memRssBytes: 3145728, memTotalBytes: 3300000, memLimitBytes: 67108864, processes: 1,
    });
  });

  it('reads `max` as no memory limit', () => {
    expect(cgroupV2Statistics({ memoryMax: 'max\n' })).toEqual({});
  });
});

describe('/proc', () => {
  // A command name with a space and a parenthesis, as a task may well have.
  const STAT = '4242 (my (odd) cmd) R 4200 4242 4242 0 -1 4194304 102 0 0 0 250 30 12 3 20 0 1 0 1031977 3133440 416 18446744073709551615';

  it('parses /proc/<pid>/stat past a command name with spaces and parentheses', () => {
    expect(parseProcStat(STAT)).toEqual({ pid: 4242, state: 'R', pgrp: 4242, utimeTicks: 250, stimeTicks: 30, cutimeTicks: 12, cstimeTicks: 3, startTicks: 1031977 });
    expect(parseProcStat('garbage')).toBeUndefined();
  });

  it('reads VmRSS in bytes; a process without one (kernel thread, zombie) has none', () => {
    expect(parseVmRssBytes('Name:\tsh\nVmPeak:\t  2048 kB\nVmRSS:\t    1536 kB\nRssAnon:\t 512 kB\n')).toBe(1536 * 1024);
    expect(parseVmRssBytes('Name:\tkthreadd\nState:\tS (sleeping)\n')).toBe(0);
  });

  it('sums a group\'s own and reaped children\'s times in USER_HZ ticks, and its resident memory', () => {
    const a = parseProcStat(STAT)!;
    const b = { ...a, pid: 4243, utimeTicks: 100, stimeTicks: 20, cutimeTicks: 0, cstimeTicks: 0 };
    expect(processGroupStatistics([{ stat: a, rssBytes: 1_000_000 }, { stat: b, rssBytes: 500_000 }])).toEqual({
      cpusUserTimeSecs: 3.62, cpusSystemTimeSecs: 0.53, memRssBytes: 1_500_000, processes: 2,
    });
  });
});
