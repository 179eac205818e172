import { parse } from '../../common/resources';
import type { Offer } from '../../common/types';
import { parseApp, type App } from './app';
import type { AppRecord } from './model';
import { placeOffers } from './placement';

const rec = (json: Record<string, unknown>): AppRecord => {
  const r = parseApp({ cmd: 'serve', portDefinitions: [], ...json });
  if (!r.ok) throw new Error(JSON.stringify(r.details));
  return { app: r.app as App, version: 'v1', configVersion: 'c1' };
};
const offer = (id: string, hostname: string, resources: string, attributes: Record<string, string> = {}): Offer => ({
  id, frameworkId: 'fw', agentId: `agent-${hostname}`, hostname, role: '*', attributes, resources: parse(resources),
});
let ids = 0;
const newId = () => `i${++ids}`;

describe('placing waiting instances on offers', () => {
  beforeEach(() => { ids = 0; });

  it('packs instances into an offer until it is full, then takes the next one', () => {
    const web = rec({ id: '/web', cpus: 1, mem: 100 });
    const r = placeOffers([offer('o1', 'a', 'cpus:2.5;mem:1000'), offer('o2', 'b', 'cpus:4;mem:1000')], [{ rec: web, count: 3, placed: [] }], newId, 50);
    expect([...r.launches].map(([o, list]) => [o, list.map((l) => l.task.taskId)])).toEqual([['o1', ['web.i1', 'web.i2']], ['o2', ['web.i3']]]);
    expect(r.launches.get('o1')![0]!.instance).toMatchObject({ appId: '/web', configVersion: 'c1', version: 'v1', agentId: 'agent-a', hostname: 'a', state: 'STAGING', stagedAt: 50 });
    expect(r.refusals.size).toBe(0);
  });

  it('serves apps in the order given: what the first takes, the second cannot have', () => {
    const first = rec({ id: '/first', cpus: 2, mem: 100 });
    const second = rec({ id: '/second', cpus: 1, mem: 100 });
    const r = placeOffers([offer('o1', 'a', 'cpus:2;mem:1000')], [{ rec: first, count: 1, placed: [] }, { rec: second, count: 1, placed: [] }], newId, 0);
    expect(r.launches.get('o1')!.map((l) => l.instance.appId)).toEqual(['/first']);
    expect(r.refusals.get('/second')).toEqual([{
      offerId: 'o1', agentId: 'agent-a', hostname: 'a', resources: parse('mem:900'), attributes: {},
      kind: 'InsufficientCpus', reason: 'offer o1 on a has mem:900, an instance needs cpus:1;mem:100',
    }]);
  });

  it('checks constraints against where the app runs, including what this round placed', () => {
    const spread = rec({ id: '/spread', cpus: 0.1, mem: 10, constraints: [['hostname', 'UNIQUE']] });
    const offers = [offer('o1', 'a', 'cpus:2;mem:1000'), offer('o2', 'b', 'cpus:2;mem:1000'), offer('o3', 'c', 'cpus:2;mem:1000')];
    const r = placeOffers(offers, [{ rec: spread, count: 3, placed: [{ hostname: 'b', attributes: {} }] }], newId, 0);
    expect([...r.launches.keys()]).toEqual(['o1', 'o3']);
    // One still waits: every offer was refused, and each refusal says why.
    expect(r.refusals.get('/spread')?.map((x) => x.kind)).toEqual(['UnfulfilledConstraint', 'UnfulfilledConstraint', 'UnfulfilledConstraint']);
    expect(r.refusals.get('/spread')?.map((x) => x.reason)).toEqual([
      '["hostname", "UNIQUE"]: an instance already runs where hostname is a',
      '["hostname", "UNIQUE"]: an instance already runs where hostname is b',
      '["hostname", "UNIQUE"]: an instance already runs where hostname is c',
    ]);
  });

  it('picks distinct host ports for instances sharing an offer', () => {
    const web = rec({ id: '/web', cpus: 0.1, mem: 10, portDefinitions: [{ port: 0 }] });
    const r = placeOffers([offer('o1', 'a', 'cpus:2;mem:1000;ports:[31000-31001]')], [{ rec: web, count: 3, placed: [] }], newId, 0);
    expect(r.launches.get('o1')!.map((l) => l.instance.hostPorts)).toEqual([[31000], [31001]]);
    expect(r.refusals.get('/web')?.[0]?.reason).toBe('offer o1 on a has not the 1 host port needed (any)');
  });
});
