import { electionConfig, frameworksBucket, leadersBucket } from '../../common/leadership';
import { leaseKey } from './replica';

describe("a framework's lease", () => {
  it('is a key of the frameworks\' bucket, never the masters\'', () => {
    expect(frameworksBucket('agora')).toBe('AGORA_FRAMEWORKS');
    expect(frameworksBucket('agora')).not.toBe(leadersBucket('agora'));
    expect(frameworksBucket('dev.eu')).toBe('DEV_EU_FRAMEWORKS');
  });

  it('is named by kind and Redis prefix: replicas of one framework share it, two frameworks never do', () => {
    expect(leaseKey('services', 'agora:services:')).toBe(leaseKey('services', 'agora:services:'));
    expect(leaseKey('services', 'agora:services:')).toMatch(/^services-agora_services_-[0-9a-f]{8}$/);
    const keys = [leaseKey('services', 'agora:services:'), leaseKey('jobs', 'agora:services:'), leaseKey('services', 'team-b:'),
      leaseKey('services', 'agora_services_'), leaseKey('jobs', 'agora:jobs:')];
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('is a key the election takes, however long or odd the prefix', () => {
    for (const prefix of ['agora:services:', 'x', 'a.b/c d:é', 'p'.repeat(300)]) {
      const group = leaseKey('services', prefix);
      expect(() => electionConfig({ bucket: frameworksBucket(), group, candidate: { id: 'r1', address: 'h:1', pid: 1 } })).not.toThrow();
    }
  });
});
