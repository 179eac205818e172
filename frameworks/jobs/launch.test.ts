import type { RunRecord } from './history';
import { parseChronosJob, parseMetronomeJob, type Job } from './job';
import { constraintProblem, taskFor } from './launch';

const offer = (attributes: Record<string, string>) => ({ hostname: 'h1', attributes });

describe('a job\'s constraints against an offer', () => {
  it('LIKE and UNLIKE run on RE2: (a+)+$ against 30,000 a\'s and a b answers at once, and correctly', () => {
    const evil = offer({ rack: `${'a'.repeat(30_000)}b` });
    expect(constraintProblem(evil, [{ attribute: 'rack', operator: 'LIKE', value: '(a+)+$' }])).toMatch(/^rack LIKE \(a\+\)\+\$ does not hold on h1/);
    expect(constraintProblem(evil, [{ attribute: 'rack', operator: 'UNLIKE', value: '(a+)+$' }])).toBeUndefined();
  });

  it('a stored pattern RE2 refuses holds the run back for LIKE and UNLIKE alike, saying why', () => {
    for (const operator of ['LIKE', 'UNLIKE'] as const) {
      expect(constraintProblem(offer({ rack: 'r1' }), [{ attribute: 'rack', operator, value: '(r)\\1' }]))
        .toMatch(new RegExp(`^rack ${operator}: '\\(r\\)\\\\1' is not a regular expression RE2 accepts`));
    }
  });
});

describe('a job\'s task', () => {
  const run: RunRecord = { runId: '20261204120000abcde', jobId: 'etl', state: 'STARTING', attempts: [] };
  const ok = (r: ReturnType<typeof parseMetronomeJob>): Job => {
    if (!r.ok) throw new Error(JSON.stringify(r.details));
    return r.job;
  };

  it('mounts the job\'s volumes in its Docker container, in order, with their modes (Metronome and Chronos alike)', () => {
    const volumes = [{ containerPath: '/data', hostPath: '/srv/data', mode: 'RW' }, { containerPath: '/cache', hostPath: 'cache', mode: 'RO' }];
    const metronome = ok(parseMetronomeJob({ id: 'etl', run: { cmd: 'etl.sh', docker: { image: 'agora/busybox:latest' }, volumes } }));
    const chronos = ok(parseChronosJob({ name: 'etl', command: 'etl.sh', parents: ['a'], container: { image: 'agora/busybox:latest', volumes } }));
    for (const job of [metronome, chronos]) {
      expect(taskFor(job, run, 1, { agentId: 'a1' }).container).toEqual({
        type: 'DOCKER', docker: { image: 'agora/busybox:latest', portMappings: [], forcePullImage: false }, volumes,
      });
    }
    // The task's volumes are its own: the job's stay as they were.
    taskFor(metronome, run, 1, { agentId: 'a1' }).container.volumes![0]!.mode = 'RO';
    expect(metronome.volumes![0]!.mode).toBe('RW');
  });

  it('a job without volumes, as stored before there were any, gives a container without volumes', () => {
    const job = ok(parseMetronomeJob({ id: 'etl', run: { cmd: 'etl.sh', docker: { image: 'agora/busybox:latest' } } }));
    expect(taskFor(job, run, 1, { agentId: 'a1' }).container).toEqual({ type: 'DOCKER', docker: { image: 'agora/busybox:latest', portMappings: [], forcePullImage: false } });
  });

  it('never drops a volume: one stored without an image still goes with the task, for the agent to mount or refuse', () => {
    const volumes = [{ containerPath: '/data', hostPath: 'data', mode: 'RW' as const }];
    const job = ok(parseMetronomeJob({ id: 'etl', run: { cmd: 'etl.sh' } }));
    expect(taskFor({ ...job, volumes }, run, 1, { agentId: 'a1' }).container).toEqual({ type: 'DEFAULT', volumes });
  });
});
