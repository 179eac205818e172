import { parse, scalar, ranges } from '../../common/resources';
import type { Offer } from '../../common/types';
import { InvalidArgumentError } from './errors';
import { fit, pickPorts, task, type TaskSpec } from './tasks';

const offer: Offer = {
  id: 'offer-1', frameworkId: 'fw-1', agentId: 'agent-1', hostname: 'h', role: '*', attributes: {},
  resources: parse('cpus:1;mem:256;ports:[31000-31010]'),
};
const spec = (id: string, cpus: number, mem: number): TaskSpec => ({ id, command: 'true', cpus, mem });

describe('fitting tasks into an offer', () => {
  it('takes tasks from the front while they fit: 0.4 + 0.4 cpus fit in 1, a third does not', () => {
    const pending = [spec('a', 0.4, 64), spec('b', 0.4, 64), spec('c', 0.4, 64)];
    expect(fit(offer, pending).map((t) => t.taskId)).toEqual(['a', 'b']);
    expect(pending.map((s) => s.id)).toEqual(['c']);
  });

  it('stops at the first task that does not fit, keeping launch order', () => {
    const pending = [spec('big', 0.5, 512), spec('small', 0.1, 16)];
    expect(fit(offer, pending)).toEqual([]);
    expect(pending).toHaveLength(2);
  });

  it('builds a task for the offer\'s agent with its ports, image and kill grace period', () => {
    const t = task({ id: 'web', command: 'httpd -f', cpus: 0.5, mem: 64, ports: [31005], image: 'img', killGracePeriodMs: 2000 }, offer);
    expect(t.agentId).toBe('agent-1');
    expect(scalar(t.resources, 'cpus')).toBe(0.5);
    expect(ranges(t.resources, 'ports')).toEqual([[31005, 31005]]);
    expect(t.container).toEqual({ type: 'DOCKER', docker: { image: 'img', network: undefined, portMappings: [], forcePullImage: false } });
    expect(t.killPolicy).toEqual({ gracePeriodMs: 2000 });
  });

  it('refuses port 0 (any port) with an InvalidArgumentError: pack or pickPorts resolve it first', () => {
    expect(() => task({ ...spec('w', 0.1, 16), ports: [31000, 0] }, offer)).toThrow(InvalidArgumentError);
    expect(() => task({ ...spec('w', 0.1, 16), ports: [0] }, offer)).toThrow('task w ports: port 0 means any free port');
  });

  it('asks for the process containerizer when told, and lets the agent choose otherwise', () => {
    expect(task({ ...spec('p', 0.1, 16), process: true }, offer).container.type).toBe('PROCESS');
    expect(task(spec('d', 0.1, 16), offer).container.type).toBe('DEFAULT');
  });
});

describe('picking host ports from an offer', () => {
  const offered = parse('cpus:1;ports:[31000-31002,31010-31010]');

  it('picks free ports lowest first for each 0, and keeps literal ones where they are', () => {
    expect(pickPorts(offered, [0, 0])).toEqual([31000, 31001]);
    expect(pickPorts(offered, [31001, 0, 0])).toEqual([31001, 31000, 31002]);
    expect(pickPorts(offered, [0, 0, 0, 0])).toEqual([31000, 31001, 31002, 31010]);
    expect(pickPorts(offered, [])).toEqual([]);
  });

  it('gives nothing when the offer lacks a literal port or has too few', () => {
    expect(pickPorts(offered, [8080])).toBeUndefined();
    expect(pickPorts(offered, [0, 0, 0, 0, 0])).toBeUndefined();
    expect(pickPorts(parse('cpus:1'), [0])).toBeUndefined();
  });
});
