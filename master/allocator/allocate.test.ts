import { seededRandom } from '../../common/clock';
import { add, contains, format, parse, scalar, subtract, type Resources } from '../../common/resources';
import { allocate, DrfSorter, randomSorter } from './index';
import type { AgentSnapshot, AllocationSnapshot, FrameworkSnapshot, OfferDecision, OfferFilter } from './types';

const NOW = 1_700_000_000_000;

function agent(id: string, available: string, total = available): AgentSnapshot {
  return { id, available: parse(available), total: parse(total) };
}

function framework(
  id: string,
  roles: string[],
  opts: { suppressed?: string[]; allocated?: Record<string, string>; active?: boolean } = {},
): FrameworkSnapshot {
  return {
    id,
    roles,
    suppressedRoles: new Set(opts.suppressed ?? []),
    allocated: new Map(Object.entries(opts.allocated ?? {}).map(([role, text]) => [role, parse(text)])),
    active: opts.active ?? true,
  };
}

function snapshot(parts: Partial<AllocationSnapshot>): AllocationSnapshot {
  return { agents: [], frameworks: [], weights: new Map(), filters: [], minAllocatable: [], ...parts };
}

function filter(frameworkId: string, role: string, agentId: string, resources: string, expiresAt: number): OfferFilter {
  return { frameworkId, role, agentId, resources: parse(resources), expiresAt };
}

/** Decisions as readable strings: `framework/role@agent cpus:…`. */
const show = (ds: OfferDecision[]): string[] =>
  ds.map((d) => `${d.frameworkId}/${d.role}@${d.agentId} ${format(d.resources)}`).sort();

const run = (s: AllocationSnapshot, seed = 1): OfferDecision[] => allocate(s, NOW, seededRandom(seed));

describe('allocate: who gets an agent', () => {
  it('offers an agent whole to the framework with the smallest dominant share', () => {
    const s = snapshot({
      agents: [agent('a1', 'cpus:4;mem:4096;ports:[31000-32000]', 'cpus:8;mem:8192;ports:[31000-32000]')],
      frameworks: [
        framework('big', ['*'], { allocated: { '*': 'cpus:4' } }),
        framework('small', ['*'], { allocated: { '*': 'cpus:1' } }),
      ],
    });
    expect(show(run(s))).toEqual(['small/*@a1 cpus:4;mem:4096;ports:[31000-32000]']);
  });

  it('reaches the DRF equilibrium of the NSDI paper: 9 cpus / 18 GB, A <1 cpu, 4 GB>, B <3 cpus, 1 GB>', () => {
    // Each round the offered framework launches one task from its offer and gives the rest
    // back; the cycle repeats until the framework asked first cannot fit a task.
    const task: Record<string, Resources> = { A: parse('cpus:1;mem:4096'), B: parse('cpus:3;mem:1024') };
    const held: Record<string, Resources> = { A: [], B: [] };
    const tasks: Record<string, number> = { A: 0, B: 0 };
    const total = parse('cpus:9;mem:18432');
    for (let round = 0; round < 20; round++) {
      const available = subtract(total, add(held.A as Resources, held.B as Resources));
      const [offer] = run(snapshot({
        agents: [{ id: 'a1', available, total }],
        frameworks: ['A', 'B'].map((id) => framework(id, ['*'], { allocated: { '*': format(held[id] as Resources) } })),
      }));
      if (!offer || !contains(offer.resources, task[offer.frameworkId] as Resources)) break;
      held[offer.frameworkId] = add(held[offer.frameworkId] as Resources, task[offer.frameworkId] as Resources);
      tasks[offer.frameworkId] = (tasks[offer.frameworkId] ?? 0) + 1;
    }
    expect(tasks).toEqual({ A: 3, B: 2 });
    const drf = new DrfSorter({ total, random: seededRandom(1) });
    for (const id of ['A', 'B']) { drf.add(id); drf.allocated(id, held[id] as Resources); }
    expect(format(held.A as Resources)).toBe('cpus:3;mem:12288');
    expect(format(held.B as Resources)).toBe('cpus:6;mem:2048');
    expect(drf.share('A')).toBeCloseTo(2 / 3, 9); // 12 of 18 GB
    expect(drf.share('B')).toBeCloseTo(2 / 3, 9); // 6 of 9 cpus
  });

  it('charges each offer at once, so the next agent goes to whoever is now poorest', () => {
    const s = snapshot({
      agents: ['a1', 'a2', 'a3', 'a4'].map((id) => agent(id, 'cpus:2;mem:1024', 'cpus:2;mem:1024')),
      frameworks: [framework('f1', ['*']), framework('f2', ['*'])],
    });
    const counts = new Map<string, number>();
    for (const d of run(s)) counts.set(d.frameworkId, (counts.get(d.frameworkId) ?? 0) + 1);
    expect(counts).toEqual(new Map([['f1', 2], ['f2', 2]]));
  });

  it('serves roles before frameworks: the poorer role first, its poorer framework within it', () => {
    const s = snapshot({
      agents: [agent('a1', 'cpus:2', 'cpus:10')],
      frameworks: [
        framework('rich-in-poor-role', ['dev'], { allocated: { dev: 'cpus:2' } }),
        framework('poor-in-rich-role', ['prod'], { allocated: { prod: 'cpus:1' } }),
        framework('richer-in-rich-role', ['prod'], { allocated: { prod: 'cpus:5' } }),
      ],
    });
    // prod holds 6 of 10 cpus (0.6), dev 2 of 10 (0.2): dev is asked first.
    expect(show(run(s))).toEqual(['rich-in-poor-role/dev@a1 cpus:2']);
  });

  it('divides a role share by its weight: prod at weight 4 holds 0.6 / 4 = 0.15 < dev 0.2', () => {
    const frameworks = [
      framework('d', ['dev'], { allocated: { dev: 'cpus:2' } }),
      framework('p', ['prod'], { allocated: { prod: 'cpus:6' } }),
    ];
    const agents = [agent('a1', 'cpus:2', 'cpus:10')];
    expect(show(run(snapshot({ agents, frameworks })))).toEqual(['d/dev@a1 cpus:2']);
    expect(show(run(snapshot({ agents, frameworks, weights: new Map([['prod', 4]]) })))).toEqual(['p/prod@a1 cpus:2']);
  });

  it('counts a role\'s holdings from every framework, including inactive and suppressed ones', () => {
    const s = snapshot({
      agents: [agent('a1', 'cpus:1', 'cpus:10')],
      frameworks: [
        framework('gone', ['dev'], { active: false, allocated: { dev: 'cpus:5' } }),
        framework('d', ['dev']),
        framework('p', ['prod'], { allocated: { prod: 'cpus:2' } }),
      ],
    });
    expect(show(run(s))).toEqual(['p/prod@a1 cpus:1']);
  });

  it('counts gpus in shares unless told not to: 1 of 2 gpus is a share of 0.5, above 3 of 10 cpus', () => {
    const s = snapshot({
      agents: [agent('cpu-box', 'cpus:2', 'cpus:10'), agent('gpu-box', '', 'gpus:2')],
      frameworks: [
        framework('trainer', ['ml'], { allocated: { ml: 'gpus:1' } }),
        framework('web', ['web'], { allocated: { web: 'cpus:3' } }),
      ],
    });
    expect(show(run(s))).toEqual(['web/web@cpu-box cpus:2']);
    const excluded = allocate(s, NOW, seededRandom(1), { fairSharingExcludedResourceNames: ['gpus'] });
    expect(show(excluded)).toEqual(['trainer/ml@cpu-box cpus:2']);
  });

  it('with random sorters still offers every agent exactly once, in a seed-determined way', () => {
    const s = snapshot({
      agents: ['a1', 'a2', 'a3'].map((id) => agent(id, 'cpus:1')),
      frameworks: [framework('f1', ['x']), framework('f2', ['y'])],
    });
    const opts = { roleSorter: randomSorter, frameworkSorter: randomSorter };
    const once = allocate(s, NOW, seededRandom(3), opts);
    expect(once.map((d) => d.agentId).sort()).toEqual(['a1', 'a2', 'a3']);
    expect(allocate(s, NOW, seededRandom(3), opts)).toEqual(once);
  });
});

describe('allocate: who gets nothing', () => {
  const agents = [agent('a1', 'cpus:4;mem:1024')];

  it('skips a role its framework suppressed, but offers its other roles', () => {
    const s = snapshot({ agents, frameworks: [framework('f', ['dev', 'prod'], { suppressed: ['dev'] })] });
    expect(show(run(s))).toEqual(['f/prod@a1 cpus:4;mem:1024']);
    const all = snapshot({ agents, frameworks: [framework('f', ['dev', 'prod'], { suppressed: ['dev', 'prod'] })] });
    expect(run(all)).toEqual([]);
  });

  it('skips inactive (disconnected) frameworks', () => {
    const s = snapshot({ agents, frameworks: [framework('gone', ['*'], { active: false }), framework('here', ['*'], { allocated: { '*': 'cpus:100' } })] });
    expect(show(run(s))).toEqual(['here/*@a1 cpus:4;mem:1024']);
    expect(run(snapshot({ agents, frameworks: [framework('gone', ['*'], { active: false })] }))).toEqual([]);
  });

  it('offers nothing when there are no frameworks or no agents', () => {
    expect(run(snapshot({ agents }))).toEqual([]);
    expect(run(snapshot({ frameworks: [framework('f', ['*'])] }))).toEqual([]);
  });

  it('does not offer an agent with nothing free', () => {
    expect(run(snapshot({ agents: [agent('a1', '', 'cpus:4')], frameworks: [framework('f', ['*'])] }))).toEqual([]);
  });
});

describe('allocate: decline filters', () => {
  const agents = [agent('a1', 'cpus:4;mem:1024')];
  const frameworks = [framework('f', ['*']), framework('g', ['*'], { allocated: { '*': 'cpus:1' } })];

  it('a filter on the same or larger resources blocks the offer until it expires', () => {
    const filters = [filter('f', '*', 'a1', 'cpus:8;mem:2048', NOW + 5_000)];
    expect(show(allocate(snapshot({ agents, frameworks, filters }), NOW, seededRandom(1)))).toEqual(['g/*@a1 cpus:4;mem:1024']);
    expect(show(allocate(snapshot({ agents, frameworks, filters }), NOW + 4_999, seededRandom(1)))).toEqual(['g/*@a1 cpus:4;mem:1024']);
    // Expired at exactly expiresAt.
    expect(show(allocate(snapshot({ agents, frameworks, filters }), NOW + 5_000, seededRandom(1)))).toEqual(['f/*@a1 cpus:4;mem:1024']);
  });

  it('a filter does not block a larger offer: more became free since the decline', () => {
    const filters = [filter('f', '*', 'a1', 'cpus:2;mem:1024', NOW + 5_000)];
    expect(show(run(snapshot({ agents, frameworks, filters })))).toEqual(['f/*@a1 cpus:4;mem:1024']);
  });

  it('a filter is per framework, role and agent', () => {
    const filters = [
      filter('f', 'other', 'a1', 'cpus:4;mem:1024', NOW + 5_000),
      filter('f', '*', 'a2', 'cpus:4;mem:1024', NOW + 5_000),
      filter('g', '*', 'a1', 'cpus:4;mem:1024', NOW + 5_000),
    ];
    expect(show(run(snapshot({ agents, frameworks, filters })))).toEqual(['f/*@a1 cpus:4;mem:1024']);
  });

  it('when every framework filtered the agent, it stays unoffered', () => {
    const filters = ['f', 'g'].map((fw) => filter(fw, '*', 'a1', 'cpus:4;mem:1024', NOW + 1));
    expect(run(snapshot({ agents, frameworks, filters }))).toEqual([]);
  });

  it('with a dozen frameworks declining one agent, each filter still counts for its own framework only', () => {
    const many = Array.from({ length: 12 }, (_, i) => framework(`f${String(i).padStart(2, '0')}`, ['*']));
    const declinedBy = (ids: number[], resources = 'cpus:4;mem:1024'): OfferFilter[] =>
      ids.map((i) => filter(`f${String(i).padStart(2, '0')}`, '*', 'a1', resources, NOW + 5_000));
    // Equal shares go by id: f00 would be first; eleven declines leave f11.
    const all = declinedBy([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(show(run(snapshot({ agents, frameworks: many, filters: all })))).toEqual(['f11/*@a1 cpus:4;mem:1024']);
    // f04's two filters are both smaller than the offer, so f04 is the first one not blocked.
    const f04Smaller = [...declinedBy([0, 1, 2, 3, 5, 6, 7, 8, 9, 10]), ...declinedBy([4], 'cpus:1'), ...declinedBy([4], 'cpus:2;mem:1024')];
    expect(show(run(snapshot({ agents, frameworks: many, filters: f04Smaller })))).toEqual(['f04/*@a1 cpus:4;mem:1024']);
  });

  it('a filter recorded in any order or split into parts covers the same offer', () => {
    const resources: Resources = [
      { name: 'mem', role: '*', kind: 'scalar', value: 1024 },
      { name: 'cpus', role: '*', kind: 'scalar', value: 2 },
      { name: 'cpus', role: '*', kind: 'scalar', value: 2 },
    ];
    const filters: OfferFilter[] = [{ frameworkId: 'f', role: '*', agentId: 'a1', resources, expiresAt: NOW + 5_000 }];
    expect(show(run(snapshot({ agents, frameworks, filters })))).toEqual(['g/*@a1 cpus:4;mem:1024']);
  });
});

describe('allocate: minimum allocatable resources', () => {
  const minAllocatable = [parse('cpus:0.01'), parse('mem:32')];
  const frameworks = [framework('f', ['*'])];

  it('skips an agent whose free resources are smaller than every minimum set', () => {
    const s = snapshot({ agents: [agent('a1', 'cpus:0.005;mem:16;disk:500')], frameworks, minAllocatable });
    expect(run(s)).toEqual([]);
  });

  it('offers when any one minimum set fits: 32 MB of mem and no cpus is enough', () => {
    const s = snapshot({ agents: [agent('a1', 'mem:32')], frameworks, minAllocatable });
    expect(show(run(s))).toEqual(['f/*@a1 mem:32']);
  });

  it('a minimum set needs all its parts: cpus:1;mem:64 is not met by cpus:2;mem:32', () => {
    const s = snapshot({ agents: [agent('a1', 'cpus:2;mem:32')], frameworks, minAllocatable: [parse('cpus:1;mem:64')] });
    expect(run(s)).toEqual([]);
  });

  it('compares by quantity whatever the reservation: cpus(dev):1 meets cpus:0.01', () => {
    const s = snapshot({ agents: [agent('a1', 'cpus(dev):1')], frameworks: [framework('d', ['dev'])], minAllocatable });
    expect(show(run(s))).toEqual(['d/dev@a1 cpus(dev):1']);
  });
});

describe('allocate: reservations', () => {
  it('resources reserved for a role go only to that role', () => {
    const s = snapshot({
      agents: [agent('a1', 'cpus(prod):2;mem(prod):512')],
      frameworks: [framework('d', ['dev']), framework('star', ['*'])],
    });
    expect(run(s)).toEqual([]);
  });

  it('the reserved role gets its reservation plus everything unreserved, in one offer', () => {
    const s = snapshot({
      agents: [agent('a1', 'cpus:4;cpus(prod):2')],
      frameworks: [framework('p', ['prod']), framework('d', ['dev'], { allocated: { dev: 'cpus:1' } })],
    });
    expect(show(run(s))).toEqual(['p/prod@a1 cpus:4;cpus(prod):2']);
  });

  it('when another role comes first it takes the unreserved part and the reservation still goes to its role', () => {
    const s = snapshot({
      agents: [agent('a1', 'cpus:4;cpus(prod):2;mem(prod):512')],
      frameworks: [framework('d', ['dev']), framework('p', ['prod'], { allocated: { prod: 'cpus:1' } })],
    });
    expect(show(run(s))).toEqual(['d/dev@a1 cpus:4', 'p/prod@a1 cpus(prod):2;mem(prod):512']);
  });
});

describe('allocate: purity', () => {
  const s = snapshot({
    agents: Array.from({ length: 20 }, (_, i) => agent(`a${i}`, 'cpus:2;mem:1024')),
    frameworks: ['f1', 'f2', 'f3'].map((id) => framework(id, ['*'])),
  });

  it('is deterministic for a seed, and the seed decides the agent order', () => {
    expect(run(s, 9)).toEqual(run(s, 9));
    expect(run(s, 9).map((d) => d.agentId)).not.toEqual(run(s, 10).map((d) => d.agentId));
  });

  it('does not change the snapshot', () => {
    const before = JSON.stringify(s, (_k, v: unknown) => (v instanceof Map || v instanceof Set ? [...v] : v));
    run(s);
    expect(JSON.stringify(s, (_k, v: unknown) => (v instanceof Map || v instanceof Set ? [...v] : v))).toBe(before);
  });

  it('refuses a snapshot with an agent twice: a bug in whoever built it', () => {
    expect(() => run(snapshot({ agents: [agent('a', 'cpus:1'), agent('a', 'cpus:1')], frameworks: [framework('f', ['*'])] })))
      .toThrow(/agent 'a' appears twice/);
  });

  it('scales its charge by what was offered: 10 agents of 2 cpus among 2 frameworks, 20 cpus, 10 each', () => {
    const ten = snapshot({ agents: s.agents.slice(0, 10), frameworks: s.frameworks.slice(0, 2) });
    const byFw = new Map<string, number>();
    for (const d of run(ten)) byFw.set(d.frameworkId, (byFw.get(d.frameworkId) ?? 0) + scalar(d.resources, 'cpus'));
    expect(byFw).toEqual(new Map([['f1', 10], ['f2', 10]]));
  });
});
