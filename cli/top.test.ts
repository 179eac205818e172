import type { MasterStateView } from '../common/operator-types';
import { topFrame } from './top';

const res = (cpus: number, mem: number) => ({ text: `cpus:${cpus};mem:${mem}`, cpus, mem, disk: 0, gpus: 0 });
const NOW = Date.UTC(2026, 10, 22, 12);

const state: MasterStateView = {
  master: { id: 'master-1', hostname: 'm1', httpPort: 5050, grpcPort: 5053, version: 'v', startedAt: NOW - 3 * 3600_000 },
  agents: [
    { id: 'agent-a', hostname: 'h1', port: 5051, attributes: {}, registeredAt: 0, lastHeartbeatAt: NOW - 2000, status: 'ACTIVE', total: res(8, 8192), used: res(4, 1024), offered: res(2, 2048), available: res(2, 5120) },
    { id: 'agent-b', hostname: 'h2', port: 5051, attributes: {}, registeredAt: 0, lastHeartbeatAt: NOW - 90_000, status: 'UNREACHABLE', total: res(8, 8192), used: res(0, 0), offered: res(0, 0), available: res(8, 8192) },
  ],
  frameworks: [
    { id: 'fw-small', name: 'batch', roles: ['batch'], principal: '', connected: true, registeredAt: 0, suppressedRoles: [], used: res(1, 4096), offered: res(0, 0), taskCount: 2 },
    { id: 'fw-big', name: 'web', roles: ['prod'], principal: '', connected: false, registeredAt: 0, suppressedRoles: [], used: res(3, 1024), offered: res(2, 2048), taskCount: 3 },
  ],
  tasks: [],
  offers: [],
};

describe('agora top, one frame', () => {
  it('sums the agents, gives each role and framework its dominant share, and shows the newest offers', () => {
    const frame = topFrame(state, [
      { type: 'OFFERED', at: NOW, offerId: 'o1', frameworkId: 'fw-big', agentId: 'agent-a', role: 'prod', resources: 'cpus:2;mem:2048' },
      { type: 'DECLINED', at: NOW, offerId: 'o1', frameworkId: 'fw-big', agentId: 'agent-a', role: 'prod', resources: 'cpus:2;mem:2048', refuseMs: 5000, reason: 'no room for a UNIQUE hostname' },
    ], NOW).split('\n');
    expect(frame[0]).toBe('agora top — master master-1 (m1), up 3h');
    expect(frame[1]).toBe('agents 2 (1 active, 1 unreachable) · frameworks 2 · tasks 0 (0 running) · offers out 0');
    expect(frame[2]).toBe('cpus 4 used, 2 offered of 16 · mem 1024 used, 2048 offered of 16384 MB');
    // batch: 4096 of 16384 MB is its dominant share (25%), over 1 of 16 cpus; prod: 3 of 16 cpus (18.8%).
    expect(frame).toContainEqual(expect.stringMatching(/^batch\s+1\s+1\s+4096\s+25%$/));
    expect(frame).toContainEqual(expect.stringMatching(/^prod\s+1\s+3\s+1024\s+18.8%$/));
    const fwRows = frame.filter((l) => l.startsWith('fw-'));
    expect(fwRows.map((l) => l.split(/\s+/)[0])).toEqual(['fw-small', 'fw-big']);   // by share, largest first
    expect(frame).toContainEqual(expect.stringMatching(/^agent-b\s+h2\s+UNREACHABLE\s+0\/0\/8\s+0\/0\/8192\s+1m ago$/));
    expect(frame.at(-1)).toMatch(/DECLINED\s+o1 by fw-big for 5000 ms: no room for a UNIQUE hostname$/);
  });

  it('without the live offer log (--once) says where to find it', () => {
    expect(topFrame(state, undefined, NOW).split('\n').at(-1)).toBe('offer log: live in `agora top` (`agora offers --follow` for all of it)');
  });
});
