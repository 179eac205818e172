/**
 * cgroups: the parsing and detection rules on their own, then real cgroups of this host
 * (skipped, saying why, where the agent could not use them either).
 */
import { spawn } from 'child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { cfsQuotaUs, detectCgroups, keyValues, ownPath } from './cgroups';

const PROC_SELF_V1 = '9:name=systemd:/\n4:memory:/jobs/j1\n2:cpu,cpuacct:/jobs/j2\n0::/\n';

describe('cgroups: rules', () => {
  it('finds the agent\'s own cgroup per v1 controller and on the v2 line', () => {
    expect(ownPath(PROC_SELF_V1, 'memory')).toBe('/jobs/j1');
    expect(ownPath(PROC_SELF_V1, 'cpu')).toBe('/jobs/j2');
    expect(ownPath('0::/system.slice/agora.service\n', '')).toBe('/system.slice/agora.service');
    expect(ownPath('', 'memory')).toBe('/');
  });

  it('reads counters of memory.oom_control and memory.events', () => {
    expect(keyValues('oom_kill_disable 0\nunder_oom 0\noom_kill 2\n')).toEqual({ oom_kill_disable: 0, under_oom: 0, oom_kill: 2 });
  });

  it('turns cpus into a CFS quota of cpus × period, at least 1 ms', () => {
    expect(cfsQuotaUs(0.5, 100_000)).toBe(50_000);
    expect(cfsQuotaUs(2, 100_000)).toBe(200_000);
    expect(cfsQuotaUs(0.001, 100_000)).toBe(1_000);
  });

  it('says why there are no limits for an agent that is not root', () => {
    expect(detectCgroups({ uid: 1000 })).toEqual({ ok: false, view: { cgroups: 'none', why: 'the agent runs as uid 1000, not root: it cannot create cgroups or move tasks into them' } });
  });

  it('says which controller a v2 host lacks', () => {
    const mount = mkdtempSync(join(tmpdir(), 'agora-cg2-'));
    writeFileSync(join(mount, 'cgroup.controllers'), 'cpuset io memory pids\n');
    const d = detectCgroups({ mount, uid: 0, selfCgroup: '0::/\n' });
    expect(d.view).toEqual({ cgroups: 'none', why: `cgroup v2 without the cpu controller (not in ${join(mount, 'cgroup.controllers')})` });
    rmSync(mount, { recursive: true, force: true });
  });

  it('says when a v1 host has no memory controller', () => {
    const mount = mkdtempSync(join(tmpdir(), 'agora-cg1-'));
    mkdirSync(join(mount, 'cpu'));
    const d = detectCgroups({ mount, uid: 0, selfCgroup: PROC_SELF_V1 });
    expect(d.view).toEqual({ cgroups: 'none', why: `cgroup v1 without the memory controller (no ${join(mount, 'memory')})` });
    rmSync(mount, { recursive: true, force: true });
  });
});

// The same detection the agent makes at start-up.
const host = detectCgroups();
const withCgroups = host.ok ? describe : describe.skip;

withCgroups(`cgroups of this host (${host.view.cgroups}: ${host.view.why})`, () => {
  const cgroups = host.ok ? host.cgroups : undefined!;
  let seq = 0;
  const id = () => `agora-cgtest-${process.pid}-${++seq}`;

  it('a container\'s cgroup holds its memory limit and cpu quota, and is gone after destroy', async () => {
    const cg = cgroups.create(id(), { memBytes: 64 * 1024 * 1024, cpus: 0.25 });
    if (cgroups.version === 'v1') {
      const [mem, cpu] = cg.dirs as [string, string];
      expect(readFileSync(join(mem, 'memory.limit_in_bytes'), 'utf8').trim()).toBe(String(64 * 1024 * 1024));
      expect(readFileSync(join(cpu, 'cpu.cfs_quota_us'), 'utf8').trim()).toBe('25000');
      expect(readFileSync(join(cpu, 'cpu.shares'), 'utf8').trim()).toBe('256');
    } else {
      const [dir] = cg.dirs as [string];
      expect(readFileSync(join(dir, 'memory.max'), 'utf8').trim()).toBe(String(64 * 1024 * 1024));
      expect(readFileSync(join(dir, 'cpu.max'), 'utf8').trim()).toBe('25000 100000');
    }
    expect(cg.oomKilled()).toBe(false);
    await cg.destroy();
    for (const dir of cg.dirs) expect(existsSync(dir)).toBe(false);
  });

  it('accounts the cpu time and memory of the processes in it', async () => {
    const cg = cgroups.create(id(), { memBytes: 64 * 1024 * 1024, cpus: 0.5 });
    const child = spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' });
    await new Promise((r) => child.once('spawn', r));
    cg.addProcess(child.pid!);
    // The kernel accounts as the process runs: poll, bounded, until it has been charged.
    let usage = cg.usage();
    for (let i = 0; i < 400 && !((usage.cpusUserTimeSecs ?? 0) + (usage.cpusSystemTimeSecs ?? 0) > 0); i++) {
      await new Promise((r) => setTimeout(r, 25));
      usage = cg.usage();
    }
    expect((usage.cpusUserTimeSecs ?? 0) + (usage.cpusSystemTimeSecs ?? 0)).toBeGreaterThan(0);
    // Its memory stays charged where it was allocated, before the move (v1 does not move
    // charges): the process containerizer starts commands inside, so theirs is counted.
    expect(usage).toMatchObject({ processes: 1, memLimitBytes: 64 * 1024 * 1024 });
    await cg.destroy();
  });

  it('destroy kills every process in the cgroup before removing it', async () => {
    const cg = cgroups.create(id(), {});
    const child = spawn('sleep', ['300'], { stdio: 'ignore' });
    await new Promise((r) => child.once('spawn', r));
    cg.addProcess(child.pid!);
    expect(cg.pids()).toEqual([child.pid]);
    const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_c, s) => r(s)));
    await cg.destroy();
    expect(await exited).toBe('SIGKILL');
    for (const dir of cg.dirs) expect(existsSync(dir)).toBe(false);
  });
});
