import { natsServers, subjects } from './subjects';

describe('NATS subjects and servers', () => {
  it('reads a --nats value of one URL or a cluster\'s several, comma-separated, spaces ignored', () => {
    expect(natsServers('nats://127.0.0.1:4222')).toEqual(['nats://127.0.0.1:4222']);
    expect(natsServers('nats://m1:4222, nats://m2:4222,nats://m3:4222,')).toEqual(['nats://m1:4222', 'nats://m2:4222', 'nats://m3:4222']);
  });

  it('announces a new leader on one subject every agent may hear, under the prefix', () => {
    expect(subjects('prod').leader()).toBe('prod.leader');
    expect(subjects().reconcile('team-a', 'agent-1')).toBe('agora.agent.team-a.agent-1.reconcile');
  });
});
