import { afterEnd, dependencyProblem, findCycle, type DagJob, type DagState } from './dag';

const empty: DagState = { doneAt: {}, triggeredAt: {} };

describe('job dependencies', () => {
  const jobs: DagJob[] = [{ id: 'a', parents: [] }, { id: 'b', parents: ['a'] }, { id: 'c', parents: ['b'] }, { id: 'd', parents: ['a', 'b'] }];

  it('refuses a job whose parents would form a cycle, naming it in order; and a parent that does not exist', () => {
    // Named in the order the jobs would trigger each other.
    expect(dependencyProblem(jobs, { id: 'a', parents: ['c'] })).toBe('the dependencies would form a cycle: a → b → c → a');
    expect(dependencyProblem(jobs, { id: 'e', parents: ['e'] })).toBe('the dependencies would form a cycle: e → e');
    expect(dependencyProblem(jobs, { id: 'e', parents: ['x', 'y'] })).toBe("parents 'x', 'y' of 'e' do not exist");
    expect(dependencyProblem(jobs, { id: 'e', parents: ['c', 'd'] })).toBeUndefined();
    expect(findCycle(jobs)).toBeUndefined();
  });

  it('finds a cycle in a chain of 10 000 jobs without running out of stack', () => {
    const chain = Array.from({ length: 10_000 }, (_, i) => ({ id: `j${i}`, parents: i === 0 ? ['j9999'] : [`j${i - 1}`] }));
    expect(findCycle(chain)?.length).toBe(10_001);
  });

  it('runs a child once all its parents have succeeded since it last ran', () => {
    let s = empty;
    let r = afterEnd(jobs, s, { id: 'a', at: 10, success: true });
    expect(r.run).toEqual(['b']);   // d still waits for b
    s = r.state;
    r = afterEnd(jobs, s, { id: 'b', at: 20, success: false });
    expect(r.run).toEqual([]);      // a failure lets nothing go
    r = afterEnd(jobs, r.state, { id: 'b', at: 30, success: true });   // succeeded on retry
    expect(r.run).toEqual(['c', 'd']);
    s = r.state;
    // b again, but a has not succeeded since d last ran: only c.
    r = afterEnd(jobs, s, { id: 'b', at: 40, success: true });
    expect(r.run).toEqual(['c']);
    // Now a too: both of d's parents are done since it ran at 30.
    r = afterEnd(jobs, r.state, { id: 'a', at: 50, success: true });
    expect(r.run).toEqual(['b', 'd']);
  });

  it('lets a softError parent\'s failure count as done', () => {
    const soft: DagJob[] = [{ id: 'a', parents: [], softError: true }, { id: 'b', parents: ['a'] }];
    expect(afterEnd(soft, empty, { id: 'a', at: 1, success: false }).run).toEqual(['b']);
  });
});
